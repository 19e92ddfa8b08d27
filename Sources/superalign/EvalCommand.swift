import ArgumentParser
import Foundation
import Models

/// `superalign eval`: exact-match accuracy (GPT) or accuracy (MLP) and mean loss of a checkpoint.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Exact-match accuracy and loss of a checkpoint on JSONL data or a built-in task's test split.",
        discussion: "Example: superalign eval add.safetensors --task addition --json"
    )

    @Argument(help: "Checkpoint (.safetensors).") var checkpoint: String
    @Option(help: "JSONL data (prompt/completion for a GPT, features/label for an MLP).") var data: String?
    @Option(help: "Built-in task; its test split is used.") var task: String?
    @Option(help: "Seed of the built-in task's split (use the training seed).") var seed: UInt64 = 0
    @Flag(help: "Print one JSON document.") var json = false

    func validate() throws {
        guard (data == nil) != (task == nil) else { throw ValidationError("give exactly one of --data and --task") }
    }

    func run() throws {
        let builtin = try task.map { try BuiltinTask(name: $0, seed: seed) }
        let result: Evaluation
        let kind: String
        switch try LoadedModel.load(from: URL(fileURLWithPath: checkpoint)) {
        case let .gpt(gpt, tok):
            guard let tokenizer = tok else { throw ValidationError("\(checkpoint) has no vocabulary in its metadata") }
            let pairs = try builtin.map { $0.test } ?? JSONLines.promptCompletions(from: URL(fileURLWithPath: data!))
            result = try gpt.evaluate(pairs, tokenizer: tokenizer)
            kind = "gpt"
        case let .mlp(mlp):
            let rows = try builtin.map { $0.testFeatures } ?? JSONLines.labeledFeatures(from: URL(fileURLWithPath: data!))
            result = try mlp.evaluate(rows)
            kind = "mlp"
        }
        if json {
            print("{\"model\":\"\(kind)\",\"exact_match\":\(fmt(result.exactMatch)),\"loss\":\(fmt(result.loss)),\"count\":\(result.count)}")
        } else {
            print("model: \(kind)\nexact_match: \(fmt(result.exactMatch))\nloss: \(fmt(result.loss))\ncount: \(result.count)")
        }
    }
}

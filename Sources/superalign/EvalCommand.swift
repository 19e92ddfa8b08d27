import ArgumentParser
import Foundation
import Models
import Superalign

/// `superalign eval`: exact-match accuracy (GPT language model) or accuracy (GPT text
/// classifier, MLP) and mean loss of a checkpoint.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Accuracy and loss of a checkpoint on JSONL data or a built-in task's held-out split.",
        discussion: """
        The checkpoint decides what is measured:
          GPT language model: exact match of greedy completions and loss per
            completion token, on {"prompt","completion"} lines or a text task's
            held-out split (plus its out-of-distribution sample);
          GPT text classifier: accuracy and cross-entropy on {"text","label"} lines;
          MLP: accuracy and cross-entropy on {"features","label"} lines or the
            test split of --task blobs.
        For a task, give the --seed, --task-option and --examples of training.
        Example: superalign eval add.safetensors --task addition --json
        """
    )

    @Argument(help: "Checkpoint (.safetensors).") var checkpoint: String
    @Option(help: "JSONL data (prompt/completion or text/label for a GPT, features/label for an MLP).") var data: String?
    @OptionGroup var taskArguments: TaskArguments
    @Option(help: "Seed of the task's split (use the training seed).") var seed: UInt64 = 0
    @Flag(help: "Print one JSON document.") var json = false

    func validate() throws {
        guard (data == nil) != (taskArguments.task == nil) else { throw ValidationError("give exactly one of --data and --task") }
        try taskArguments.validate()
    }

    func run() throws {
        var fields: [(String, String)]
        switch try LoadedModel.load(from: URL(fileURLWithPath: checkpoint)) {
        case let .gpt(gpt, tokenizer):
            guard let tokenizer else { throw CLIError("\(checkpoint) has no vocabulary in its metadata") }
            fields = [("model", "\"gpt\"")]
            fields += gpt.config.classes > 0
                ? try evaluateClassifier(gpt, tokenizer)
                : try evaluateLanguageModel(gpt, tokenizer)
        case let .mlp(mlp):
            let rows: [LabeledFeatures]
            if let name = try taskArguments.featureDatasetName() {
                rows = try FeatureDatasets.make(name, seed: seed).test
            } else {
                // A label the model has no class for is an error naming its line.
                let limits = JSONLines.ModelLimits(tokenizer: nil, context: 0, classes: mlp.config.widths.last!)
                rows = try JSONLines.labeledFeatures(from: URL(fileURLWithPath: data!), limits: limits)
            }
            fields = [("model", "\"mlp\"")] + summaryFields(try mlp.evaluate(rows), accuracy: true)
        }
        printSummary(fields, json: json)
    }

    private func evaluateLanguageModel(_ gpt: GPT, _ tokenizer: CharTokenizer) throws -> [(String, String)] {
        if let task = try taskArguments.problemTask() {
            let dataset = TaskDataset(task: task, seed: seed, draws: taskArguments.examples)
            guard !dataset.test.isEmpty else {
                throw CLIError("task \(task.name) has no held-out problems with --examples \(taskArguments.examples)")
            }
            var fields = taskArguments.summaryFields(task)
            fields += summaryFields(try gpt.evaluate(dataset.testPairs, tokenizer: tokenizer), accuracy: false)
            if !dataset.outOfDistribution.isEmpty {
                fields += evaluationFields("ood", try gpt.evaluate(dataset.outOfDistributionPairs, tokenizer: tokenizer))
            }
            return fields
        }
        let path = data!  // validate() guarantees --data when there is no --task
        let limits = JSONLines.ModelLimits(tokenizer: tokenizer, context: gpt.config.context)
        guard case .completions(let pairs) = try JSONLines.gptExamples(from: URL(fileURLWithPath: path), limits: limits) else {
            throw CLIError("\(checkpoint) is a language model (no classification head), but \(path) holds labelled texts; "
                           + "evaluate it on {\"prompt\",\"completion\"} lines")
        }
        guard !pairs.isEmpty else { throw CLIError("\(path): no examples") }
        return summaryFields(try gpt.evaluate(pairs, tokenizer: tokenizer), accuracy: false)
    }

    private func evaluateClassifier(_ gpt: GPT, _ tokenizer: CharTokenizer) throws -> [(String, String)] {
        guard let path = data else {
            throw CLIError("\(checkpoint) is a text classifier (\(gpt.config.classes) classes); "
                           + "evaluate it on labelled text with --data FILE.jsonl ({\"text\":…,\"label\":k} lines), not a task")
        }
        let limits = JSONLines.ModelLimits(tokenizer: tokenizer, context: gpt.config.context, classes: gpt.config.classes)
        guard case .classification(let texts) = try JSONLines.gptExamples(from: URL(fileURLWithPath: path), limits: limits) else {
            throw CLIError("\(checkpoint) is a text classifier (\(gpt.config.classes) classes), but \(path) holds prompt/completion "
                           + "pairs; evaluate it on {\"text\":…,\"label\":k} lines")
        }
        guard !texts.isEmpty else { throw CLIError("\(path): no examples") }
        return [("head", "\"classification\""), ("classes", "\(gpt.config.classes)")]
            + summaryFields(try gpt.evaluateClassifier(texts, tokenizer: tokenizer), accuracy: true)
    }

    /// `accuracy` (classifiers) or `exact_match` (language models), `loss`, `count`.
    private func summaryFields(_ e: Evaluation, accuracy: Bool) -> [(String, String)] {
        [(accuracy ? "accuracy" : "exact_match", fmt(e.exactMatch)), ("loss", fmt(e.loss)), ("count", "\(e.count)")]
    }
}

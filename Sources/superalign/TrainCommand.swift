import ArgumentParser
import Foundation
import Models
import Tensor

/// `superalign train`: trains a GPT (SFT on prompt/completion pairs) or an MLP classifier and
/// writes a safetensors checkpoint. Progress goes to stderr, the summary to stdout.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a GPT (SFT) or an MLP classifier and save a safetensors checkpoint.",
        discussion: """
        GPT data: JSONL with {"prompt": …, "completion": …} per line (TRL convention); the loss
        covers the completion and EOS only. MLP data: JSONL with {"features": [...], "label": k}.
        Built-in tasks: \(BuiltinTask.names.joined(separator: ", ")).
        Example: superalign train --model gpt --task addition --steps 2000 --out add.safetensors
        """
    )

    enum ModelKind: String, ExpressibleByArgument, CaseIterable { case gpt, mlp }

    @Option(help: "Model kind: gpt or mlp.") var model: ModelKind
    @Option(help: "JSONL training data.") var data: String?
    @Option(help: "Built-in task name instead of --data.") var task: String?
    @Option(help: "Optimiser steps.") var steps: Int
    @Option(help: "Examples per step.") var batch = 64
    @Option(help: "Peak learning rate (AdamW; warm-up then cosine decay to a tenth).") var lr: Float = 1e-3
    @Option(help: "Linear warm-up steps.") var warmup = 0
    @Option(help: "AdamW weight decay (matrices only).") var weightDecay: Float = 0.1
    @Option(help: "Start from this checkpoint (its config and vocabulary win).") var `init`: String?
    @Option(help: "Where to write the checkpoint.") var out: String
    @Option(help: "Seed for initialisation, batching and task generation.") var seed: UInt64 = 0
    @Option(help: "GPT: transformer blocks.") var layers = 2
    @Option(help: "GPT: embedding width.") var width = 64
    @Option(help: "GPT: attention heads.") var heads = 4
    @Option(help: "GPT: context length (default: the longest example).") var context: Int?
    @Option(help: "MLP: hidden widths, comma-separated.") var hidden = "256,256"
    @Option(help: "MLP: hidden activation (relu or gelu).") var activation = "relu"
    @Option(help: "Threads for the kernels (default: all cores).") var threads: Int?
    @Flag(help: "Print the summary as one JSON document.") var json = false

    func validate() throws {
        guard (data == nil) != (task == nil) else { throw ValidationError("give exactly one of --data and --task") }
        guard steps >= 0, batch > 0 else { throw ValidationError("--steps must be ≥ 0 and --batch > 0") }
        guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be a positive number") }
    }

    func run() throws {
        if let threads { ThreadPool.shared.threadCount = max(1, threads) }
        let options = TrainingOptions(steps: steps, batchSize: batch, learningRate: lr, warmupSteps: warmup,
                                      weightDecay: weightDecay, seed: seed)
        let outURL = URL(fileURLWithPath: out)
        var summary: [(String, String)] = [("model", "\"\(model.rawValue)\""), ("steps", "\(steps)")]
        switch model {
        case .gpt: try trainGPT(options, outURL, &summary)
        case .mlp: try trainMLP(options, outURL, &summary)
        }
        summary.append(("out", jsonString(out)))
        if json {
            print("{" + summary.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}")
        } else {
            for (k, v) in summary { print("\(k): \(v)") }
        }
    }

    private func trainGPT(_ options: TrainingOptions, _ outURL: URL, _ summary: inout [(String, String)]) throws {
        var train: [PromptCompletion], test: [PromptCompletion] = []
        if let task {
            let t = try BuiltinTask(name: task, seed: seed)
            guard !t.isFeatureTask else { throw ValidationError("task \(task) is for --model mlp") }
            (train, test) = (t.train, t.test)
        } else {
            train = try JSONLines.promptCompletions(from: URL(fileURLWithPath: data!))
        }
        guard !train.isEmpty else { throw ValidationError("no training examples") }
        let gpt: GPT, tokenizer: CharTokenizer
        if let initPath = `init` {
            let (m, tok) = try GPT.load(from: URL(fileURLWithPath: initPath))
            guard let tok else { throw ValidationError("\(initPath) has no vocabulary in its metadata") }
            (gpt, tokenizer) = (m, tok)
        } else {
            tokenizer = CharTokenizer(corpus: (train + test).flatMap { [$0.prompt, $0.completion] })
            let longest = (train + test).map { $0.prompt.unicodeScalars.count + $0.completion.unicodeScalars.count + 1 }.max()!
            let config = GPTConfig(layers: layers, width: width, heads: heads, context: context ?? longest,
                                   vocabulary: tokenizer.vocabularySize)
            gpt = try GPT(config: config, seed: seed)
        }
        let trainer = Trainer(parameters: gpt.parameters, noDecay: gpt.noDecayParameters, options: options)
        let bar = ProgressBar(total: steps, label: "train")
        let report: TrainingReport
        do {
            report = try trainer.run(exampleCount: train.count, loss: { tape, idx in
                try gpt.sftLoss(tape, SequenceBatch(idx.map { train[$0] }, tokenizer: tokenizer, context: gpt.config.context))
            }, progress: { bar.update($0, loss: $1) })
        } catch let error as ModelsError {
            bar.finish()
            if case .nonFiniteLoss = error { try gpt.save(to: outURL, tokenizer: tokenizer) }
            throw error
        }
        bar.finish()
        try gpt.save(to: outURL, tokenizer: tokenizer)
        summary += [("parameters", "\(gpt.parameterCount)"), ("config", gpt.config.json)]
        summary += trainingFields(report)
        if !test.isEmpty {
            let e = try gpt.evaluate(test, tokenizer: tokenizer)
            summary += [("test_exact_match", fmt(e.exactMatch)), ("test_loss", fmt(e.loss)), ("test_count", "\(e.count)")]
        }
    }

    private func trainMLP(_ options: TrainingOptions, _ outURL: URL, _ summary: inout [(String, String)]) throws {
        var train: [LabeledFeatures], test: [LabeledFeatures] = []
        if let task {
            let t = try BuiltinTask(name: task, seed: seed)
            guard t.isFeatureTask else { throw ValidationError("task \(task) is for --model gpt") }
            (train, test) = (t.trainFeatures, t.testFeatures)
        } else {
            train = try JSONLines.labeledFeatures(from: URL(fileURLWithPath: data!))
        }
        guard let first = train.first else { throw ValidationError("no training examples") }
        let mlp: MLP
        if let initPath = `init` {
            mlp = try MLP.load(from: URL(fileURLWithPath: initPath))
        } else {
            let hiddenWidths = try hidden.split(separator: ",").map { s -> Int in
                guard let v = Int(s.trimmingCharacters(in: .whitespaces)), v > 0 else { throw ValidationError("bad --hidden '\(hidden)'") }
                return v
            }
            guard let act = MLPConfig.Activation(rawValue: activation) else { throw ValidationError("--activation must be relu or gelu") }
            let classes = (train + test).map(\.label).max()! + 1
            mlp = try MLP(config: MLPConfig(widths: [first.features.count] + hiddenWidths + [classes], activation: act), seed: seed)
        }
        let trainer = Trainer(parameters: mlp.parameters, noDecay: mlp.noDecayParameters, options: options)
        let bar = ProgressBar(total: steps, label: "train")
        let report: TrainingReport
        do {
            report = try trainer.run(exampleCount: train.count, loss: { tape, idx in
                let (x, y) = try mlp.batch(idx.map { train[$0] })
                return try mlp.loss(tape, x, labels: y)
            }, progress: { bar.update($0, loss: $1) })
        } catch let error as ModelsError {
            bar.finish()
            if case .nonFiniteLoss = error { try mlp.save(to: outURL) }
            throw error
        }
        bar.finish()
        try mlp.save(to: outURL)
        summary.append(("widths", "\(mlp.config.widths)"))
        summary += trainingFields(report)
        if !test.isEmpty {
            let e = try mlp.evaluate(test)
            summary += [("test_accuracy", fmt(e.exactMatch)), ("test_loss", fmt(e.loss)), ("test_count", "\(e.count)")]
        }
    }

    private func trainingFields(_ r: TrainingReport) -> [(String, String)] {
        [("final_loss", r.losses.last.map { fmt(Double($0)) } ?? "null"),
         ("seconds", fmt(r.seconds)), ("steps_per_s", fmt(r.stepsPerSecond))]
    }
}

/// A number for JSON/text output with 4 significant decimals.
func fmt(_ x: Double) -> String { x.isFinite ? String(format: "%.4f", x) : "null" }

/// A JSON string literal.
func jsonString(_ s: String) -> String {
    let data = try! JSONSerialization.data(withJSONObject: [s], options: [.withoutEscapingSlashes])
    let text = String(decoding: data, as: UTF8.self)
    return String(text.dropFirst().dropLast())
}

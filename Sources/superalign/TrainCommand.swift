import ArgumentParser
import Foundation
import Models
import Superalign
import Tensor

/// `superalign train`: trains a GPT (SFT on prompt/completion pairs, or its classification head
/// on labelled texts) or an MLP classifier and writes a safetensors checkpoint. Progress goes to
/// stderr, the summary to stdout.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a GPT (SFT or text classifier) or an MLP classifier and save a safetensors checkpoint.",
        discussion: """
        GPT data (--data FILE.jsonl), one JSON object per line; the first sets the kind:
          {"prompt": …, "completion": …}  SFT (TRL); loss on completion + EOS
          {"text": …, "label": k}         classifier, --classes or max(label)+1 classes
        MLP data: {"features": [...], "label": k} per line.
        A new GPT's context is --context, else its longest example with BOS and
        EOS, at most \(ModelBounds.maximumContext) positions: a longer line is an error naming the file
        and the line. A classifier's labels are 0…N−1 for --classes N, else at
        most \(ModelBounds.maximumClasses - 1): a label outside them is an error naming the file, the
        line and the label.

        Tasks: --task NAME [--task-option KEY=VALUE]…, as in a campaign:
        \(TaskArguments.taskList)
        A text task is drawn with --seed and split into training problems and
        a held-out test set (see --examples); the summary also scores its
        out-of-distribution variant.

        Examples:
          superalign train --model gpt --task addition --task-option digits=3 \\
              --steps 2000 --out add.safetensors
          superalign train --model gpt --data reviews.jsonl --steps 300 \\
              --out sentiment.safetensors
        """
    )

    enum ModelKind: String, ExpressibleByArgument, CaseIterable { case gpt, mlp }

    @Option(help: "Model kind: gpt or mlp.") var model: ModelKind
    @Option(help: "JSONL training data.") var data: String?
    @OptionGroup var taskArguments: TaskArguments
    @Option(help: "Optimiser steps.") var steps: Int
    @Option(help: "Examples per step.") var batch = 64
    @Option(help: "Peak learning rate (AdamW; warm-up then cosine decay to a tenth).") var lr: Float = 1e-3
    @Option(help: "Linear warm-up steps.") var warmup = 0
    @Option(help: "AdamW weight decay (matrices only).") var weightDecay: Float = 0.1
    @Option(help: "Start from this checkpoint (its config and vocabulary win).") var `init`: String?
    @Option(help: "Where to write the checkpoint.") var out: String
    @Option(help: "Seed for initialisation, batching and the task's draws.") var seed: UInt64 = 0
    @Option(help: "GPT: transformer blocks.") var layers = 2
    @Option(help: "GPT: embedding width.") var width = 64
    @Option(help: "GPT: attention heads.") var heads = 4
    @Option(help: ArgumentHelp("GPT: context length in positions, BOS and EOS included (default: the task's longest problem, "
        + "or the longest example; at most \(ModelBounds.maximumContext)).",
        discussion: "A line longer than the context is an error naming the file and the line.")) var context: Int?
    @Option(help: ArgumentHelp("Classifiers (GPT on text/label data, MLP): the number of classes; labels must be 0…N−1 "
        + "(default: the largest label + 1, at most \(ModelBounds.maximumClasses)).",
        discussion: "A label outside the classes is an error naming the file, the line and the label.")) var classes: Int?
    @Option(help: "MLP: hidden widths, comma-separated.") var hidden = "256,256"
    @Option(help: "MLP: hidden activation (relu or gelu).") var activation = "relu"
    @Option(help: "Threads for the kernels (default: all cores).") var threads: Int?
    @Flag(help: "Print the summary as one JSON document.") var json = false

    func validate() throws {
        guard (data == nil) != (taskArguments.task == nil) else { throw ValidationError("give exactly one of --data and --task") }
        guard steps >= 0, batch > 0 else { throw ValidationError("--steps must be ≥ 0 and --batch > 0") }
        guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be a positive number") }
        if let context, !(1...ModelBounds.maximumContext).contains(context) {
            throw ValidationError("--context must be 1…\(ModelBounds.maximumContext), got \(context)")
        }
        if let classes, !(2...ModelBounds.maximumClasses).contains(classes) {
            throw ValidationError("--classes must be 2…\(ModelBounds.maximumClasses), got \(classes)")
        }
        if classes != nil, taskArguments.task != nil, model == .gpt {
            throw ValidationError("--classes applies to a classifier (text/label data); a task trains a language model")
        }
        try taskArguments.validate()
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
        printSummary(summary, json: json)
    }

    // MARK: GPT

    private func trainGPT(_ options: TrainingOptions, _ outURL: URL, _ summary: inout [(String, String)]) throws {
        let initial = try `init`.map { path -> (GPT, CharTokenizer) in
            let (gpt, tokenizer) = try GPT.load(from: URL(fileURLWithPath: path))
            guard let tokenizer else { throw CLIError("\(path) has no vocabulary in its metadata") }
            try checkInitSizes(path, context: gpt.config.context, classes: gpt.config.classes > 0 ? gpt.config.classes : nil)
            return (gpt, tokenizer)
        }
        if let problemTask = try taskArguments.problemTask() {
            let dataset = TaskDataset(task: problemTask, seed: seed, draws: taskArguments.examples)
            guard !dataset.train.isEmpty else {
                throw CLIError("task \(problemTask.name) gave no training problems (\(dataset.test.count) held out); raise --examples")
            }
            summary += taskArguments.summaryFields(problemTask)
            summary += [("train_count", "\(dataset.train.count)")]
            let (gpt, tokenizer) = try initial ?? (GPT(config: GPTConfig(
                layers: layers, width: width, heads: heads, context: context ?? dataset.context,
                vocabulary: dataset.tokenizer.vocabularySize), seed: seed), dataset.tokenizer)
            guard gpt.config.classes == 0 else {
                throw CLIError("\(`init`!) is a text classifier (\(gpt.config.classes) classes); a task trains a language model")
            }
            try trainLanguageModel(gpt, tokenizer, on: dataset.trainPairs, options, outURL, &summary)
            for (prefix, pairs) in [("test", dataset.testPairs), ("ood", dataset.outOfDistributionPairs)] where !pairs.isEmpty {
                summary += evaluationFields(prefix, try gpt.evaluate(pairs, tokenizer: tokenizer))
            }
            return
        }
        let path = data!  // validate() guarantees --data when there is no --task
        // A new model's sizes come from the data, bounded: a line past the context or a label
        // past the classes stops here, naming its line, before anything is allocated for it.
        let limits = initial.map { gpt, tokenizer in
            JSONLines.ModelLimits(tokenizer: tokenizer, context: gpt.config.context,
                                  classes: gpt.config.classes > 0 ? gpt.config.classes : nil)
        } ?? JSONLines.ModelLimits.newModel(context: context, classes: classes)
        switch try JSONLines.gptExamples(from: URL(fileURLWithPath: path), limits: limits) {
        case .completions(let pairs):
            guard !pairs.isEmpty else { throw CLIError("\(path): no training examples") }
            if classes != nil {
                throw CLIError("--classes applies to a classifier; \(path) holds prompt/completion pairs, which train a language model")
            }
            let (gpt, tokenizer) = try initial ?? freshLanguageModel(for: pairs)
            guard gpt.config.classes == 0 else {
                throw CLIError("\(`init`!) is a text classifier (\(gpt.config.classes) classes); \(path) holds prompt/completion pairs, "
                               + "which train a language model")
            }
            try trainLanguageModel(gpt, tokenizer, on: pairs, options, outURL, &summary)
        case .classification(let texts):
            guard !texts.isEmpty else { throw CLIError("\(path): no training examples") }
            let (gpt, tokenizer) = try initial ?? freshClassifier(for: texts, path: path)
            guard gpt.config.classes > 0 else {
                throw CLIError("\(`init`!) has no classification head; \(path) holds labelled texts (train a new classifier without --init)")
            }
            try trainClassifier(gpt, tokenizer, on: texts, options, outURL, &summary)
        }
    }

    private func freshLanguageModel(for pairs: [PromptCompletion]) throws -> (GPT, CharTokenizer) {
        let tokenizer = CharTokenizer(corpus: pairs.flatMap { [$0.prompt, $0.completion] })
        // BOS + prompt + completion + EOS.
        let longest = pairs.map { $0.prompt.unicodeScalars.count + $0.completion.unicodeScalars.count + 2 }.max() ?? 2
        let config = GPTConfig(layers: layers, width: width, heads: heads, context: context ?? longest,
                               vocabulary: tokenizer.vocabularySize)
        return (try GPT(config: config, seed: seed), tokenizer)
    }

    private func freshClassifier(for texts: [LabeledText], path: String) throws -> (GPT, CharTokenizer) {
        let classes = self.classes ?? (texts.map(\.label).max() ?? 0) + 1
        guard classes >= 2 else { throw CLIError("\(path): every label is 0; a classifier needs at least two classes") }
        let tokenizer = CharTokenizer(corpus: texts.map(\.text))
        let longest = texts.map { $0.text.unicodeScalars.count + 1 }.max() ?? 1  // BOS + text
        let config = GPTConfig(layers: layers, width: width, heads: heads, context: context ?? longest,
                               vocabulary: tokenizer.vocabularySize, classes: classes)
        return (try GPT(config: config, seed: seed), tokenizer)
    }

    private func trainLanguageModel(_ gpt: GPT, _ tokenizer: CharTokenizer, on pairs: [PromptCompletion],
                                    _ options: TrainingOptions, _ outURL: URL, _ summary: inout [(String, String)]) throws {
        let report = try runTraining(gpt.parameters, noDecay: gpt.noDecayParameters, options, exampleCount: pairs.count, loss: { tape, idx in
            try gpt.sftLoss(tape, SequenceBatch(idx.map { pairs[$0] }, tokenizer: tokenizer, context: gpt.config.context))
        }, save: { try gpt.save(to: outURL, tokenizer: tokenizer) })
        summary += [("parameters", "\(gpt.parameterCount)"), ("config", gpt.config.json)]
        summary += trainingFields(report)
    }

    private func trainClassifier(_ gpt: GPT, _ tokenizer: CharTokenizer, on texts: [LabeledText],
                                 _ options: TrainingOptions, _ outURL: URL, _ summary: inout [(String, String)]) throws {
        let report = try runTraining(gpt.parameters, noDecay: gpt.noDecayParameters, options, exampleCount: texts.count, loss: { tape, idx in
            try gpt.classificationLoss(tape, TextBatch(idx.map { texts[$0] }, tokenizer: tokenizer, context: gpt.config.context))
        }, save: { try gpt.save(to: outURL, tokenizer: tokenizer) })
        summary += [("head", "\"classification\""), ("classes", "\(gpt.config.classes)"),
                     ("parameters", "\(gpt.parameterCount)"), ("config", gpt.config.json)]
        summary += trainingFields(report)
        summary += evaluationFields("train", try gpt.evaluateClassifier(texts, tokenizer: tokenizer), accuracy: true)
    }

    // MARK: MLP

    private func trainMLP(_ options: TrainingOptions, _ outURL: URL, _ summary: inout [(String, String)]) throws {
        let initial = try `init`.map { path -> MLP in
            let mlp = try MLP.load(from: URL(fileURLWithPath: path))
            try checkInitSizes(path, context: nil, classes: mlp.config.widths.last!)
            return mlp
        }
        var train: [LabeledFeatures], test: [LabeledFeatures] = []
        if let name = try taskArguments.featureDatasetName() {
            (train, test) = try FeatureDatasets.make(name, seed: seed)
            summary.append(("task", jsonString(name)))
            let classes = initial?.config.widths.last! ?? self.classes
            if let classes, let outside = (train + test).first(where: { $0.label >= classes }) {
                throw CLIError("task \(name) has label \(outside.label), outside the model's \(classes) classes")
            }
        } else {
            // Labels past the classes (the checkpoint's, --classes, or the bound on derived
            // ones) stop here, naming the line, before any model is built.
            let limits = initial.map { JSONLines.ModelLimits(tokenizer: nil, context: 0, classes: $0.config.widths.last!) }
                ?? JSONLines.ModelLimits.newModel(classes: classes)
            train = try JSONLines.labeledFeatures(from: URL(fileURLWithPath: data!), limits: limits)
        }
        guard let first = train.first else { throw CLIError("no training examples") }
        let mlp: MLP
        if let initial {
            mlp = initial
        } else {
            let hiddenWidths = try hidden.split(separator: ",").map { s -> Int in
                guard let v = Int(s.trimmingCharacters(in: .whitespaces)), v > 0 else { throw ValidationError("bad --hidden '\(hidden)'") }
                return v
            }
            guard let act = MLPConfig.Activation(rawValue: activation) else { throw ValidationError("--activation must be relu or gelu") }
            let classes = self.classes ?? ((train + test).map(\.label).max() ?? 0) + 1
            mlp = try MLP(config: MLPConfig(widths: [first.features.count] + hiddenWidths + [classes], activation: act), seed: seed)
        }
        let report = try runTraining(mlp.parameters, noDecay: mlp.noDecayParameters, options, exampleCount: train.count, loss: { tape, idx in
            let (x, y) = try mlp.batch(idx.map { train[$0] })
            return try mlp.loss(tape, x, labels: y)
        }, save: { try mlp.save(to: outURL) })
        summary.append(("widths", "\(mlp.config.widths)"))
        summary += trainingFields(report)
        if !test.isEmpty {
            summary += evaluationFields("test", try mlp.evaluate(test), accuracy: true)
        }
    }

    // MARK: Shared

    /// `--context` / `--classes` given with `--init` must agree with the checkpoint (whose
    /// config wins); a disagreement is an error rather than silently ignored.
    private func checkInitSizes(_ path: String, context modelContext: Int?, classes modelClasses: Int?) throws {
        if let context, let modelContext, context != modelContext {
            throw CLIError("--context \(context) disagrees with \(path), whose context is \(modelContext) (the checkpoint's config wins)")
        }
        if let classes, classes != modelClasses {
            throw CLIError("--classes \(classes) disagrees with \(path), which has "
                           + (modelClasses.map { "\($0) classes" } ?? "no classification head") + " (the checkpoint's config wins)")
        }
    }

    /// Trains with a progress bar and saves the checkpoint. A NaN/Inf loss stops training; the
    /// last good weights (which the trainer restored) are saved before the error is reported.
    private func runTraining(_ parameters: [Tensor], noDecay: [Tensor], _ options: TrainingOptions, exampleCount: Int,
                             loss: (Tape, [Int]) throws -> Tensor, save: () throws -> Void) throws -> TrainingReport {
        let trainer = Trainer(parameters: parameters, noDecay: noDecay, options: options)
        let bar = ProgressBar(total: options.steps, label: "train")
        let report: TrainingReport
        do {
            report = try trainer.run(exampleCount: exampleCount, loss: loss, progress: { bar.update($0, loss: $1) })
        } catch let error as ModelsError {
            bar.finish()
            if case .nonFiniteLoss = error { try save() }
            throw error
        }
        bar.finish()
        try save()
        return report
    }

    private func trainingFields(_ r: TrainingReport) -> [(String, String)] {
        [("first_loss", r.losses.first.map { fmt(Double($0)) } ?? "null"),
         ("final_loss", r.losses.last.map { fmt(Double($0)) } ?? "null"),
         ("seconds", fmt(r.seconds)), ("steps_per_s", fmt(r.stepsPerSecond))]
    }
}

/// `--task NAME [--task-option KEY=VALUE]… [--examples N]`, shared by `train` and `eval`.
///
/// Text tasks are the domain's `TaskCatalog` (the same names and options as a campaign's
/// `task = {name = …, …}`); MLP tasks are the `FeatureDatasets`.
struct TaskArguments: ParsableArguments {
    /// One line per task, for help texts.
    static var taskList: String {
        (TaskCatalog.tasks.map { "  \($0.name): \($0.summary)" }
            + FeatureDatasets.names.map { "  \($0): feature data for --model mlp" }).joined(separator: "\n")
    }

    @Option(help: ArgumentHelp("A built-in task instead of --data.", discussion: "Text tasks (GPT): "
        + TaskCatalog.tasks.map(\.name).joined(separator: ", ") + ". Feature tasks (MLP): "
        + FeatureDatasets.names.joined(separator: ", ") + "."))
    var task: String?

    @Option(name: .customLong("task-option"),
            help: "A task option KEY=VALUE, as in a campaign's task table (repeatable): digits=3, modulus=13, op=*, file=p.jsonl.")
    var taskOptions: [String] = []

    @Option(help: "Text tasks: problems drawn before duplicates are removed; a tenth of the distinct ones is held out.")
    var examples = TaskDataset.defaultDraws

    func validate() throws {
        if task == nil, !taskOptions.isEmpty { throw ValidationError("--task-option needs --task") }
        guard examples >= 1 else { throw ValidationError("--examples must be ≥ 1") }
        _ = try parsedOptions()
    }

    /// `--task-option` values as the catalog reads them.
    func parsedOptions() throws -> [String: String] {
        var options: [String: String] = [:]
        for text in taskOptions {
            guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
                throw ValidationError("--task-option '\(text)' is not KEY=VALUE")
            }
            let key = String(text[..<eq])
            guard options[key] == nil else { throw ValidationError("--task-option \(key) is given twice") }
            options[key] = String(text[text.index(after: eq)...])
        }
        return options
    }

    /// The feature data set (MLP) that `--task` names, nil without `--task`. A text task's name
    /// is an error saying it is for GPTs.
    func featureDatasetName() throws -> String? {
        guard let task else { return nil }
        if FeatureDatasets.names.contains(task) {
            guard taskOptions.isEmpty else { throw CLIError("task \(task) takes no --task-option") }
            return task
        }
        if TaskCatalog.tasks.contains(where: { $0.name == task }) {
            throw CLIError("task \(task) is a text task, for a GPT; MLP tasks: \(FeatureDatasets.names.joined(separator: ", "))")
        }
        throw CLIError("unknown task '\(task)'; MLP tasks: \(FeatureDatasets.names.joined(separator: ", "))")
    }

    /// The text task (GPT) that `--task` names, built by the catalog with `--task-option`s; nil
    /// without `--task`. A feature data set's name is an error saying it is for MLPs.
    func problemTask() throws -> (any ProblemTask)? {
        guard let task else { return nil }
        if FeatureDatasets.names.contains(task) {
            throw CLIError("task \(task) is feature data, for an MLP; text tasks: \(TaskCatalog.tasks.map(\.name).joined(separator: ", "))")
        }
        do { return try TaskCatalog.make(task, options: parsedOptions()) } catch let error as TaskError {
            throw CLIError("\(error)")
        }
    }

    /// How to rebuild the task's split: its name, options and the draws.
    func summaryFields(_ task: any ProblemTask) -> [(String, String)] {
        let options = task.options.sorted { $0.key < $1.key }.map { "\(jsonString($0.key)):\(jsonString($0.value))" }
        return [("task", jsonString(task.name)), ("task_options", "{" + options.joined(separator: ",") + "}"),
                ("examples", "\(examples)")]
    }
}

/// `prefix_exact_match` (or `prefix_accuracy` for a classifier), `prefix_loss`, `prefix_count`.
func evaluationFields(_ prefix: String, _ e: Evaluation, accuracy: Bool = false) -> [(String, String)] {
    [("\(prefix)_\(accuracy ? "accuracy" : "exact_match")", fmt(e.exactMatch)), ("\(prefix)_loss", fmt(e.loss)),
     ("\(prefix)_count", "\(e.count)")]
}

/// Prints `key: value` lines, or one JSON object with `--json` (values are JSON already).
func printSummary(_ fields: [(String, String)], json: Bool) {
    if json {
        print("{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}")
    } else {
        for (key, value) in fields { print("\(key): \(value)") }
    }
}

/// A number for JSON/text output with 4 significant decimals.
func fmt(_ x: Double) -> String { x.isFinite ? String(format: "%.4f", x) : "null" }

/// A JSON string literal.
func jsonString(_ s: String) -> String { JSONText.quote(s) }

import ArgumentParser
import Foundation
import Superalign
import Tensor

/// `superalign w2s`: the weak-to-strong generalization experiment (PGR). Progress goes to
/// stderr; the table (or, with `--json`, one JSON document) to stdout. With `--out DIR` the
/// results also go to a run directory (`W2SRunDirectory`: run.sqlite committed per
/// configuration and seed), which `superalign status`, `export` and `resume` read. The same
/// experiment is `w2s{…}` in a campaign script (`superalign run`).
struct W2SCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "w2s",
        abstract: "Weak-to-strong generalization: train a strong model on a weak model's labels and report PGR.",
        discussion: """
        Built-in tasks: \(W2STasks.tasks.map { "\($0.name) (\($0.summary))" }.joined(separator: "; ")).
        User data: --data FILE.csv --label COLUMN (numeric features), or --data FILE.jsonl with
        {"text": …, "label": k} lines.
        Model specs: linear, mlp:W[,W…], mlp:WxD, gpt:LxC[xH], each optionally +pretrain
        (self-supervised pretraining first: language modelling for GPTs, an auxiliary task or an
        autoencoder for MLPs). --weak, --strong and --loss may be repeated: every combination runs.
        PGR = (w2s − weak)/(ceiling − weak) on test accuracy; "undef" when the ceiling does not
        beat the weak model. --out DIR stores every result in DIR/run.sqlite as soon as it is
        measured; the same command again (or `superalign resume DIR`) continues an interrupted run.
        In a campaign script: return w2s{ task = "carry", weak = "mlp:4", strong = "gpt:2x64+pretrain" }.
        Example: superalign w2s --task carry --weak mlp:4 --strong mlp:256,256+pretrain --loss xent --loss logconf --seeds 3
        """
    )

    @Option(help: "Built-in task (carry, parity, div3).") var task: String?
    @Option(help: "User data: a .csv or a .jsonl file.") var data: String?
    @Option(help: "CSV label column (default: label).") var label: String?
    @Option(help: "Weak model spec (repeatable).") var weak: [String] = []
    @Option(help: "Strong model spec (repeatable).") var strong: [String] = []
    @Option(help: "Loss: xent, logconf or bootstrap (repeatable; default: xent and logconf).") var loss: [String] = []
    @Option(help: "Bootstrap intermediate model spec (repeatable, weakest first; default: a smaller strong model).") var via: [String] = []
    @Option(help: "Number of seeds (0, 1, … N−1).") var seeds = 3
    @Option(help: "Examples generated for a built-in task.") var examples = 4000
    @Option(help: "Digits per operand/string of a built-in task.") var digits: Int?
    @Option(help: "Fraction of the data held out for testing.") var testFraction = 0.25
    @Option(help: "Fraction of the non-test data the weak model trains on (it labels the rest).") var supervisorFraction = 0.5
    @Option(help: "Weak model training steps.") var weakSteps = 600
    @Option(help: "Strong model training steps (student and ceiling).") var strongSteps = 80
    @Option(help: "Self-supervised pretraining steps of +pretrain models.") var pretrainSteps = 1500
    @Option(help: "Examples per step.") var batch = 64
    @Option(help: "Peak learning rate.") var lr: Float = 1e-3
    @Option(help: "Evaluate the student every N steps.") var evalEvery = 10
    @Option(help: "logconf: final weight α of the student's own hardened predictions.") var alpha = 0.5
    @Option(help: "logconf: fraction of training over which α warms up from 0.") var alphaWarmup = 0.2
    @Flag(help: "Train the student on the weak model's probabilities instead of its hard labels.") var softLabels = false
    @Option(help: "Run directory: config.json, run.sqlite, results.json, metrics.jsonl (the same directory again continues an interrupted run).") var out: String?
    @Option(help: "Threads for the kernels (default: all cores).") var threads: Int?
    @Flag(help: "Print one JSON document instead of the table.") var json = false

    func validate() throws {
        guard (task == nil) != (data == nil) else { throw ValidationError("give exactly one of --task and --data") }
        guard seeds > 0 else { throw ValidationError("--seeds must be positive") }
        guard label == nil || data != nil else { throw ValidationError("--label applies to --data") }
    }

    func makeConfig() throws -> W2SConfig {
        let losses = try (loss.isEmpty ? ["xent", "logconf"] : loss).map { name -> W2SLoss in
            guard let l = W2SLoss(rawValue: name) else { throw ValidationError("--loss must be xent, logconf or bootstrap, got '\(name)'") }
            return l
        }
        return W2SConfig(task: task, dataPath: data, labelColumn: label, taskExamples: examples, taskDigits: digits,
                         weak: try weak.map(W2SModelSpec.init), strong: try strong.map(W2SModelSpec.init), losses: losses,
                         intermediates: try via.map(W2SModelSpec.init), seeds: (0..<UInt64(seeds)).map { $0 },
                         testFraction: testFraction, supervisorFraction: supervisorFraction, confidence: ConfidenceWarmup(finalAlpha: alpha, warmupFraction: alphaWarmup),
                         softLabels: softLabels,
                         training: W2STraining(weakSteps: weakSteps, strongSteps: strongSteps, pretrainSteps: pretrainSteps,
                                               batchSize: batch, learningRate: lr, evalEvery: evalEvery))
    }

    func run() throws {
        if let threads { ThreadPool.shared.threadCount = max(1, threads) }
        let config = try makeConfig()
        let report: W2SReport
        if let out {
            // The run directory: config.json, run.sqlite (committed per configuration and seed),
            // results.json and metrics.jsonl; the directory's name is the run's id.
            let dir = URL(fileURLWithPath: out, isDirectory: true).standardizedFileURL
            report = try runW2S { try W2SRunDirectory.run(config, name: dir.lastPathComponent, in: dir, log: stderrLine) }
        } else {
            report = try WeakToStrong.run(config, log: stderrLine)
        }
        if json { print(try report.jsonText()) } else { printW2S(report) }
    }
}

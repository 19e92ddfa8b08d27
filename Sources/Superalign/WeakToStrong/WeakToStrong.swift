import Foundation
import Models
import Tensor

/// Optimiser settings of the weak-to-strong protocol (AdamW, warm-up then cosine decay).
public struct W2STraining: Codable, Equatable, Sendable {
    /// Steps of the weak supervisor on ground truth.
    public var weakSteps: Int
    /// Steps of every strong fine-tuning run (student, ceiling, bootstrap stages). The default,
    /// about two epochs of the unlabelled split, follows Burns et al.: students trained much
    /// longer on weak labels end up imitating their supervisor's errors (see `bestPGR`).
    public var strongSteps: Int
    /// Steps of self-supervised pretraining of `+pretrain` models.
    public var pretrainSteps: Int
    public var batchSize: Int
    public var learningRate: Float
    /// Student test accuracy (and PGR) is recorded every this many steps, and at the end.
    public var evalEvery: Int

    public init(weakSteps: Int = 600, strongSteps: Int = 80, pretrainSteps: Int = 1500, batchSize: Int = 64,
                learningRate: Float = 1e-3, evalEvery: Int = 10) {
        self.weakSteps = weakSteps
        self.strongSteps = strongSteps
        self.pretrainSteps = pretrainSteps
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.evalEvery = evalEvery
    }

    enum CodingKeys: String, CodingKey {
        case weakSteps = "weak_steps", strongSteps = "strong_steps", pretrainSteps = "pretrain_steps"
        case batchSize = "batch_size", learningRate = "learning_rate", evalEvery = "eval_every"
    }

    func options(steps: Int, seed: UInt64) -> TrainingOptions {
        TrainingOptions(steps: steps, batchSize: batchSize, learningRate: learningRate, warmupSteps: min(steps / 10, 100), seed: seed)
    }
}

/// Everything that defines a weak-to-strong experiment. A run directory stores it, resolved,
/// in `config.json` and in its run store (`W2SRunRecord`, `W2SRunDirectory`); `superalign w2s`
/// builds it from options and `w2s{…}` in a campaign script from fields (`W2SExperiment`).
public struct W2SConfig: Codable, Equatable, Sendable {
    /// A built-in task (`W2STasks.tasks`) …
    public var task: String?
    /// … or a user's file (`.csv` or `.jsonl`, see `W2SDataLoader`).
    public var dataPath: String?
    /// The CSV label column (default `label`).
    public var labelColumn: String?
    /// Examples generated for a built-in task.
    public var taskExamples: Int
    /// Digits per operand/string for a built-in task (nil: the task's default).
    public var taskDigits: Int?
    public var weak: [W2SModelSpec]
    public var strong: [W2SModelSpec]
    public var losses: [W2SLoss]
    /// The bootstrap chain between weak and strong (empty: `strong.intermediate`).
    public var intermediates: [W2SModelSpec]
    public var seeds: [UInt64]
    public var testFraction: Double
    /// Fraction of the non-test examples that the weak supervisor trains on (the rest it labels).
    public var supervisorFraction: Double
    /// `α` of `logconf` and its warm-up.
    public var confidence: ConfidenceWarmup
    /// Train the student on the weak model's soft probabilities instead of its hard labels.
    public var softLabels: Bool
    public var training: W2STraining

    public init(task: String? = nil, dataPath: String? = nil, labelColumn: String? = nil, taskExamples: Int = 4000,
                taskDigits: Int? = nil, weak: [W2SModelSpec] = [], strong: [W2SModelSpec] = [],
                losses: [W2SLoss] = [.xent, .logconf], intermediates: [W2SModelSpec] = [], seeds: [UInt64] = [0, 1, 2],
                testFraction: Double = 0.25, supervisorFraction: Double = 0.5, confidence: ConfidenceWarmup = ConfidenceWarmup(), softLabels: Bool = false,
                training: W2STraining = W2STraining()) {
        self.task = task
        self.dataPath = dataPath
        self.labelColumn = labelColumn
        self.taskExamples = taskExamples
        self.taskDigits = taskDigits
        self.weak = weak
        self.strong = strong
        self.losses = losses
        self.intermediates = intermediates
        self.seeds = seeds
        self.testFraction = testFraction
        self.supervisorFraction = supervisorFraction
        self.confidence = confidence
        self.softLabels = softLabels
        self.training = training
    }

    enum CodingKeys: String, CodingKey {
        case task, dataPath = "data_path", labelColumn = "label_column", taskExamples = "task_examples"
        case taskDigits = "task_digits", weak, strong, losses, intermediates, seeds, testFraction = "test_fraction", supervisorFraction = "supervisor_fraction"
        case confidence, softLabels = "soft_labels", training
    }

    /// Default models when none are given: for numeric features a small MLP supervising a wider,
    /// deeper, pretrained one; for text a one-block GPT supervising a pretrained two-block GPT.
    public static func defaultModels(for data: W2SDataset) -> (weak: [W2SModelSpec], strong: [W2SModelSpec]) {
        if data.hasFeatures {
            return ([W2SModelSpec(architecture: .mlp(hidden: [8]))],
                    [W2SModelSpec(architecture: .mlp(hidden: [256, 256]), pretrain: true)])
        }
        return ([W2SModelSpec(architecture: .gpt(layers: 1, width: 32, heads: 2))],
                [W2SModelSpec(architecture: .gpt(layers: 2, width: 64, heads: 4), pretrain: true)])
    }
}

/// The weak-to-strong generalization experiment (Burns et al., 2023).
///
/// For every seed the data is split into supervisor / unlabelled / test (`W2SDataset.split`), then
/// for every weak spec, strong spec and loss:
///
/// 1. **Weak**: the weak model trains on the supervisor split's ground truth; test accuracy `w`.
/// 2. **Weak labels**: it labels the unlabelled split (hard labels; its probabilities are kept
///    for `softLabels`).
/// 3. **Weak-to-strong**: the strong model (pretrained first when its spec says `+pretrain`)
///    trains on those labels with the loss; test accuracy `s` (and at every `evalEvery` step).
/// 4. **Ceiling**: the same strong model trains on the unlabelled split's ground truth; `c`.
/// 5. **PGR** `= (s − w)/(c − w)`, undefined when `c ≤ w` (`PGR.compute`).
///
/// Weak models, pretrained strong weights and ceilings are computed once per seed and shared by
/// the configurations that use them. Every random draw derives from the seed; the student and
/// the ceiling start from the same weights and see the same batches, so they differ only in
/// their labels.
///
/// Why strong models are pretrained (`+pretrain`): weak-to-strong generalization is about
/// *eliciting* what a strong model already knows. Burns et al.'s students are pretrained language
/// models that represent the task's concept before seeing a label; a network trained from
/// scratch on weak labels has nothing to fall back on but those labels, and learns their errors.
/// Here GPTs are pretrained by language modelling on the task's unlabelled inputs and MLPs on an
/// auxiliary task computed from the inputs alone (or as autoencoders), never on labels; the
/// weak supervisor gets no pretraining, which is what makes it weak.
///
/// ```swift
/// let report = try WeakToStrong.run(W2SConfig(task: "carry", weak: [try W2SModelSpec("mlp:4")],
///                                             strong: [try W2SModelSpec("mlp:256,256+pretrain")]))
/// print(report.table())
/// ```
public enum WeakToStrong {
    /// Loads the data the config names (a built-in task or a user file).
    public static func dataset(for config: W2SConfig) throws -> W2SDataset {
        switch (config.task, config.dataPath) {
        case (let task?, nil): return try W2STasks.make(task, count: config.taskExamples, digits: config.taskDigits)
        case (nil, let path?): return try W2SDataLoader.load(path: path, label: config.labelColumn)
        default: throw TaskError.invalidOption("give exactly one of a built-in task and a data file")
        }
    }

    /// Runs the experiment. `log` receives one line per stage (for progress on stderr).
    public static func run(_ config: W2SConfig, log: ((String) -> Void)? = nil) throws -> W2SReport {
        let data = try dataset(for: config)
        return try run(config, data: data, log: log)
    }

    /// The config as it will run on `data`: empty `weak`/`strong` lists replaced by
    /// `W2SConfig.defaultModels(for:)`, every setting checked. Run directories store this form,
    /// so what a run recorded is what it ran.
    public static func resolved(_ config: W2SConfig, for data: W2SDataset) throws -> W2SConfig {
        var config = config
        let defaults = W2SConfig.defaultModels(for: data)
        if config.weak.isEmpty { config.weak = defaults.weak }
        if config.strong.isEmpty { config.strong = defaults.strong }
        guard !config.losses.isEmpty, !config.seeds.isEmpty else { throw TaskError.invalidOption("need at least one loss and one seed") }
        guard Set(config.seeds).count == config.seeds.count else { throw TaskError.invalidOption("seeds must be distinct, got \(config.seeds)") }
        let t = config.training
        guard t.weakSteps > 0, t.strongSteps > 0, t.pretrainSteps >= 0, t.batchSize > 0, t.evalEvery > 0 else {
            throw TaskError.invalidOption("training steps, batch size and eval interval must be positive")
        }
        guard config.testFraction > 0, config.testFraction < 1 else { throw TaskError.invalidOption("test fraction must be in (0, 1)") }
        return config
    }

    /// Runs the experiment on an already loaded data set (`config.task`/`dataPath` are only
    /// recorded). Empty `weak`/`strong` lists take `W2SConfig.defaultModels(for:)`.
    ///
    /// - Parameters:
    ///   - stored: results already computed (a continued run): they are reported as they are
    ///     and not recomputed. Every draw derives from the seed and the purpose of a model, so
    ///     the results still to compute are the same as in an uninterrupted run.
    ///   - onResult: called after every (configuration, seed) with the new result and the
    ///     split sizes, before the next one starts (the run store commits it there).
    public static func run(_ config: W2SConfig, data: W2SDataset, stored: [W2SResultKey: W2SSeedResult] = [:],
                           log: ((String) -> Void)? = nil,
                           onResult: ((W2SResultKey, W2SSeedResult, W2SSplitSizes) throws -> Void)? = nil) throws -> W2SReport {
        let config = try resolved(config, for: data)
        let inputs = W2SInputs(data)
        var results: [String: [W2SSeedResult]] = [:]
        var splitSizes: [String: Int] = [:]
        for seed in config.seeds {
            let splits = try data.split(seed: seed, testFraction: config.testFraction, supervisorFraction: config.supervisorFraction)
            splitSizes = splits.sizes
            var run = SeedRun(config: config, inputs: inputs, splits: splits, seed: seed, log: log)
            for weak in config.weak {
                for strong in config.strong {
                    for loss in config.losses {
                        let resultKey = W2SResultKey(weak: weak.description, strong: strong.description, loss: loss.rawValue, seed: seed)
                        if let done = stored[resultKey] {
                            results[key(weak, strong, loss), default: []].append(done)
                            log?("seed \(seed) \(weak) → \(strong) [\(loss.rawValue)]: already stored")
                            continue
                        }
                        let r = try run.configuration(weak: weak, strong: strong, loss: loss)
                        try onResult?(resultKey, r, W2SSplitSizes(splits.sizes))
                        results[key(weak, strong, loss), default: []].append(r)
                        log?("seed \(seed) \(weak) → \(strong) [\(loss.rawValue)]: weak \(fmt(r.weakAccuracy)) "
                             + "w2s \(fmt(r.w2sAccuracy)) ceiling \(fmt(r.strongCeilingAccuracy)) PGR \(r.pgr.map(fmt) ?? "undefined")")
                    }
                }
            }
        }
        var configurations: [W2SConfigurationResult] = []
        for weak in config.weak {
            for strong in config.strong {
                for loss in config.losses {
                    configurations.append(W2SConfigurationResult(weak: weak.description, strong: strong.description,
                                                                 loss: loss.rawValue, seeds: results[key(weak, strong, loss)] ?? []))
                }
            }
        }
        return W2SReport(data: data.name, config: config, configurations: configurations, splitSizes: splitSizes)
    }

    static func key(_ w: W2SModelSpec, _ s: W2SModelSpec, _ l: W2SLoss) -> String { "\(w)|\(s)|\(l.rawValue)" }
    static func fmt(_ x: Double) -> String { String(format: "%.3f", x) }

    /// Index of the largest probability in each row.
    static func argmax(_ probabilities: [Float], classes: Int) -> [Int] {
        (0..<(probabilities.count / classes)).map { r in
            var best = 0
            for k in 1..<classes where probabilities[r * classes + k] > probabilities[r * classes + best] { best = k }
            return best
        }
    }

    static func accuracy(_ predictions: [Int], _ examples: [W2SExample]) -> Double {
        Double(zip(predictions, examples).filter { $0 == $1.label }.count) / Double(max(examples.count, 1))
    }

    static func oneHot(_ labels: [Int], classes: Int) -> [Float] {
        var t = [Float](repeating: 0, count: labels.count * classes)
        for (i, y) in labels.enumerated() { t[i * classes + y] = 1 }
        return t
    }

    /// Fine-tunes `network` on `examples` with per-example target distributions `targets`
    /// (row-major, `classes` per row: one-hot for hard labels). With `logconf`, each batch's
    /// target becomes `(1 − α)·target + α·t̂` where `t̂` hardens the network's own current
    /// prediction to the batch targets' class balance. `evaluate(step)` runs every
    /// `evalEvery` steps and after the last.
    static func fineTune(_ network: W2SNetwork, on examples: [W2SExample], targets: [Float], loss: W2SLoss,
                         confidence: ConfidenceWarmup, options: TrainingOptions, evalEvery: Int,
                         evaluate: ((Int) throws -> Void)? = nil) throws {
        let k = network.inputs.classes
        let trainer = Trainer(parameters: network.parameters, noDecay: network.noDecayParameters, options: options)
        var step = 0
        var evalError: Error?
        try trainer.run(exampleCount: examples.count, loss: { tape, idx in
            let logits = try network.logits(tape, idx.map { examples[$0] })
            var batchTargets: [Float] = []
            batchTargets.reserveCapacity(idx.count * k)
            for i in idx { batchTargets += targets[(i * k)..<((i + 1) * k)] }
            if loss == .logconf {
                let alpha = Float(confidence.alpha(step: step, totalSteps: options.steps))
                if alpha > 0 {
                    // t̂ is a constant target (no gradient through the hardening), as in Burns et al.
                    let probs = try tape.withoutRecording { try tape.softmax(logits).scalars }
                    let hard = ClassBalance.harden(probabilities: probs, classes: k,
                                                   fractions: ClassBalance.fractions(of: batchTargets, classes: k))
                    for (r, y) in hard.enumerated() {
                        for j in 0..<k { batchTargets[r * k + j] = (1 - alpha) * batchTargets[r * k + j] + (j == y ? alpha : 0) }
                    }
                }
            }
            step += 1
            return try tape.softCrossEntropy(logits, targets: batchTargets)
        }, progress: { s, _ in
            guard evalError == nil, s % evalEvery == 0 || s == options.steps else { return }
            do { try evaluate?(s) } catch { evalError = error }
        })
        if let evalError { throw evalError }
    }
}

/// The work of one seed, with its caches (weak models, pretrained strong weights, ceilings).
struct SeedRun {
    let config: W2SConfig
    let inputs: W2SInputs
    let splits: W2SSplits
    let seed: UInt64
    let log: ((String) -> Void)?

    struct Weak {
        let testPredictions: [Int]
        let accuracy: Double
        /// Targets on the unlabelled split (one-hot hard labels, or probabilities).
        let targets: [Float]
        let labelAccuracy: Double
    }

    private var weakCache: [W2SModelSpec: Weak] = [:]
    private var pretrained: [W2SModelSpec: W2SNetwork] = [:]
    private var ceilings: [W2SModelSpec: Double] = [:]

    init(config: W2SConfig, inputs: W2SInputs, splits: W2SSplits, seed: UInt64, log: ((String) -> Void)?) {
        self.config = config
        self.inputs = inputs
        self.splits = splits
        self.seed = seed
        self.log = log
    }

    /// A sub-seed per purpose, so that e.g. the student and the ceiling start from the same
    /// initial weights (same spec, same seed) but the weak model does not share them.
    func subSeed(_ purpose: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325 ^ seed
        for b in purpose.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        return h
    }

    var k: Int { inputs.classes }

    /// A network of `spec` with its starting weights: pretrained (once per spec) or fresh.
    mutating func initial(_ spec: W2SModelSpec) throws -> W2SNetwork {
        let net = try W2SNetwork(spec: spec, inputs: inputs, seed: subSeed("init \(spec)"))
        guard spec.pretrain else { return net }
        if let base = pretrained[spec] {
            try net.copyWeights(from: base)
            return net
        }
        let loss = try net.pretrain(splits.pretraining, options: config.training.options(steps: config.training.pretrainSteps,
                                                                             seed: subSeed("pretrain \(spec)")))
        log?("seed \(seed): pretrained \(spec) on \(splits.pretraining.count) unlabelled inputs, final loss \(WeakToStrong.fmt(Double(loss)))")
        let copy = try W2SNetwork(spec: spec, inputs: inputs, seed: 0)
        try copy.copyWeights(from: net)
        pretrained[spec] = copy
        return net
    }

    /// Trains `spec` on `examples` with `targets` (xent) and returns it.
    mutating func supervised(_ spec: W2SModelSpec, _ examples: [W2SExample], targets: [Float], steps: Int,
                             purpose: String) throws -> W2SNetwork {
        let net = try initial(spec)
        try WeakToStrong.fineTune(net, on: examples, targets: targets, loss: .xent, confidence: config.confidence,
                                  options: config.training.options(steps: steps, seed: subSeed(purpose)),
                                  evalEvery: config.training.evalEvery)
        return net
    }

    /// Labels of `net` on `examples` as training targets: one-hot or (softLabels) probabilities.
    func targets(from net: W2SNetwork, on examples: [W2SExample]) throws -> [Float] {
        let p = try net.probabilities(examples)
        return config.softLabels ? p : WeakToStrong.oneHot(WeakToStrong.argmax(p, classes: k), classes: k)
    }

    mutating func weak(_ spec: W2SModelSpec) throws -> Weak {
        if let w = weakCache[spec] { return w }
        let net = try supervised(spec, splits.supervisor, targets: WeakToStrong.oneHot(splits.supervisor.map(\.label), classes: k),
                                 steps: config.training.weakSteps, purpose: "weak \(spec)")
        let testPredictions = WeakToStrong.argmax(try net.probabilities(splits.test), classes: k)
        let targets = try targets(from: net, on: splits.unlabeled)
        let w = Weak(testPredictions: testPredictions, accuracy: WeakToStrong.accuracy(testPredictions, splits.test),
                     targets: targets,
                     labelAccuracy: WeakToStrong.accuracy(WeakToStrong.argmax(targets, classes: k), splits.unlabeled))
        weakCache[spec] = w
        return w
    }

    mutating func ceiling(_ spec: W2SModelSpec) throws -> Double {
        if let c = ceilings[spec] { return c }
        let net = try supervised(spec, splits.unlabeled, targets: WeakToStrong.oneHot(splits.unlabeled.map(\.label), classes: k),
                                 steps: config.training.strongSteps, purpose: "student \(spec)")
        let c = WeakToStrong.accuracy(WeakToStrong.argmax(try net.probabilities(splits.test), classes: k), splits.test)
        ceilings[spec] = c
        return c
    }

    /// Bootstrap: each intermediate model learns from the previous labels and relabels the split
    /// by two-fold cross-fitting (a copy trained on one half labels the other half), so no
    /// example is labelled by a model that trained on its label.
    mutating func bootstrapTargets(from weakTargets: [Float], chain: [W2SModelSpec]) throws -> [Float] {
        var current = weakTargets
        let n = splits.unlabeled.count
        let half = n / 2
        for (stage, spec) in chain.enumerated() {
            var next = current
            for (train, label) in [(0..<half, half..<n), (half..<n, 0..<half)] {
                let examples = Array(splits.unlabeled[train])
                let t = Array(current[(train.lowerBound * k)..<(train.upperBound * k)])
                let net = try supervised(spec, examples, targets: t, steps: config.training.strongSteps,
                                         purpose: "bootstrap \(stage) \(spec) \(train.lowerBound)")
                let labels = try targets(from: net, on: Array(splits.unlabeled[label]))
                next.replaceSubrange((label.lowerBound * k)..<(label.upperBound * k), with: labels)
            }
            log?("seed \(seed): bootstrap stage \(stage + 1) \(spec) relabelled \(n) examples")
            current = next
        }
        return current
    }

    mutating func configuration(weak weakSpec: W2SModelSpec, strong: W2SModelSpec, loss: W2SLoss) throws -> W2SSeedResult {
        let w = try weak(weakSpec)
        let c = try ceiling(strong)
        var targets = w.targets
        if loss == .bootstrap {
            targets = try bootstrapTargets(from: w.targets, chain: config.intermediates.isEmpty ? [strong.intermediate] : config.intermediates)
        }
        let student = try initial(strong)
        var steps: [W2SEvaluationStep] = []
        // Locals, not self: the evaluation closure escapes and may not capture a mutating self.
        let (test, k, weakAccuracy) = (splits.test, self.k, w.accuracy)
        try WeakToStrong.fineTune(student, on: splits.unlabeled, targets: targets, loss: loss == .logconf ? .logconf : .xent,
                                  confidence: config.confidence,
                                  options: config.training.options(steps: config.training.strongSteps, seed: subSeed("student \(strong)")),
                                  evalEvery: config.training.evalEvery) { step in
            let acc = WeakToStrong.accuracy(WeakToStrong.argmax(try student.probabilities(test), classes: k), test)
            steps.append(W2SEvaluationStep(step: step, testAccuracy: acc, pgr: PGR.compute(weak: weakAccuracy, weakToStrong: acc, ceiling: c)))
        }
        let predictions = WeakToStrong.argmax(try student.probabilities(test), classes: k)
        let agree = zip(predictions, w.testPredictions).map { $0 == $1 }
        let weakWrong = test.indices.filter { w.testPredictions[$0] != test[$0].label }
        return W2SSeedResult(seed: seed, weakAccuracy: w.accuracy, w2sAccuracy: WeakToStrong.accuracy(predictions, test),
                             strongCeilingAccuracy: c, weakLabelAccuracy: w.labelAccuracy,
                             agreement: Double(agree.filter { $0 }.count) / Double(test.count),
                             agreementOnWeakErrors: weakWrong.isEmpty ? nil
                                 : Double(weakWrong.filter { agree[$0] }.count) / Double(weakWrong.count),
                             steps: steps)
    }
}

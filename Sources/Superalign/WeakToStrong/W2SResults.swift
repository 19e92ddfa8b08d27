import Foundation

// Every result type of a weak-to-strong experiment lives in this file, all `Codable`, so that a
// run store (SQLite, JSON files) can persist a `W2SReport` without knowing the protocol.
// JSON keys are snake_case and fixed by explicit `CodingKeys`.

/// Performance gap recovered (Burns et al., 2023), on test accuracy:
///
/// ```text
/// PGR = (acc_w2s − acc_weak) / (acc_ceiling − acc_weak)
/// ```
///
/// 1 means the student trained on weak labels does as well as the same model trained on ground
/// truth; 0 means it does no better than its supervisor; negative means worse. PGR is undefined
/// (nil) when the ceiling does not beat the weak model (`acc_ceiling ≤ acc_weak`): there is then
/// no gap to recover, and dividing would give ±∞ or a sign-flipped, meaningless number.
///
/// ```swift
/// PGR.compute(weak: 0.70, weakToStrong: 0.85, ceiling: 0.90)   // 0.75
/// PGR.compute(weak: 0.90, weakToStrong: 0.95, ceiling: 0.90)   // nil (no gap)
/// ```
public enum PGR {
    public static func compute(weak: Double, weakToStrong: Double, ceiling: Double) -> Double? {
        let gap = ceiling - weak
        guard gap > 0, gap.isFinite, weakToStrong.isFinite else { return nil }
        return (weakToStrong - weak) / gap
    }

    /// The median of the defined values (the middle one, or the mean of the two middle ones);
    /// nil when no value is defined. Undefined PGRs are left out rather than counted as 0,
    /// and `definedCount` in the report says how many seeds the median covers.
    ///
    /// ```swift
    /// PGR.median([0.2, nil, 0.6, 0.4])   // 0.4
    /// PGR.median([0.2, 0.6])             // 0.4
    /// ```
    public static func median(_ values: [Double?]) -> Double? {
        let xs = values.compactMap { $0 }.sorted()
        guard !xs.isEmpty else { return nil }
        let m = xs.count / 2
        return xs.count % 2 == 1 ? xs[m] : (xs[m - 1] + xs[m]) / 2
    }
}

/// The student's test accuracy at one evaluation step of weak-to-strong training, with the PGR
/// it would have if training stopped there (same weak and ceiling accuracies as the final PGR).
public struct W2SEvaluationStep: Codable, Equatable, Sendable {
    public var step: Int
    public var testAccuracy: Double
    public var pgr: Double?

    public init(step: Int, testAccuracy: Double, pgr: Double?) {
        self.step = step
        self.testAccuracy = testAccuracy
        self.pgr = pgr
    }

    enum CodingKeys: String, CodingKey { case step, testAccuracy = "test_accuracy", pgr }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(step, forKey: .step)
        try c.encode(testAccuracy, forKey: .testAccuracy)
        try c.encode(pgr, forKey: .pgr)   // null when undefined, never omitted
    }
}

/// One seed of one (weak, strong, loss) configuration.
public struct W2SSeedResult: Codable, Equatable, Sendable {
    public var seed: UInt64
    /// Test accuracy of the weak supervisor (trained on ground truth of the supervisor split).
    public var weakAccuracy: Double
    /// Test accuracy of the strong student trained on the weak labels (end of training).
    public var w2sAccuracy: Double
    /// Test accuracy of the strong model trained on the ground truth of the same split.
    public var strongCeilingAccuracy: Double
    /// `PGR.compute(weak:weakToStrong:ceiling:)` of the three accuracies above; nil = undefined.
    public var pgr: Double?
    /// The highest PGR over the evaluation steps (students overfit weak labels, so the best
    /// point during training is reported beside the final one).
    public var bestPGR: Double?
    public var bestStep: Int?
    /// Accuracy of the weak labels on the split they label (how noisy the supervision was).
    public var weakLabelAccuracy: Double
    /// Fraction of test examples where student and supervisor predict the same class.
    public var agreement: Double
    /// The same on the test examples the supervisor got wrong (low = the student corrects
    /// its supervisor's mistakes instead of imitating them); nil if the supervisor made none.
    public var agreementOnWeakErrors: Double?
    /// Every evaluation step of the student's training.
    public var steps: [W2SEvaluationStep]

    public init(seed: UInt64, weakAccuracy: Double, w2sAccuracy: Double, strongCeilingAccuracy: Double,
                weakLabelAccuracy: Double, agreement: Double, agreementOnWeakErrors: Double?, steps: [W2SEvaluationStep]) {
        self.seed = seed
        self.weakAccuracy = weakAccuracy
        self.w2sAccuracy = w2sAccuracy
        self.strongCeilingAccuracy = strongCeilingAccuracy
        self.pgr = PGR.compute(weak: weakAccuracy, weakToStrong: w2sAccuracy, ceiling: strongCeilingAccuracy)
        let best = steps.filter { $0.pgr != nil }.max { $0.pgr! < $1.pgr! }
        self.bestPGR = best?.pgr
        self.bestStep = best?.step
        self.weakLabelAccuracy = weakLabelAccuracy
        self.agreement = agreement
        self.agreementOnWeakErrors = agreementOnWeakErrors
        self.steps = steps
    }

    enum CodingKeys: String, CodingKey {
        case seed, weakAccuracy = "weak_accuracy", w2sAccuracy = "w2s_accuracy"
        case strongCeilingAccuracy = "strong_ceiling_accuracy", pgr, bestPGR = "best_pgr", bestStep = "best_step"
        case weakLabelAccuracy = "weak_label_accuracy", agreement, agreementOnWeakErrors = "agreement_on_weak_errors"
        case steps
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(seed, forKey: .seed)
        try c.encode(weakAccuracy, forKey: .weakAccuracy)
        try c.encode(w2sAccuracy, forKey: .w2sAccuracy)
        try c.encode(strongCeilingAccuracy, forKey: .strongCeilingAccuracy)
        try c.encode(pgr, forKey: .pgr)
        try c.encode(bestPGR, forKey: .bestPGR)
        try c.encode(bestStep, forKey: .bestStep)
        try c.encode(weakLabelAccuracy, forKey: .weakLabelAccuracy)
        try c.encode(agreement, forKey: .agreement)
        try c.encode(agreementOnWeakErrors, forKey: .agreementOnWeakErrors)
        try c.encode(steps, forKey: .steps)
    }
}

/// All seeds of one (weak, strong, loss) configuration and their medians.
public struct W2SConfigurationResult: Codable, Equatable, Sendable {
    public var weak: String
    public var strong: String
    public var loss: String
    public var seeds: [W2SSeedResult]
    /// Median PGR over the seeds whose PGR is defined; nil if none is.
    public var medianPGR: Double?
    /// Median of the best-during-training PGRs.
    public var medianBestPGR: Double?
    /// How many seeds have a defined PGR (the median covers only those).
    public var definedPGRCount: Int

    public init(weak: String, strong: String, loss: String, seeds: [W2SSeedResult]) {
        self.weak = weak
        self.strong = strong
        self.loss = loss
        self.seeds = seeds
        self.medianPGR = PGR.median(seeds.map(\.pgr))
        self.medianBestPGR = PGR.median(seeds.map(\.bestPGR))
        self.definedPGRCount = seeds.filter { $0.pgr != nil }.count
    }

    enum CodingKeys: String, CodingKey {
        case weak, strong, loss, seeds, medianPGR = "median_pgr", medianBestPGR = "median_best_pgr"
        case definedPGRCount = "defined_pgr_count"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(weak, forKey: .weak)
        try c.encode(strong, forKey: .strong)
        try c.encode(loss, forKey: .loss)
        try c.encode(seeds, forKey: .seeds)
        try c.encode(medianPGR, forKey: .medianPGR)
        try c.encode(medianBestPGR, forKey: .medianBestPGR)
        try c.encode(definedPGRCount, forKey: .definedPGRCount)
    }
}

/// The whole experiment: what was run and every configuration's results.
public struct W2SReport: Codable, Equatable, Sendable {
    /// The data set's name (a built-in task or the user's file).
    public var data: String
    public var config: W2SConfig
    public var configurations: [W2SConfigurationResult]
    /// Sizes of the three splits (supervisor-train, to-be-labelled, test).
    public var splitSizes: [String: Int]

    public init(data: String, config: W2SConfig, configurations: [W2SConfigurationResult], splitSizes: [String: Int]) {
        self.data = data
        self.config = config
        self.configurations = configurations
        self.splitSizes = splitSizes
    }

    enum CodingKeys: String, CodingKey { case data, config, configurations, splitSizes = "split_sizes" }

    /// Pretty-printed, key-sorted JSON (the `--json` document and `results.json`).
    public func jsonText() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// A fixed-width table: one row per configuration and seed, then the median row.
    ///
    /// ```text
    /// weak        strong              loss     seed  weak   w2s    ceiling  PGR     best PGR  agree  agree|weak wrong
    /// mlp:8       mlp:128,128+pretrain xent    0     0.712  0.834  0.951    0.510   0.560     0.801  0.412
    /// ```
    public func table() -> String {
        func f(_ x: Double?) -> String { x.map { String(format: "%.3f", $0) } ?? "undef" }
        let header = ["weak", "strong", "loss", "seed", "weak", "w2s", "ceiling", "PGR", "best PGR", "agree", "agree|weak wrong"]
        var rows: [[String]] = [header]
        for c in configurations {
            for s in c.seeds {
                rows.append([c.weak, c.strong, c.loss, "\(s.seed)", f(s.weakAccuracy), f(s.w2sAccuracy),
                             f(s.strongCeilingAccuracy), f(s.pgr), f(s.bestPGR), f(s.agreement), f(s.agreementOnWeakErrors)])
            }
            rows.append([c.weak, c.strong, c.loss, "median", "", "", "", f(c.medianPGR), f(c.medianBestPGR),
                         "(\(c.definedPGRCount)/\(c.seeds.count) defined)", ""])
        }
        let widths = (0..<header.count).map { j in rows.map { $0[j].count }.max()! }
        return rows.map { r in
            zip(r, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }.joined(separator: "\n")
    }
}

/// One line of `metrics.jsonl`: a student's evaluation step with the configuration it belongs to.
public struct W2SMetricsLine: Codable, Equatable, Sendable {
    public var weak: String
    public var strong: String
    public var loss: String
    public var seed: UInt64
    public var step: Int
    public var testAccuracy: Double
    public var pgr: Double?

    public init(weak: String, strong: String, loss: String, seed: UInt64, step: W2SEvaluationStep) {
        self.weak = weak
        self.strong = strong
        self.loss = loss
        self.seed = seed
        self.step = step.step
        self.testAccuracy = step.testAccuracy
        self.pgr = step.pgr
    }

    enum CodingKeys: String, CodingKey { case weak, strong, loss, seed, step, testAccuracy = "test_accuracy", pgr }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(weak, forKey: .weak)
        try c.encode(strong, forKey: .strong)
        try c.encode(loss, forKey: .loss)
        try c.encode(seed, forKey: .seed)
        try c.encode(step, forKey: .step)
        try c.encode(testAccuracy, forKey: .testAccuracy)
        try c.encode(pgr, forKey: .pgr)
    }
}

/// Which result of an experiment: one seed of one (weak, strong, loss) configuration. The
/// specs are written as in reports (`W2SModelSpec.description`), the loss by its raw value.
public struct W2SResultKey: Hashable, Codable, Sendable, CustomStringConvertible {
    public var weak: String
    public var strong: String
    public var loss: String
    public var seed: UInt64

    public init(weak: String, strong: String, loss: String, seed: UInt64) {
        self.weak = weak
        self.strong = strong
        self.loss = loss
        self.seed = seed
    }

    public var description: String { "\(weak) → \(strong) [\(loss)] seed \(seed)" }
}

/// Sizes of the protocol's three splits for one seed.
public struct W2SSplitSizes: Codable, Equatable, Sendable {
    /// Ground truth the weak supervisor trains on.
    public var supervisor: Int
    /// What the weak supervisor labels, and the student and the ceiling train on.
    public var unlabeled: Int
    /// Held out; every accuracy is measured here.
    public var test: Int

    public init(supervisor: Int, unlabeled: Int, test: Int) {
        self.supervisor = supervisor
        self.unlabeled = unlabeled
        self.test = test
    }

    init(_ sizes: [String: Int]) {
        self.init(supervisor: sizes["supervisor"] ?? 0, unlabeled: sizes["unlabeled"] ?? 0, test: sizes["test"] ?? 0)
    }

    /// The `W2SReport.splitSizes` form.
    public var dictionary: [String: Int] { ["supervisor": supervisor, "unlabeled": unlabeled, "test": test] }
}

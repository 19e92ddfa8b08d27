import Foundation

/// The measurements of one iteration, long-format: a value per registered metric name, `nil`
/// when the metric is undefined for this iteration (a precision with no accepted item, a loss
/// with no training). Undefined is never written as a number.
public struct IterationMetrics: Codable, Equatable, Sendable {
    public var iteration: Int
    public var values: [String: Double?]

    public init(iteration: Int, values: [String: Double?] = [:]) {
        self.iteration = iteration
        self.values = values
    }

    /// The value of `name`, nil when undefined or not measured.
    public subscript(_ name: String) -> Double? {
        get { values[name] ?? nil }
        set { values[name] = .some(newValue) }
    }

    /// Rows in the registry's order, then any other names sorted.
    public var rows: [(String, Double?)] {
        let known = MetricRegistry.names.filter { values[$0] != nil }
        let other = values.keys.filter { !MetricRegistry.names.contains($0) }.sorted()
        return (known + other).map { ($0, values[$0] ?? nil) }
    }

    // One flat JSON object: {"iteration": 1, "clean_accuracy": 0.8, "critic_precision": null, …}.
    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        iteration = try c.decode(Int.self, forKey: Key(stringValue: "iteration"))
        values = [:]
        for k in c.allKeys where k.stringValue != "iteration" {
            values[k.stringValue] = .some(try c.decodeIfPresent(Double.self, forKey: k))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(iteration, forKey: Key(stringValue: "iteration"))
        for (name, value) in rows {
            if let value { try c.encode(value, forKey: Key(stringValue: name)) } else { try c.encodeNil(forKey: Key(stringValue: name)) }
        }
    }
}

/// The metrics an iteration records, as data: name and what it means. Each is a pure function
/// of the iteration's stored items (`IterationMeasures`) or of the evaluation.
public enum MetricRegistry {
    public static let definitions: [(name: String, meaning: String)] = [
        ("clean_accuracy", "greedy accuracy on the held-out eval partition"),
        ("ood_accuracy", "greedy accuracy on the ood partition"),
        ("attack_success_rate", "share of valid attack queries the learner's greedy answer gets wrong"),
        ("response_accuracy", "share of the candidate responses (the ones critiqued) that are right"),
        ("mean_critic_score", "mean aggregated critic score of the candidate responses"),
        ("critic_accuracy", "share of candidate responses whose critic label matches the truth"),
        ("critic_precision", "right responses among those the critic accepted; null when it accepted none"),
        ("critic_recall", "accepted responses among the right ones; null when none was right"),
        ("critic_blind_spot", "share of the learner's wrong responses the critic accepted; null when none was wrong"),
        ("escalated", "items the human labelled this iteration"),
        ("human_labels", "human budget spent this iteration (labels and corrections)"),
        ("human_corrections", "right answers the human supplied this iteration"),
        ("train_items", "refinement examples from this iteration's items (accepted responses, corrections)"),
        ("train_label_accuracy", "share of those examples whose completion is right; null without any"),
        ("rehearsal_items", "pretraining-set examples mixed into the refinement"),
        ("train_loss", "mean loss of the last quarter of refinement steps; null without training"),
        ("distinct_share", "distinct candidate responses / items"),
        ("invalid_queries", "proposed prompts the task could not answer (or past the query count)"),
    ]
    public static let names: [String] = definitions.map(\.name)
}

/// The counts behind an iteration's critic and label metrics, computed from its items.
public struct IterationMeasures: Equatable, Sendable {
    public var items = 0
    public var responsesRight = 0
    public var greedyWrong = 0
    public var criticAccepted = 0
    public var criticAcceptedRight = 0
    public var criticAgrees = 0
    public var wrongAccepted = 0
    public var scoreSum = 0.0
    public var distinctResponses = 0

    public init() {}

    /// Counts over `items`.
    public init(_ items: [IterationItem]) {
        self.items = items.count
        for it in items {
            if it.correct { responsesRight += 1 }
            if !it.greedyCorrect { greedyWrong += 1 }
            if it.verdict.label {
                criticAccepted += 1
                if it.correct { criticAcceptedRight += 1 } else { wrongAccepted += 1 }
            }
            if it.verdict.label == it.correct { criticAgrees += 1 }
            scoreSum += it.verdict.score
        }
        distinctResponses = Set(items.map(\.response)).count
    }

    static func ratio(_ a: Int, _ b: Int) -> Double? { b > 0 ? Double(a) / Double(b) : nil }

    /// The critic metrics (names as in the registry).
    public var values: [String: Double?] {
        [
            "attack_success_rate": Self.ratio(greedyWrong, items),
            "response_accuracy": Self.ratio(responsesRight, items),
            "mean_critic_score": items > 0 ? scoreSum / Double(items) : nil,
            "critic_accuracy": Self.ratio(criticAgrees, items),
            "critic_precision": Self.ratio(criticAcceptedRight, criticAccepted),
            "critic_recall": Self.ratio(criticAcceptedRight, responsesRight),
            "critic_blind_spot": Self.ratio(wrongAccepted, items - responsesRight),
            "distinct_share": Self.ratio(distinctResponses, items),
        ]
    }
}

import Foundation
import LuaHost

/// One sample of a response: its text and the learner's total log-probability of it.
public struct ResponseSample: Equatable, Sendable {
    public var text: String
    public var logprob: Double

    public init(text: String, logprob: Double) {
        self.text = text
        self.logprob = logprob
    }
}

/// The critic's verdict on one response, validated.
public struct CriticVerdict: Equatable, Sendable, Codable {
    public var score: Double
    public var label: Bool
    public var confidence: Double
    public var critique: String
    /// The critic that gave it (for an aggregated verdict, the rule: "mean of 3 critics").
    public var critic: String

    public init(score: Double, label: Bool, confidence: Double, critique: String, critic: String = "") {
        self.score = score
        self.label = label
        self.confidence = confidence
        self.critique = critique
        self.critic = critic
    }

    var luaValue: LuaValue {
        .table(LuaTable(fields: ["score": .number(score), "label": .boolean(label), "confidence": .number(confidence),
                                 "critique": .text(critique), "critic": .text(critic)]))
    }
}

/// Everything one query of an iteration went through, phase by phase. The engine alone reads
/// `reference` and `correct`; what plugins see is built by `pluginView`.
public struct IterationItem: Equatable, Sendable {
    public var position: Int
    public var prompt: String
    /// Ground truth from the task (engine and human oracle only).
    public var reference: String
    public var partition: Partition
    public var features: [String: Double]
    /// The learner's greedy answer and whether it is right (attack success).
    public var greedy: ResponseSample
    public var greedyCorrect: Bool
    /// Every sample drawn (RFT: K of them; SFT: the greedy answer alone).
    public var samples: [ResponseSample]
    /// Per sample, each critic's verdict (outer: samples, inner: critics in campaign order).
    public var sampleVerdicts: [[CriticVerdict]] = []
    /// Per sample, the aggregated verdict.
    public var sampleAggregates: [CriticVerdict] = []
    /// The candidate: the sample refinement would learn from (the critic's best).
    public var chosen = 0
    public var escalated = false
    public var humanLabel: Bool?
    /// The right answer a human supplied with a "wrong" label (`corrections = true`).
    public var humanCorrection: String?
    /// Whether the item went into refinement, and as which completion.
    public var trainedCompletion: String?

    public init(position: Int, prompt: String, reference: String, partition: Partition, features: [String: Double],
                greedy: ResponseSample, greedyCorrect: Bool, samples: [ResponseSample]) {
        self.position = position
        self.prompt = prompt
        self.reference = reference
        self.partition = partition
        self.features = features
        self.greedy = greedy
        self.greedyCorrect = greedyCorrect
        self.samples = samples
    }

    public var response: String { samples[chosen].text }
    public var verdict: CriticVerdict { sampleAggregates[chosen] }
    /// Whether the candidate response is right (measurement only).
    public var correct: Bool { sampleCorrect[chosen] }
    /// Per sample, whether it is right (filled by the respond phase).
    public var sampleCorrect: [Bool] = []
    /// The label refinement uses: the human's when bought, else the critics'.
    public var finalLabel: Bool { humanLabel ?? verdict.label }
    public var labelSource: String { humanLabel == nil ? "critic" : "human" }

    /// The item as a critic or oversight policy receives it: prompt, response, the learner's
    /// log-probability and confidence, the prompt's features; the reference only for a critic
    /// the campaign declared reference-based.
    func pluginView(sample k: Int, reference withReference: Bool) -> LuaValue {
        let s = samples[k]
        var features: [String: LuaValue] = [:]
        for (name, v) in self.features { features[name] = v == v.rounded() && abs(v) < 1e15 ? .integer(Int64(v)) : .number(v) }
        var f: [String: LuaValue] = [
            "prompt": .text(prompt), "response": .text(s.text), "features": .table(LuaTable(fields: features)),
        ]
        if s.logprob.isFinite {
            f["logprob"] = .number(s.logprob)
            f["confidence"] = .number(min(1, max(0, exp(s.logprob))))
        }
        if withReference { f["reference"] = .text(reference) }
        return .table(LuaTable(fields: f))
    }
}

import Tensor

/// Built-in data sets, generated deterministically from a seed, each split into train and test.
///
/// - `addition` / `additionN`: `"a+b="` → `"a+b"` in decimal for N-digit operands (default 2):
///   `"12+34="` → `"46"`, `"7+5="` → `"12"`. All pairs when there are at most 10⁶ of them,
///   otherwise 200,000 random pairs; 10% held out for testing.
/// - `blobs`: 4-class classification of 16-dimensional points drawn around 4 random centres
///   (for the MLP); 2,000 train and 500 test points.
///
/// ```swift
/// let task = try BuiltinTask(name: "addition", seed: 0)
/// task.train.count   // 9000
/// task.test[0]       // PromptCompletion(prompt: "…+…=", completion: "…")
/// ```
public struct BuiltinTask {
    public static let names = ["addition", "additionN (N = 1…6 digits)", "blobs"]

    public let name: String
    public let train: [PromptCompletion]
    public let test: [PromptCompletion]
    public let trainFeatures: [LabeledFeatures]
    public let testFeatures: [LabeledFeatures]

    public init(name: String, seed: UInt64) throws {
        self.name = name
        var rng = RandomGenerator(seed: seed ^ 0x7A5C_0DE5)
        if name == "blobs" {
            (trainFeatures, testFeatures) = Self.blobs(rng: &rng)
            train = []; test = []
            return
        }
        guard name.hasPrefix("addition"), let digits = name == "addition" ? 2 : Int(name.dropFirst("addition".count)),
              (1...6).contains(digits) else {
            throw ModelsError.invalidArgument(op: "task", detail: "unknown task \"\(name)\"; known: \(Self.names.joined(separator: ", "))")
        }
        var all = Self.addition(digits: digits, rng: &rng)
        rng.shuffle(&all)
        let held = max(1, all.count / 10)
        test = Array(all[..<held])
        train = Array(all[held...])
        trainFeatures = []; testFeatures = []
    }

    /// Whether this task is classification over feature vectors (MLP) rather than text.
    public var isFeatureTask: Bool { !trainFeatures.isEmpty }

    static func addition(digits: Int, rng: inout RandomGenerator) -> [PromptCompletion] {
        var limit = 1
        for _ in 0..<digits { limit *= 10 }
        func pair(_ a: Int, _ b: Int) -> PromptCompletion { PromptCompletion(prompt: "\(a)+\(b)=", completion: "\(a + b)") }
        if limit * limit <= 1_000_000 {
            var out: [PromptCompletion] = []
            out.reserveCapacity(limit * limit)
            for a in 0..<limit { for b in 0..<limit { out.append(pair(a, b)) } }
            return out
        }
        var seen = Set<Int>()
        var out: [PromptCompletion] = []
        while out.count < 200_000 {
            let a = rng.below(limit), b = rng.below(limit)
            if seen.insert(a * limit + b).inserted { out.append(pair(a, b)) }
        }
        return out
    }

    static func blobs(rng: inout RandomGenerator) -> ([LabeledFeatures], [LabeledFeatures]) {
        let classes = 4, dims = 16
        let centres = (0..<classes).map { _ in (0..<dims).map { _ in 2 * rng.normal() } }
        func draw(_ n: Int) -> [LabeledFeatures] {
            (0..<n).map { _ in
                let k = rng.below(classes)
                return LabeledFeatures(features: centres[k].map { $0 + rng.normal() }, label: k)
            }
        }
        return (draw(2000), draw(500))
    }
}

/// Exact-match accuracy and loss of a model on prompt/completion pairs.
public struct Evaluation: Equatable, Sendable {
    /// Fraction of pairs whose greedy completion equals the reference exactly (and then stops).
    public var exactMatch: Double
    /// Mean cross-entropy per scored token (completion + EOS), in nats.
    public var loss: Double
    public var count: Int
}

extension GPT {
    /// Greedy-decodes every prompt and compares with its completion; the loss is the token-
    /// weighted mean SFT cross-entropy. Batched throughout.
    public func evaluate(_ pairs: [PromptCompletion], tokenizer: CharTokenizer) throws -> Evaluation {
        guard !pairs.isEmpty else { throw ModelsError.invalidArgument(op: "GPT.evaluate", detail: "no examples") }
        let longest = pairs.map { $0.completion.unicodeScalars.count }.max()!
        let generated = try generate(pairs.map(\.prompt), tokenizer: tokenizer,
                                     options: SamplingOptions(maxNewTokens: longest + 1, temperature: 0))
        var correct = 0
        for (g, p) in zip(generated, pairs) where g.finishReason == .stop && g.text == p.completion { correct += 1 }
        let scores = try logProbabilities(of: pairs, tokenizer: tokenizer)
        var total = 0.0, tokens = 0
        for s in scores { total -= Double(s.total); tokens += s.tokenLogProbs.count }
        return Evaluation(exactMatch: Double(correct) / Double(pairs.count), loss: total / Double(max(tokens, 1)), count: pairs.count)
    }
}

extension MLP {
    /// Accuracy (arg-max = label) and mean cross-entropy on labelled features.
    public func evaluate(_ examples: [LabeledFeatures]) throws -> Evaluation {
        guard !examples.isEmpty else { throw ModelsError.invalidArgument(op: "MLP.evaluate", detail: "no examples") }
        let tape = Tape()
        tape.isRecording = false
        let (x, y) = try batch(examples)
        let logits = try logits(tape, x)
        let loss = try tape.crossEntropy(logits, targets: y).item
        let k = logits.lastDimension
        var correct = 0
        for r in 0..<examples.count {
            var best = 0
            for j in 1..<k where logits.data[r * k + j] > logits.data[r * k + best] { best = j }
            if best == examples[r].label { correct += 1 }
        }
        return Evaluation(exactMatch: Double(correct) / Double(examples.count), loss: Double(loss), count: examples.count)
    }
}

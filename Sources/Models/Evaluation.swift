import Tensor

/// Accuracy and loss of a model on held-out data.
///
/// For a language model (`GPT.evaluate`) `exactMatch` is the fraction of prompts whose greedy
/// completion equals the reference exactly and `loss` the mean cross-entropy per scored token.
/// For a classifier (`MLP.evaluate`, `GPT.evaluateClassifier`) `exactMatch` is the accuracy
/// (arg-max class = label) and `loss` the mean cross-entropy per example.
public struct Evaluation: Equatable, Sendable {
    /// Fraction of examples answered exactly right (see the type's documentation).
    public var exactMatch: Double
    /// Mean cross-entropy, in nats.
    public var loss: Double
    public var count: Int

    public init(exactMatch: Double, loss: Double, count: Int) {
        self.exactMatch = exactMatch
        self.loss = loss
        self.count = count
    }
}

extension GPT {
    /// Greedy-decodes every prompt and compares with its completion; the loss is the token-
    /// weighted mean SFT cross-entropy. Batched throughout.
    public func evaluate(_ pairs: [PromptCompletion], tokenizer: CharTokenizer) throws -> Evaluation {
        guard let longest = pairs.map({ $0.completion.unicodeScalars.count }).max() else {
            throw ModelsError.invalidArgument(op: "GPT.evaluate", detail: "no examples")
        }
        let generated = try generate(pairs.map(\.prompt), tokenizer: tokenizer,
                                     options: SamplingOptions(maxNewTokens: longest + 1, temperature: 0))
        var correct = 0
        for (g, p) in zip(generated, pairs) where g.finishReason == .stop && g.text == p.completion { correct += 1 }
        let scores = try logProbabilities(of: pairs, tokenizer: tokenizer)
        var total = 0.0, tokens = 0
        for s in scores { total -= Double(s.total); tokens += s.tokenLogProbs.count }
        return Evaluation(exactMatch: Double(correct) / Double(pairs.count), loss: total / Double(max(tokens, 1)), count: pairs.count)
    }

    /// Accuracy (arg-max class = label) and mean cross-entropy of the classification head on
    /// labelled texts, without gradients, `batchSize` texts at a time.
    public func evaluateClassifier(_ examples: [LabeledText], tokenizer: CharTokenizer,
                                   batchSize: Int = 256) throws -> Evaluation {
        guard !examples.isEmpty else { throw ModelsError.invalidArgument(op: "GPT.evaluateClassifier", detail: "no examples") }
        guard config.classes > 0 else {
            throw ModelsError.invalidArgument(op: "GPT.evaluateClassifier", detail: "this model has no classification head (classes = 0)")
        }
        if let bad = examples.firstIndex(where: { $0.label >= config.classes }) {
            throw ModelsError.invalidArgument(op: "GPT.evaluateClassifier",
                detail: "example \(bad) has label \(examples[bad].label), the model has \(config.classes) classes")
        }
        let tape = Tape()
        tape.isRecording = false
        var correct = 0, totalLoss = 0.0
        var start = 0
        while start < examples.count {
            let chunk = Array(examples[start..<min(start + max(batchSize, 1), examples.count)])
            tape.reset()
            let batch = try TextBatch(chunk, tokenizer: tokenizer, context: config.context)
            let logits = try classify(tape, batch.ids, lengths: batch.lengths)
            let losses = try tape.crossEntropy(logits, targets: IndexTensor(batch.labels.map(Int32.init)), reduction: .none)
            let k = config.classes
            for r in 0..<chunk.count {
                totalLoss += Double(losses.data[r])
                if argMax(logits.data + r * k, count: k) == chunk[r].label { correct += 1 }
            }
            start += chunk.count
        }
        return Evaluation(exactMatch: Double(correct) / Double(examples.count), loss: totalLoss / Double(examples.count),
                          count: examples.count)
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
        for r in 0..<examples.count where argMax(logits.data + r * k, count: k) == examples[r].label { correct += 1 }
        return Evaluation(exactMatch: Double(correct) / Double(examples.count), loss: Double(loss), count: examples.count)
    }
}

/// Index of the largest of `count` values (the first one on ties): a classifier's prediction.
private func argMax(_ values: UnsafeMutablePointer<Float>, count: Int) -> Int {
    var best = 0
    for j in 1..<max(count, 1) where values[j] > values[best] { best = j }
    return best
}

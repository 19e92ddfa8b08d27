import Tensor

extension GPT {
    /// SFT loss: mean cross-entropy over the scored targets (completion tokens and EOS; prompt
    /// and padding masked), `L = −(1/N) Σ log p(targetᵢ | prefix)`.
    public func sftLoss(_ tape: Tape, _ batch: SequenceBatch) throws -> Tensor {
        let logits = try logits(tape, batch.inputs)
        return try tape.crossEntropy(logits, targets: batch.targets, ignoreIndex: SequenceBatch.ignore, reduction: .mean)
    }

    /// Differentiable log-probability of each row's scored targets, `[B]`:
    /// `log p(completion (+EOS) | prompt) = Σⱼ log p(targetⱼ | s₀…ⱼ)`. The building block of
    /// DPO and policy-gradient losses.
    public func sequenceLogProbabilities(_ tape: Tape, _ batch: SequenceBatch) throws -> Tensor {
        let logits = try logits(tape, batch.inputs)
        let nll = try tape.crossEntropy(logits, targets: batch.targets, ignoreIndex: SequenceBatch.ignore, reduction: .none)
        return try tape.neg(tape.sumLastAxis(nll))
    }

    /// Log-probabilities of given completions, batched and without gradients: for each pair,
    /// the per-token log-probabilities of the completion's characters (and of EOS when
    /// `includeEOS`) and their sum.
    ///
    /// ```swift
    /// let scores = try gpt.logProbabilities(of: [PromptCompletion(prompt: "1+1=", completion: "2")],
    ///                                       tokenizer: tok)
    /// scores[0].total      // log p("2", EOS | "<bos>1+1=")
    /// ```
    public func logProbabilities(of pairs: [PromptCompletion], tokenizer: CharTokenizer, includeEOS: Bool = true,
                                 batchSize: Int = 256) throws -> [ScoredCompletion] {
        var out: [ScoredCompletion] = []
        out.reserveCapacity(pairs.count)
        let tape = Tape()
        tape.isRecording = false
        var start = 0
        while start < pairs.count {
            let chunk = Array(pairs[start..<min(start + max(batchSize, 1), pairs.count)])
            let batch = try SequenceBatch(chunk, tokenizer: tokenizer, context: config.context, appendEOS: includeEOS)
            let logits = try logits(tape, batch.inputs)
            let nll = try tape.crossEntropy(logits, targets: batch.targets, ignoreIndex: SequenceBatch.ignore, reduction: .none)
            let t = batch.length
            for b in 0..<batch.batch {
                var tokens: [Float] = []
                for j in 0..<t where batch.targets.values[b * t + j] != SequenceBatch.ignore {
                    tokens.append(-nll.data[b * t + j])
                }
                out.append(ScoredCompletion(tokenLogProbs: tokens))
            }
            start += chunk.count
        }
        return out
    }

    /// Classification loss: mean cross-entropy of `classify` against `labels`.
    public func classificationLoss(_ tape: Tape, _ batch: TextBatch) throws -> Tensor {
        let logits = try classify(tape, batch.ids, lengths: batch.lengths)
        return try tape.crossEntropy(logits, targets: IndexTensor(batch.labels.map(Int32.init)), reduction: .mean)
    }
}

/// Log-probabilities of one completion under a model.
public struct ScoredCompletion: Equatable, Sendable {
    /// `log p(tokenⱼ | everything before it)` for each scored token.
    public var tokenLogProbs: [Float]
    /// Σ of `tokenLogProbs` (accumulated in Double).
    public var total: Float { Float(tokenLogProbs.reduce(0.0) { $0 + Double($1) }) }
}

/// Labelled texts packed for `GPT.classify`: `[BOS] + text`, right-padded.
public struct TextBatch {
    public let ids: IndexTensor
    public let lengths: [Int]
    public let labels: [Int]

    public init(_ examples: [LabeledText], tokenizer: CharTokenizer, context: Int) throws {
        guard !examples.isEmpty else { throw ModelsError.invalidArgument(op: "TextBatch", detail: "no examples") }
        let seqs = try examples.map { try tokenizer.encode($0.text, bos: true) }
        for (i, s) in seqs.enumerated() where s.count > context {
            throw ModelsError.invalidArgument(op: "TextBatch", detail: "example \(i) has \(s.count) tokens, the context is \(context)")
        }
        let t = seqs.map(\.count).max()!
        var ids = [Int32](repeating: CharTokenizer.pad, count: seqs.count * t)
        for (b, s) in seqs.enumerated() { for (j, v) in s.enumerated() { ids[b * t + j] = v } }
        self.ids = try IndexTensor(shape: [seqs.count, t], values: ids)
        self.lengths = seqs.map(\.count)
        self.labels = examples.map(\.label)
    }
}

import Tensor

/// Prompt/completion pairs packed for teacher forcing, right-padded to the longest sequence.
///
/// For each pair the token sequence is `s = [BOS] + prompt + completion (+ [EOS])`; the model
/// reads `inputs = s[0..<n−1]` and is scored on `targets = s[1..<n]`, where the targets that are
/// prompt tokens (and padding) are `ignore` (−1). So the loss covers exactly the completion
/// and its EOS:
///
/// ```text
/// "12+34=" → "46":  inputs  <bos> 1 2 + 3 4 = 4 6
///                   targets   ·   · · · · · 4 6 <eos>      (· = ignore)
/// ```
public struct SequenceBatch {
    /// Target id of positions that are not scored.
    public static let ignore: Int32 = -1

    /// `[B, T]` input ids (PAD after each sequence's end).
    public let inputs: IndexTensor
    /// `[B, T]` next-token targets, `ignore` where not scored.
    public let targets: IndexTensor
    /// Number of real input positions of each row (`n − 1`).
    public let lengths: [Int]
    /// Number of scored positions of each row.
    public let scoredCounts: [Int]

    public var batch: Int { lengths.count }
    public var length: Int { inputs.shape[1] }

    /// Packs `pairs`. Throws naming the pair when a character is outside the vocabulary or the
    /// sequence does not fit the `context`.
    public init(_ pairs: [PromptCompletion], tokenizer: CharTokenizer, context: Int, appendEOS: Bool = true) throws {
        guard !pairs.isEmpty else { throw ModelsError.invalidArgument(op: "SequenceBatch", detail: "no examples") }
        var seqs: [[Int32]] = []
        var promptLengths: [Int] = []
        seqs.reserveCapacity(pairs.count)
        for (i, p) in pairs.enumerated() {
            let prompt = try tokenizer.encode(p.prompt, bos: true)
            let completion = try tokenizer.encode(p.completion, eos: appendEOS)
            guard prompt.count + completion.count - 1 <= context else {
                throw ModelsError.invalidArgument(op: "SequenceBatch",
                    detail: "example \(i) needs \(prompt.count + completion.count - 1) positions, the context is \(context)")
            }
            seqs.append(prompt + completion)
            promptLengths.append(prompt.count)
        }
        let t = seqs.map { $0.count - 1 }.max()!
        guard t >= 1 else { throw ModelsError.invalidArgument(op: "SequenceBatch", detail: "every example is empty") }
        var inputs = [Int32](repeating: CharTokenizer.pad, count: pairs.count * t)
        var targets = [Int32](repeating: Self.ignore, count: pairs.count * t)
        var lengths: [Int] = [], scored: [Int] = []
        for (b, s) in seqs.enumerated() {
            let n = s.count - 1
            for j in 0..<n {
                inputs[b * t + j] = s[j]
                // position j predicts s[j+1]; score it when s[j+1] is past the prompt
                if j + 1 >= promptLengths[b] { targets[b * t + j] = s[j + 1] }
            }
            lengths.append(n)
            scored.append(n + 1 - promptLengths[b])
        }
        self.inputs = try IndexTensor(shape: [pairs.count, t], values: inputs)
        self.targets = try IndexTensor(shape: [pairs.count, t], values: targets)
        self.lengths = lengths
        self.scoredCounts = scored
    }
}

/// Seeded mini-batches over `count` examples: a fresh Fisher–Yates shuffle each epoch, batches
/// taken in order (the last partial batch of an epoch is completed from the next epoch, so
/// every batch has exactly `batchSize` indices). Same seed ⇒ same sequence of batches.
///
/// ```swift
/// var batches = MiniBatches(count: 9000, batchSize: 64, seed: 1)
/// let idx = batches.next()     // 64 example indices
/// ```
public struct MiniBatches {
    public let count: Int
    public let batchSize: Int
    private var rng: RandomGenerator
    private var order: [Int] = []
    private var cursor = 0

    public init(count: Int, batchSize: Int, seed: UInt64) {
        self.count = count
        self.batchSize = batchSize
        self.rng = RandomGenerator(seed: seed)
    }

    public mutating func next() -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(batchSize)
        while out.count < batchSize && count > 0 {
            if cursor == order.count {
                order = Array(0..<count)
                rng.shuffle(&order)
                cursor = 0
            }
            let take = min(batchSize - out.count, order.count - cursor)
            out += order[cursor..<(cursor + take)]
            cursor += take
        }
        return out
    }
}

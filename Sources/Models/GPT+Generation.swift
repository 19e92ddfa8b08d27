import Foundation
import Tensor

/// How `GPT.generate` picks tokens.
public struct SamplingOptions: Sendable {
    /// New tokens per sample at most (a stop token counts as one).
    public var maxNewTokens: Int
    /// Softmax temperature; 0 means greedy (arg-max, ties to the lowest id).
    public var temperature: Float
    /// Sample only among the `topK` most likely tokens (nil: all).
    public var topK: Int?
    /// Independent samples per prompt (`K`).
    public var samplesPerPrompt: Int
    /// Tokens that end a sample (kept in `tokens` and in the log-probabilities, not in `text`).
    public var stopTokens: Set<Int32>
    /// Seeds the draws. Sample `k` of prompt `i` uses its own stream derived from
    /// `(seed, i, k)`, so results do not depend on how prompts are batched.
    public var seed: UInt64
    /// Use the KV cache (true) or recompute the whole prefix every step (a reference path for
    /// tests; same results up to float rounding).
    public var useCache: Bool
    /// Rows (prompts × samples) decoded together at most.
    public var maxBatchRows: Int

    public init(maxNewTokens: Int = 32, temperature: Float = 1, topK: Int? = nil, samplesPerPrompt: Int = 1,
                stopTokens: Set<Int32> = [CharTokenizer.eos], seed: UInt64 = 0, useCache: Bool = true,
                maxBatchRows: Int = 256) {
        self.maxNewTokens = maxNewTokens
        self.temperature = temperature
        self.topK = topK
        self.samplesPerPrompt = samplesPerPrompt
        self.stopTokens = stopTokens
        self.seed = seed
        self.useCache = useCache
        self.maxBatchRows = maxBatchRows
    }
}

/// One generated sample.
public struct GeneratedText: Equatable, Sendable {
    /// Why decoding ended.
    public enum FinishReason: String, Sendable {
        /// A stop token was produced.
        case stop
        /// `maxNewTokens` were produced.
        case length
        /// The sequence filled the model's context.
        case context
    }

    public var promptIndex: Int
    public var sampleIndex: Int
    /// Decoded new characters (special tokens dropped).
    public var text: String
    /// New token ids, the stop token included when there was one.
    public var tokens: [Int32]
    /// `log p(tokenⱼ | prefix)` under the model itself (temperature 1, no top-k), per token.
    public var tokenLogProbs: [Float]
    public var finishReason: FinishReason
    /// Σ of `tokenLogProbs`.
    public var totalLogProb: Float { Float(tokenLogProbs.reduce(0.0) { $0 + Double($1) }) }
}

extension GPT {
    /// Batched sampling with a KV cache: every prompt × `samplesPerPrompt` row advances one
    /// position per step; rows whose prompt is longer keep reading prompt tokens while the
    /// others already generate, so no padding enters any attention. The common prompt prefix
    /// is processed in one chunk.
    ///
    /// Returns samples ordered by prompt, then sample index.
    ///
    /// ```swift
    /// let out = try gpt.generate(["12+34="], tokenizer: tok,
    ///                            options: SamplingOptions(maxNewTokens: 4, temperature: 0))
    /// out[0].text            // "46"
    /// out[0].totalLogProb    // log p("46", EOS | prompt)
    /// ```
    public func generate(_ prompts: [String], tokenizer: CharTokenizer, options: SamplingOptions) throws -> [GeneratedText] {
        guard options.samplesPerPrompt >= 1, options.maxNewTokens >= 0, options.temperature >= 0,
              options.temperature.isFinite, (options.topK ?? 1) >= 1 else {
            throw ModelsError.invalidArgument(op: "GPT.generate",
                detail: "need samplesPerPrompt ≥ 1, maxNewTokens ≥ 0, finite temperature ≥ 0, topK ≥ 1")
        }
        guard tokenizer.vocabularySize <= config.vocabulary else {
            throw ModelsError.invalidArgument(op: "GPT.generate",
                detail: "tokenizer has \(tokenizer.vocabularySize) tokens, the model \(config.vocabulary)")
        }
        var rows: [GenerationRow] = []
        for (i, p) in prompts.enumerated() {
            let ids = try tokenizer.encode(p, bos: true)
            guard ids.count <= config.context else {
                throw ModelsError.invalidArgument(op: "GPT.generate",
                    detail: "prompt \(i) has \(ids.count) tokens with BOS, the context is \(config.context)")
            }
            for k in 0..<options.samplesPerPrompt {
                let s = options.seed ^ (UInt64(i) &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(k) &* 0xC2B2_AE3D_27D4_EB4F)
                rows.append(GenerationRow(prompt: ids, promptIndex: i, sampleIndex: k, rng: RandomGenerator(seed: s)))
            }
        }
        var start = 0
        while start < rows.count {
            let end = min(start + max(options.maxBatchRows, 1), rows.count)
            try decode(&rows[start..<end], options: options)
            start = end
        }
        return rows.map {
            GeneratedText(promptIndex: $0.promptIndex, sampleIndex: $0.sampleIndex, text: tokenizer.decode($0.generated),
                          tokens: $0.generated, tokenLogProbs: $0.logProbs, finishReason: $0.finish ?? .length)
        }
    }

    /// Decodes one batch of rows in lockstep.
    private func decode(_ rows: inout ArraySlice<GenerationRow>, options: SamplingOptions) throws {
        let b = rows.count, v = config.vocabulary, base = rows.startIndex
        guard options.maxNewTokens > 0 else {
            for i in rows.indices { rows[i].finish = .length }
            return
        }
        let minPrompt = rows.map(\.prompt.count).min()!
        let tape = Tape()
        tape.isRecording = false
        let cache = options.useCache ? try KVCache(config: config, batch: b) : nil
        // tokens[r] is every id of row r so far, prompt included (needed by the recompute path).
        var tokens = rows.map { Array($0.prompt.prefix(minPrompt)) }
        func logitsAfter(_ position: Int, feeding count: Int) throws -> Tensor {
            if let cache {
                var ids = [Int32](repeating: 0, count: b * count)
                for r in 0..<b { for j in 0..<count { ids[r * count + j] = tokens[r][position + j] } }
                return try cachedLogits(tape, IndexTensor(shape: [b, count], values: ids), start: position, cache: cache)
            }
            let n = position + count
            let all = try IndexTensor(shape: [b, n], values: tokens.flatMap { $0 })
            let full = try logits(tape, all)                      // [b, n, v]
            let last = try Tensor.zeros([b, v])
            for r in 0..<b { (last.data + r * v).update(from: full.data + (r * n + n - 1) * v, count: v) }
            return last
        }
        var current = try logitsAfter(0, feeding: minPrompt)
        var position = minPrompt
        var logProbs = [Float](repeating: 0, count: v)
        while true {
            var active = false
            for r in 0..<b {
                let i = base + r
                if rows[i].finish != nil { tokens[r].append(CharTokenizer.pad); continue }
                if position < rows[i].prompt.count {
                    tokens[r].append(rows[i].prompt[position])
                    active = true
                    continue
                }
                let row = UnsafeBufferPointer(start: current.data + r * v, count: v)
                Sampling.logSoftmax(row, into: &logProbs)
                let token = Sampling.choose(row, logProbs: logProbs, temperature: options.temperature,
                                            topK: options.topK, rng: &rows[i].rng)
                rows[i].generated.append(token)
                rows[i].logProbs.append(logProbs[Int(token)])
                if options.stopTokens.contains(token) {
                    rows[i].finish = .stop
                } else if rows[i].generated.count >= options.maxNewTokens {
                    rows[i].finish = .length
                } else {
                    active = true
                }
                tokens[r].append(token)
            }
            guard active else { break }
            guard position < config.context else {
                for i in rows.indices where rows[i].finish == nil { rows[i].finish = .context }
                break
            }
            current = try logitsAfter(position, feeding: 1)
            position += 1
        }
    }

    /// Runs positions `start ..< start + S` of ids `[B, S]` through the model, extending `cache`,
    /// and returns the logits of the last of them, `[B, V]`.
    func cachedLogits(_ tape: Tape, _ ids: IndexTensor, start: Int, cache: KVCache) throws -> Tensor {
        let (b, s, c) = (ids.shape[0], ids.shape[1], config.width)
        let tok = try tape.embedding(tokenEmbedding, ids)
        var x = try tape.add(tok, tape.sliceRows(positionEmbedding, start..<(start + s)))
        for (layer, block) in blocks.enumerated() {
            let qkv = try block.attention(tape, block.ln1(tape, x))
            let y = try Tensor.zeros([b, s, c])
            cache.attend(layer: layer, qkv: qkv.data, batch: b, count: s, start: start, heads: config.heads, out: y.data)
            x = try block.attentionProjection(tape, y, residual: x)
            x = try block.down(tape, block.up(tape, block.ln2(tape, x), activation: .gelu), residual: x)
        }
        let last = try Tensor.zeros([b, c])
        for r in 0..<b { (last.data + r * c).update(from: x.data + (r * s + s - 1) * c, count: c) }
        return try tape.linear(finalNorm(tape, last), tokenEmbedding)
    }
}

/// Mutable decoding state of one (prompt, sample) row.
struct GenerationRow {
    let prompt: [Int32]
    let promptIndex: Int
    let sampleIndex: Int
    var rng: RandomGenerator
    var generated: [Int32] = []
    var logProbs: [Float] = []
    var finish: GeneratedText.FinishReason?

    init(prompt: [Int32], promptIndex: Int, sampleIndex: Int, rng: RandomGenerator) {
        self.prompt = prompt
        self.promptIndex = promptIndex
        self.sampleIndex = sampleIndex
        self.rng = rng
    }
}

/// Per-layer keys and values of every position decoded so far: `[B, context, C]` each, heads
/// side by side as in `c_attn`'s output.
final class KVCache {
    let batch: Int, context: Int, width: Int
    private var keys: [[Float]]
    private var values: [[Float]]
    /// Scratch `[B, C]` for the queries of one position and the kernel's output.
    private var query: [Float]
    private var result: [Float]

    init(config: GPTConfig, batch: Int) throws {
        self.batch = batch
        self.context = config.context
        self.width = config.width
        let n = batch * config.context * config.width
        keys = Array(repeating: [Float](repeating: 0, count: n), count: config.layers)
        values = keys
        query = [Float](repeating: 0, count: batch * config.width)
        result = query
    }

    /// Stores the keys/values of positions `start ..< start+count` from `qkv: [B, count, 3C]`,
    /// then computes causal attention of those positions' queries over positions `0 ... own`
    /// into `out: [B, count, C]`: `softmax(q·Kᵀ/√D) · V` per head, with the engine's decode
    /// kernel (one call per new position; queries are gathered to the kernel's `[B, C]` layout).
    func attend(layer: Int, qkv: UnsafePointer<Float>, batch b: Int, count s: Int, start: Int, heads h: Int,
                out: UnsafeMutablePointer<Float>) {
        let c = width, t = context
        keys[layer].withUnsafeMutableBufferPointer { kbuf in
            values[layer].withUnsafeMutableBufferPointer { vbuf in
                let kc = kbuf.baseAddress!, vc = vbuf.baseAddress!
                for r in 0..<b {
                    for i in 0..<s {
                        let src = qkv + (r * s + i) * 3 * c
                        (kc + (r * t + start + i) * c).update(from: src + c, count: c)
                        (vc + (r * t + start + i) * c).update(from: src + 2 * c, count: c)
                    }
                }
                query.withUnsafeMutableBufferPointer { qbuf in
                    result.withUnsafeMutableBufferPointer { obuf in
                        let q = qbuf.baseAddress!, o = obuf.baseAddress!
                        for i in 0..<s {
                            for r in 0..<b { (q + r * c).update(from: qkv + (r * s + i) * 3 * c, count: c) }
                            AttentionKernels.decode(query: q, keys: kc, values: vc, batch: b, length: start + i + 1,
                                                    capacity: t, width: c, heads: h, out: o)
                            for r in 0..<b { (out + (r * s + i) * c).update(from: o + r * c, count: c) }
                        }
                    }
                }
            }
        }
    }
}

/// Token choice from one row of logits.
enum Sampling {
    /// `out[i] = logits[i] − logΣexp(logits)`, in Double for the normaliser.
    static func logSoftmax(_ logits: UnsafeBufferPointer<Float>, into out: inout [Float]) {
        let mx = logits.max() ?? 0
        var s = 0.0
        for x in logits { s += Foundation.exp(Double(x - mx)) }
        let lse = Float(Foundation.log(s)) + mx
        for i in logits.indices { out[i] = logits[i] - lse }
    }

    /// Greedy arg-max when `temperature == 0`; otherwise a draw from `softmax(logits / T)`
    /// restricted to the `topK` largest logits (ties broken towards lower ids).
    static func choose(_ logits: UnsafeBufferPointer<Float>, logProbs: [Float], temperature: Float, topK: Int?,
                       rng: inout RandomGenerator) -> Int32 {
        let v = logits.count
        if temperature == 0 {
            var best = 0
            for i in 1..<v where logits[i] > logits[best] { best = i }
            return Int32(best)
        }
        var candidates = Array(0..<v)
        if let k = topK, k < v {
            candidates.sort { logits[$0] != logits[$1] ? logits[$0] > logits[$1] : $0 < $1 }
            candidates = Array(candidates.prefix(k)).sorted()
        }
        let mx = candidates.map { logits[$0] }.max()!
        let weights = candidates.map { Foundation.exp(Double((logits[$0] - mx) / temperature)) }
        let total = weights.reduce(0, +)
        let u = rng.uniformDouble() * total
        var acc = 0.0
        for (j, w) in weights.enumerated() {
            acc += w
            if u < acc { return Int32(candidates[j]) }
        }
        return Int32(candidates.last!)
    }
}

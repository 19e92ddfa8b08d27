import Tensor

/// A character-level GPT with nanoGPT's architecture:
///
/// ```text
/// x  = wte[ids] + wpe[0..<T]
/// x += c_proj(attn(c_attn(ln_1(x))))          causal multi-head self-attention, per block
/// x += mlp.c_proj(gelu(mlp.c_fc(ln_2(x))))    4× width, exact erf GELU
/// logits = ln_f(x) · wteᵀ                      LM head tied to the token embedding
/// ```
/// Biases on everywhere, LayerNorm eps 1e-5. Initialisation as GPT-2/nanoGPT: weights
/// `N(0, 0.02²)`, residual projections `N(0, (0.02/√(2L))²)`, biases 0, LayerNorm 1/0.
/// Parameter names follow nanoGPT's PyTorch `state_dict()` (see `namedParameters`).
///
/// With `config.classes > 0` it also has a classification head `score: [classes, C]` (+ bias)
/// read at each sequence's last real position (`classify`).
///
/// ```swift
/// let gpt = try GPT(config: GPTConfig(layers: 2, width: 64, heads: 4, context: 16, vocabulary: 17), seed: 0)
/// let tape = Tape()
/// let logits = try gpt.logits(tape, ids)            // ids: [B, T] → [B, T, V]
/// ```
public final class GPT {
    /// One pre-LayerNorm transformer block.
    public final class Block {
        public let ln1: LayerNorm
        public let attention: Linear      // c_attn: [3C, C]
        public let attentionProjection: Linear   // attn.c_proj: [C, C]
        public let ln2: LayerNorm
        public let up: Linear             // mlp.c_fc: [4C, C]
        public let down: Linear           // mlp.c_proj: [C, 4C]

        init(_ config: GPTConfig, rng: inout RandomGenerator) throws {
            let c = config.width
            let projStd = 0.02 / Float(2 * config.layers).squareRoot()
            ln1 = try LayerNorm(width: c)
            attention = try Linear(inputs: c, outputs: 3 * c, std: 0.02, rng: &rng)
            attentionProjection = try Linear(inputs: c, outputs: c, std: projStd, rng: &rng)
            ln2 = try LayerNorm(width: c)
            up = try Linear(inputs: c, outputs: 4 * c, std: 0.02, rng: &rng)
            down = try Linear(inputs: 4 * c, outputs: c, std: projStd, rng: &rng)
        }

        /// `x + attn(ln_1 x)`, then `+ mlp(ln_2 x)`.
        func callAsFunction(_ tape: Tape, _ x: Tensor, heads: Int) throws -> Tensor {
            let qkv = try attention(tape, ln1(tape, x))
            let y = try tape.causalSelfAttention(qkv, heads: heads)
            let x1 = try attentionProjection(tape, y, residual: x)
            let h = try up(tape, ln2(tape, x1), activation: .gelu)
            return try down(tape, h, residual: x1)
        }
    }

    public let config: GPTConfig
    /// Token embedding `[V, C]`, also the LM head (`lm_head.weight` is this tensor).
    public let tokenEmbedding: Tensor
    /// Position embedding `[T, C]`.
    public let positionEmbedding: Tensor
    public let blocks: [Block]
    public let finalNorm: LayerNorm
    /// Classification head `[classes, C]` (+ bias), present when `config.classes > 0`.
    public let score: Linear?

    public init(config: GPTConfig, seed: UInt64) throws {
        try config.validate()
        self.config = config
        var rng = RandomGenerator(seed: seed)
        tokenEmbedding = try Tensor.randn([config.vocabulary, config.width], std: 0.02, using: &rng, requiresGrad: true)
        positionEmbedding = try Tensor.randn([config.context, config.width], std: 0.02, using: &rng, requiresGrad: true)
        var blocks: [Block] = []
        for _ in 0..<config.layers { blocks.append(try Block(config, rng: &rng)) }
        self.blocks = blocks
        finalNorm = try LayerNorm(width: config.width)
        score = config.classes > 0 ? try Linear(inputs: config.width, outputs: config.classes, std: 0.02, rng: &rng) : nil
        for p in namedParameters { p.tensor.name = p.name }
    }

    /// Every tensor under its nanoGPT `state_dict()` name, in that order. The tied LM head is
    /// listed once, as `transformer.wte.weight` (checkpoints also write `lm_head.weight`).
    public var namedParameters: [NamedParameter] {
        var out = [NamedParameter("transformer.wte.weight", tokenEmbedding),
                   NamedParameter("transformer.wpe.weight", positionEmbedding)]
        for (i, b) in blocks.enumerated() {
            let p = "transformer.h.\(i)."
            out += [NamedParameter(p + "ln_1.weight", b.ln1.weight), NamedParameter(p + "ln_1.bias", b.ln1.bias),
                    NamedParameter(p + "attn.c_attn.weight", b.attention.weight), NamedParameter(p + "attn.c_attn.bias", b.attention.bias!),
                    NamedParameter(p + "attn.c_proj.weight", b.attentionProjection.weight),
                    NamedParameter(p + "attn.c_proj.bias", b.attentionProjection.bias!),
                    NamedParameter(p + "ln_2.weight", b.ln2.weight), NamedParameter(p + "ln_2.bias", b.ln2.bias),
                    NamedParameter(p + "mlp.c_fc.weight", b.up.weight), NamedParameter(p + "mlp.c_fc.bias", b.up.bias!),
                    NamedParameter(p + "mlp.c_proj.weight", b.down.weight), NamedParameter(p + "mlp.c_proj.bias", b.down.bias!)]
        }
        out += [NamedParameter("transformer.ln_f.weight", finalNorm.weight), NamedParameter("transformer.ln_f.bias", finalNorm.bias)]
        if let score { out += [NamedParameter("score.weight", score.weight), NamedParameter("score.bias", score.bias!)] }
        return out
    }

    /// The trainable tensors (each once).
    public var parameters: [Tensor] { namedParameters.map(\.tensor) }

    /// Tensors that nanoGPT exempts from weight decay: biases and LayerNorm weights (rank 1).
    public var noDecayParameters: [Tensor] { parameters.filter { $0.rank < 2 } }

    /// Number of scalar parameters (tied head counted once).
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

    /// Final hidden states `ln_f(x)`: ids `[B, T]` (T ≤ context) → `[B, T, C]`.
    public func hidden(_ tape: Tape, _ ids: IndexTensor) throws -> Tensor {
        guard ids.shape.count == 2, ids.shape[1] >= 1, ids.shape[1] <= config.context else {
            throw ModelsError.invalidArgument(op: "GPT.forward",
                                              detail: "ids must be [batch, length] with 1 ≤ length ≤ context \(config.context), got \(ids.shape)")
        }
        let t = ids.shape[1]
        let tok = try tape.embedding(tokenEmbedding, ids)
        let pos = t == config.context ? positionEmbedding : try tape.sliceRows(positionEmbedding, 0..<t)
        var x = try tape.add(tok, pos)
        for b in blocks { x = try b(tape, x, heads: config.heads) }
        return try finalNorm(tape, x)
    }

    /// Next-token logits `[B, T, V]` for ids `[B, T]`.
    public func logits(_ tape: Tape, _ ids: IndexTensor) throws -> Tensor {
        try tape.linear(hidden(tape, ids), tokenEmbedding)
    }

    /// Class logits `[B, classes]` from the hidden state at position `lengths[b] − 1` of each
    /// sequence (its last real token; padding after it is never seen thanks to causality).
    public func classify(_ tape: Tape, _ ids: IndexTensor, lengths: [Int]) throws -> Tensor {
        guard let score else {
            throw ModelsError.invalidArgument(op: "GPT.classify", detail: "this model has no classification head (classes = 0)")
        }
        let (b, t) = (ids.shape[0], ids.shape[1])
        guard lengths.count == b, lengths.allSatisfy({ $0 >= 1 && $0 <= t }) else {
            throw ModelsError.invalidArgument(op: "GPT.classify", detail: "need one length in 1...\(t) per sequence, got \(lengths)")
        }
        let h = try hidden(tape, ids)
        let flat = try tape.reshape(h, [b * t, config.width])
        let last = try tape.selectRows(flat, lengths.enumerated().map { $0.offset * t + $0.element - 1 })
        return try score(tape, last)
    }
}

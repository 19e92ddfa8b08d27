// The differentiable ops. Each validates its operands (throwing `TensorError` with the op's
// name and the shapes), runs the forward kernel, and records what its gradient rule needs.

extension Tape {
    static func nonEmpty(_ t: Tensor, _ op: String) throws {
        if t.count == 0 { throw TensorError.emptyTensor(op: op, shape: t.shape) }
    }

    // MARK: Linear algebra

    /// A fully connected layer, PyTorch layout: `y = act(x · Wᵀ + b) (+ residual)`.
    ///
    /// - Parameters:
    ///   - x: `[..., in]` (any leading dimensions).
    ///   - weight: `[out, in]` (as `nn.Linear.weight`, so checkpoints map 1:1).
    ///   - bias: `[out]` or nil; added in the multiply's epilogue.
    ///   - activation: `.gelu` (exact erf form) or `.relu` applied after the bias.
    ///   - residual: a tensor of the output's shape added last (a fused residual connection).
    /// - Returns: `[..., out]`.
    ///
    /// ```swift
    /// let h = try tape.linear(x, fcW, fcB, activation: .gelu)       // MLP up-projection
    /// let x2 = try tape.linear(h, projW, projB, residual: x)        // x + proj(h)
    /// ```
    public func linear(_ x: Tensor, _ weight: Tensor, _ bias: Tensor? = nil, activation: Activation = .none,
                       residual: Tensor? = nil) throws -> Tensor {
        let op = "linear"
        guard weight.rank == 2, x.rank >= 1, x.lastDimension == weight.shape[1] else {
            throw TensorError.shapeMismatch(op: op, shapes: [x.shape, weight.shape],
                                            detail: "x must be [..., in] and weight [out, in]")
        }
        try Tape.nonEmpty(x, op); try Tape.nonEmpty(weight, op)
        let (outDim, inDim) = (weight.shape[0], weight.shape[1])
        if let bias, bias.shape != [outDim] {
            throw TensorError.shapeMismatch(op: op, shapes: [weight.shape, bias.shape], detail: "bias must be [\(outDim)]")
        }
        var outShape = x.shape
        outShape[outShape.count - 1] = outDim
        if let residual, residual.shape != outShape {
            throw TensorError.shapeMismatch(op: op, shapes: [outShape, residual.shape], detail: "residual must match the output")
        }
        let rows = x.rows
        let out = Tensor(uninitialized: outShape)
        let recording = shouldRecord(x, weight, bias, residual)
        var pre: Tensor? = nil, cdf: Tensor? = nil
        if activation == .none {
            if let residual { out.data.update(from: residual.data, count: out.count) }
            Matmul.gemm(m: rows, n: outDim, k: inDim, a: x.data, lda: inDim, b: weight.data, ldb: inDim,
                        transposeB: true, c: out.data, ldc: outDim, accumulate: residual != nil, bias: bias?.data)
        } else {
            let p = Tensor(uninitialized: outShape)
            Matmul.gemm(m: rows, n: outDim, k: inDim, a: x.data, lda: inDim, b: weight.data, ldb: inDim,
                        transposeB: true, c: p.data, ldc: outDim, bias: bias?.data)
            if activation == .gelu && recording {
                // Keep Φ(pre) for backward: it then needs one exp per element, not erfc + exp.
                let phi = Tensor(uninitialized: outShape)
                ElementwiseKernels.gelu(p.data, out.data, cdf: phi.data, count: out.count)
                cdf = phi
            } else if activation == .gelu {
                ElementwiseKernels.gelu(p.data, out.data, count: out.count)
            } else {
                ElementwiseKernels.relu(p.data, out.data, count: out.count)
            }
            if let residual { ElementwiseKernels.add(out.data, residual.data, out.data, count: out.count) }
            pre = p
        }
        if recording {
            var r = Record(op: .linear, output: out, a: x, b: weight, c: bias)
            r.saved0 = pre
            r.saved1 = residual
            r.saved2 = cdf
            r.i0 = activation == .gelu ? 1 : (activation == .relu ? 2 : 0)
            push(r)
        }
        return out
    }

    /// Matrix product of 2-D tensors: `op(a) · op(b)` with `op` an optional transpose (handled
    /// by the multiply's packing, never materialized).
    public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) throws -> Tensor {
        try Tape.nonEmpty(a, "matmul"); try Tape.nonEmpty(b, "matmul")
        let out = try Matmul.multiply(a, b, transposeA: transposeA, transposeB: transposeB)
        if shouldRecord(a, b) {
            var r = Record(op: .matmul, output: out, a: a, b: b)
            r.flag0 = transposeA; r.flag1 = transposeB
            push(r)
        }
        return out
    }

    /// Batched product of 3-D tensors `[batch, m, k] · [batch, k, n] → [batch, m, n]` (with
    /// optional per-matrix transposes, as `matmul`).
    public func batchedMatmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) throws -> Tensor {
        let op = "batchedMatmul"
        guard a.rank == 3, b.rank == 3, a.shape[0] == b.shape[0] else {
            throw TensorError.shapeMismatch(op: op, shapes: [a.shape, b.shape], detail: "need [batch, ·, ·] operands with equal batch")
        }
        try Tape.nonEmpty(a, op); try Tape.nonEmpty(b, op)
        let (m, k) = transposeA ? (a.shape[2], a.shape[1]) : (a.shape[1], a.shape[2])
        let (k2, n) = transposeB ? (b.shape[2], b.shape[1]) : (b.shape[1], b.shape[2])
        guard k == k2 else {
            throw TensorError.shapeMismatch(op: op, shapes: [a.shape, b.shape], detail: "inner dimensions \(k) and \(k2) differ")
        }
        let batch = a.shape[0]
        let out = Tensor(uninitialized: [batch, m, n])
        Matmul.gemmBatched(batch: batch, m: m, n: n, k: k, a: a.data, lda: a.shape[2], strideA: a.shape[1] * a.shape[2],
                           transposeA: transposeA, b: b.data, ldb: b.shape[2], strideB: b.shape[1] * b.shape[2],
                           transposeB: transposeB, c: out.data, ldc: n, strideC: m * n)
        if shouldRecord(a, b) {
            var r = Record(op: .batchedMatmul, output: out, a: a, b: b)
            r.flag0 = transposeA; r.flag1 = transposeB
            push(r)
        }
        return out
    }

    // MARK: Element-wise binary ops (with trailing broadcast)

    /// Shapes are compatible when equal or when one is a suffix of the other (it is then
    /// repeated over the leading dimensions, e.g. `[B, T, C] + [T, C]`, or a scalar `[]`).
    func broadcastPlan(_ a: Tensor, _ b: Tensor, _ op: String) throws -> (big: Tensor, small: Tensor, aIsBig: Bool) {
        if a.shape == b.shape { return (a, b, true) }
        if b.shape.count <= a.shape.count, Array(a.shape.suffix(b.shape.count)) == b.shape { return (a, b, true) }
        if a.shape.count <= b.shape.count, Array(b.shape.suffix(a.shape.count)) == a.shape { return (b, a, false) }
        throw TensorError.shapeMismatch(op: op, shapes: [a.shape, b.shape],
                                        detail: "shapes must be equal or one a trailing suffix of the other")
    }

    func binary(_ op: Op, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        let (big, small, _) = try broadcastPlan(a, b, op.rawValue)
        let out = Tensor(uninitialized: big.shape)
        let inner = small.count
        if inner == big.count {
            switch op {
            case .add: ElementwiseKernels.add(a.data, b.data, out.data, count: out.count)
            case .sub: ElementwiseKernels.sub(a.data, b.data, out.data, count: out.count)
            default: ElementwiseKernels.mul(a.data, b.data, out.data, count: out.count)
            }
        } else if inner > 0 {
            let outer = big.count / inner
            let aBig = a === big
            for o in 0..<outer {
                let bp = big.data + o * inner, op_ = out.data + o * inner
                switch op {
                case .add: ElementwiseKernels.add(bp, small.data, op_, count: inner)
                case .sub:
                    if aBig { ElementwiseKernels.sub(bp, small.data, op_, count: inner) }
                    else { ElementwiseKernels.sub(small.data, bp, op_, count: inner) }
                default: ElementwiseKernels.mul(bp, small.data, op_, count: inner)
                }
            }
        }
        if shouldRecord(a, b) { push(Record(op: op, output: out, a: a, b: b)) }
        return out
    }

    /// `a + b` (equal shapes, or `b`/`a` broadcast over leading dimensions).
    public func add(_ a: Tensor, _ b: Tensor) throws -> Tensor { try binary(.add, a, b) }

    /// `a − b` (broadcast as `add`).
    public func sub(_ a: Tensor, _ b: Tensor) throws -> Tensor { try binary(.sub, a, b) }

    /// `a ⊙ b`, element-wise (broadcast as `add`).
    public func mul(_ a: Tensor, _ b: Tensor) throws -> Tensor { try binary(.mul, a, b) }

    /// `s · x`.
    public func scale(_ x: Tensor, _ s: Float) throws -> Tensor {
        let out = Tensor(uninitialized: x.shape)
        ElementwiseKernels.affine(x.data, out.data, count: x.count, alpha: s)
        if shouldRecord(x) { var r = Record(op: .scale, output: out, a: x); r.f0 = s; push(r) }
        return out
    }

    /// `x + c`.
    public func addScalar(_ x: Tensor, _ c: Float) throws -> Tensor {
        let out = Tensor(uninitialized: x.shape)
        ElementwiseKernels.affine(x.data, out.data, count: x.count, alpha: 1, beta: c)
        if shouldRecord(x) { push(Record(op: .addScalar, output: out, a: x)) }
        return out
    }

    /// `−x`.
    public func neg(_ x: Tensor) throws -> Tensor { try scale(x, -1) }

    // MARK: Element-wise unary ops

    func unary(_ op: Op, _ x: Tensor, _ kernel: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void) -> Tensor {
        let out = Tensor(uninitialized: x.shape)
        kernel(x.data, out.data, x.count)
        if shouldRecord(x) { push(Record(op: op, output: out, a: x)) }
        return out
    }

    /// Exact GELU `x Φ(x)` (PyTorch `F.gelu` default, not the tanh approximation).
    public func gelu(_ x: Tensor) throws -> Tensor { unary(.gelu, x) { ElementwiseKernels.gelu($0, $1, count: $2) } }
    /// `max(x, 0)`.
    public func relu(_ x: Tensor) throws -> Tensor { unary(.relu, x) { ElementwiseKernels.relu($0, $1, count: $2) } }
    /// `1 / (1 + e^{−x})`.
    public func sigmoid(_ x: Tensor) throws -> Tensor { unary(.sigmoid, x) { ElementwiseKernels.sigmoid($0, $1, count: $2) } }
    /// `log σ(x)`, stable for large |x| (DPO: `−logSigmoid(β·margin)`).
    public func logSigmoid(_ x: Tensor) throws -> Tensor { unary(.logSigmoid, x) { ElementwiseKernels.logSigmoid($0, $1, count: $2) } }
    /// `tanh(x)`.
    public func tanh(_ x: Tensor) throws -> Tensor { unary(.tanh, x) { ElementwiseKernels.tanh($0, $1, count: $2) } }
    /// `e^x`.
    public func exp(_ x: Tensor) throws -> Tensor { unary(.exp, x) { ElementwiseKernels.exp($0, $1, count: $2) } }
    /// Natural logarithm.
    public func log(_ x: Tensor) throws -> Tensor { unary(.log, x) { ElementwiseKernels.log($0, $1, count: $2) } }

    // MARK: Reductions

    /// Σ of all elements → a scalar (shape `[]`).
    public func sum(_ x: Tensor) throws -> Tensor {
        try Tape.nonEmpty(x, "sum")
        let out = Tensor(scalar: Float(ReductionKernels.sum(x.data, count: x.count)))
        if shouldRecord(x) { push(Record(op: .sum, output: out, a: x)) }
        return out
    }

    /// Mean of all elements → a scalar.
    public func mean(_ x: Tensor) throws -> Tensor {
        try Tape.nonEmpty(x, "mean")
        let out = Tensor(scalar: Float(ReductionKernels.sum(x.data, count: x.count) / Double(x.count)))
        if shouldRecord(x) { push(Record(op: .mean, output: out, a: x)) }
        return out
    }

    /// Σ over the last dimension: `[..., n] → [...]` (e.g. per-sequence log-probabilities).
    /// With `mean: true`, divides by `n`.
    public func sumLastAxis(_ x: Tensor, mean: Bool = false) throws -> Tensor {
        guard x.rank >= 1 else { throw TensorError.invalidArgument(op: "sumLastAxis", detail: "needs rank ≥ 1, got a scalar") }
        try Tape.nonEmpty(x, "sumLastAxis")
        let out = Tensor(uninitialized: Array(x.shape.dropLast()))
        ReductionKernels.sumRows(x.data, rows: x.rows, cols: x.lastDimension, out: out.data)
        let s: Float = mean ? 1 / Float(x.lastDimension) : 1
        if mean { for i in 0..<out.count { out.data[i] *= s } }
        if shouldRecord(x) { var r = Record(op: .sumLastAxis, output: out, a: x); r.f0 = s; push(r) }
        return out
    }

    // MARK: Normalization and probabilities

    /// Softmax over the last dimension.
    public func softmax(_ x: Tensor) throws -> Tensor {
        try Tape.nonEmpty(x, "softmax")
        let out = Tensor(uninitialized: x.shape)
        SoftmaxKernels.softmax(x.data, out.data, rows: x.rows, cols: x.lastDimension)
        if shouldRecord(x) { push(Record(op: .softmax, output: out, a: x)) }
        return out
    }

    /// Log-softmax over the last dimension.
    public func logSoftmax(_ x: Tensor) throws -> Tensor {
        try Tape.nonEmpty(x, "logSoftmax")
        let out = Tensor(uninitialized: x.shape)
        SoftmaxKernels.logSoftmax(x.data, out.data, rows: x.rows, cols: x.lastDimension)
        if shouldRecord(x) { push(Record(op: .logSoftmax, output: out, a: x)) }
        return out
    }

    /// Layer norm over the last dimension (`nn.LayerNorm(C)`): `(x − μ)/√(σ² + eps) · w + b`.
    /// `weight` and `bias` are `[C]`; `bias` may be nil.
    public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor?, eps: Float = 1e-5) throws -> Tensor {
        let op = "layerNorm"
        let c = x.lastDimension
        guard x.rank >= 1, weight.shape == [c], bias == nil || bias!.shape == [c] else {
            throw TensorError.shapeMismatch(op: op, shapes: [x.shape, weight.shape, bias?.shape ?? []],
                                            detail: "weight and bias must be [\(c)]")
        }
        try Tape.nonEmpty(x, op)
        let rows = x.rows
        let out = Tensor(uninitialized: x.shape)
        let stats = Tensor(uninitialized: [2, rows])
        LayerNormKernels.forward(x.data, weight: weight.data, bias: bias?.data, rows: rows, cols: c, eps: eps,
                                 out: out.data, mean: stats.data, rstd: stats.data + rows)
        if shouldRecord(x, weight, bias) {
            var r = Record(op: .layerNorm, output: out, a: x, b: weight, c: bias)
            r.saved0 = stats
            push(r)
        }
        return out
    }

    // MARK: Lookup and attention

    /// Embedding lookup: `table[ids]`, `[V, C]` × ids of shape S → `S + [C]`.
    /// Throws `indexOutOfRange` for an id outside `0..<V`.
    public func embedding(_ table: Tensor, _ ids: IndexTensor) throws -> Tensor {
        guard table.rank == 2 else {
            throw TensorError.shapeMismatch(op: "embedding", shapes: [table.shape, ids.shape], detail: "table must be [vocab, width]")
        }
        guard ids.count > 0 else { throw TensorError.emptyTensor(op: "embedding", shape: ids.shape) }
        try ids.check(below: table.shape[0], op: "embedding")
        let width = table.shape[1]
        let out = Tensor(uninitialized: ids.shape + [width])
        ids.values.withUnsafeBufferPointer {
            EmbeddingKernels.forward(table: table.data, width: width, ids: $0.baseAddress!, count: ids.count, out: out.data)
        }
        if shouldRecord(table) { var r = Record(op: .embedding, output: out, a: table); r.ids = ids; push(r) }
        return out
    }

    /// Causal multi-head self-attention on a fused projection `qkv: [B, T, 3C]` (query, key and
    /// value side by side, as nanoGPT's `c_attn` output) → `[B, T, C]`, heads concatenated.
    /// Scores are scaled by `1/√(C/heads)`; position `i` attends to positions `≤ i`.
    public func causalSelfAttention(_ qkv: Tensor, heads: Int) throws -> Tensor {
        let op = "causalSelfAttention"
        guard qkv.rank == 3, qkv.shape[2] % 3 == 0 else {
            throw TensorError.shapeMismatch(op: op, shapes: [qkv.shape], detail: "qkv must be [B, T, 3C]")
        }
        let (b, t, c) = (qkv.shape[0], qkv.shape[1], qkv.shape[2] / 3)
        guard heads > 0, c % heads == 0 else {
            throw TensorError.invalidArgument(op: op, detail: "width \(c) is not divisible by heads \(heads)")
        }
        try Tape.nonEmpty(qkv, op)
        let out = Tensor(uninitialized: [b, t, c])
        let probs = Tensor(uninitialized: [b, heads, t, t])
        AttentionKernels.forward(qkv: qkv.data, batch: b, length: t, width: c, heads: heads, out: out.data, probs: probs.data)
        if shouldRecord(qkv) {
            var r = Record(op: .attention, output: out, a: qkv)
            r.saved0 = probs
            r.i0 = heads
            push(r)
        }
        return out
    }

    // MARK: Losses and selection

    /// Softmax cross-entropy of `logits: [..., V]` against `targets` (one id per row, same
    /// element count as the logits' rows).
    ///
    /// - Parameters:
    ///   - ignoreIndex: rows whose target equals it contribute 0 and are not counted (the
    ///     prompt mask of SFT).
    ///   - weights: per-row weights `wᵢ` (same count as targets), e.g. critic confidences;
    ///     they receive a gradient too if they require one.
    ///   - reduction: see `Reduction`; `.none` returns per-row losses shaped like `targets`.
    /// - Throws: shape errors, `indexOutOfRange` for a target outside `0..<V`, and
    ///   `invalidArgument` when every row is ignored under `.mean`/`.weightedMean`.
    public func crossEntropy(_ logits: Tensor, targets: IndexTensor, ignoreIndex: Int32? = nil,
                             weights: Tensor? = nil, reduction: Reduction = .mean) throws -> Tensor {
        let op = "crossEntropy"
        try Tape.nonEmpty(logits, op)
        let rows = logits.rows, classes = logits.lastDimension
        guard targets.count == rows else {
            throw TensorError.shapeMismatch(op: op, shapes: [logits.shape, targets.shape],
                                            detail: "need one target per row (\(rows) rows)")
        }
        if let weights, weights.count != rows {
            throw TensorError.shapeMismatch(op: op, shapes: [targets.shape, weights.shape], detail: "need one weight per row")
        }
        try targets.check(below: classes, ignoring: ignoreIndex, op: op)
        let losses = Tensor(uninitialized: targets.shape)
        let lse = Tensor(uninitialized: [rows])
        targets.values.withUnsafeBufferPointer {
            CrossEntropyKernels.forward(logits: logits.data, rows: rows, classes: classes, targets: $0.baseAddress!,
                                        ignoreIndex: ignoreIndex, weights: weights?.data, losses: losses.data, lse: lse.data)
        }
        var denom: Float = 1
        switch reduction {
        case .mean:
            let valid = ignoreIndex.map { ig in targets.values.reduce(0) { $0 + ($1 == ig ? 0 : 1) } } ?? rows
            guard valid > 0 else { throw TensorError.invalidArgument(op: op, detail: "every target is ignored (\(rows) rows)") }
            denom = Float(valid)
        case .weightedMean:
            var s = 0.0
            for i in 0..<rows where targets.values[i] != ignoreIndex { s += Double(weights?.data[i] ?? 1) }
            guard s != 0 else { throw TensorError.invalidArgument(op: op, detail: "total weight of non-ignored rows is 0") }
            denom = Float(s)
        case .sum, .none: denom = 1
        }
        let out: Tensor
        if reduction == .none {
            out = losses
        } else {
            out = Tensor(scalar: Float(ReductionKernels.sum(losses.data, count: rows) / Double(denom)))
        }
        if shouldRecord(logits, weights) {
            var r = Record(op: .crossEntropy, output: out, a: logits, b: weights)
            r.saved0 = lse
            r.ids = targets
            r.f0 = 1 / denom
            r.flag0 = reduction == .none
            r.i1 = reduction == .weightedMean ? 1 : 0
            r.i0 = ignoreIndex.map { Int($0) } ?? Int.min
            push(r)
        }
        return out
    }

    /// Selects one value per row: `out[r] = x[r, indices[r]]` for `x: [..., n]` → shape of
    /// `indices` (which must have one entry per row). With `logSoftmax` this gives the
    /// log-probability of chosen tokens (policy gradient, DPO).
    public func gather(_ x: Tensor, _ indices: IndexTensor) throws -> Tensor {
        let op = "gather"
        try Tape.nonEmpty(x, op)
        guard indices.count == x.rows else {
            throw TensorError.shapeMismatch(op: op, shapes: [x.shape, indices.shape], detail: "need one index per row (\(x.rows))")
        }
        let n = x.lastDimension
        try indices.check(below: n, op: op)
        let out = Tensor(uninitialized: indices.shape)
        for r in 0..<x.rows { out.data[r] = x.data[r * n + Int(indices.values[r])] }
        if shouldRecord(x) { var rec = Record(op: .gather, output: out, a: x); rec.ids = indices; push(rec) }
        return out
    }

    // MARK: Shape

    /// A reshaped view (no copy); one dimension may be -1.
    public func reshape(_ x: Tensor, _ shape: [Int]) throws -> Tensor {
        let s = try Tensor.resolve(shape, count: x.count, op: "reshape", from: x.shape)
        let out = Tensor(view: x, shape: s)
        out.requiresGrad = false
        if shouldRecord(x) { push(Record(op: .reshape, output: out, a: x)) }
        return out
    }

    /// Rows `range` of the first dimension (a copy): `x[range, ...]`.
    public func sliceRows(_ x: Tensor, _ range: Range<Int>) throws -> Tensor {
        guard x.rank >= 1, range.lowerBound >= 0, range.upperBound <= x.shape[0], !range.isEmpty else {
            throw TensorError.invalidArgument(op: "sliceRows", detail: "range \(range) outside 0..<\(x.shape.first ?? 0) of \(x.shape)")
        }
        let inner = x.count / x.shape[0]
        var shape = x.shape
        shape[0] = range.count
        let out = Tensor(uninitialized: shape)
        out.data.update(from: x.data + range.lowerBound * inner, count: out.count)
        if shouldRecord(x) { var r = Record(op: .sliceRows, output: out, a: x); r.i0 = range.lowerBound; push(r) }
        return out
    }

    /// Concatenation along the first dimension (other dimensions must agree).
    public func concatRows(_ parts: [Tensor]) throws -> Tensor {
        guard let first = parts.first, first.rank >= 1 else {
            throw TensorError.invalidArgument(op: "concatRows", detail: "needs at least one tensor of rank ≥ 1")
        }
        let tail = Array(first.shape.dropFirst())
        for p in parts where p.rank != first.rank || Array(p.shape.dropFirst()) != tail {
            throw TensorError.shapeMismatch(op: "concatRows", shapes: parts.map(\.shape), detail: "trailing dimensions differ")
        }
        let rows = parts.reduce(0) { $0 + $1.shape[0] }
        let out = Tensor(uninitialized: [rows] + tail)
        var o = 0
        for p in parts { (out.data + o).update(from: p.data, count: p.count); o += p.count }
        if isRecording, parts.contains(where: { $0.requiresGrad }) {
            var r = Record(op: .concatRows, output: out)
            r.inputs = parts
            push(r)
        }
        return out
    }

    /// Throws `nonFinite` naming `op` if any element of `x` is NaN or infinite.
    public func checkFinite(_ x: Tensor, op: String) throws {
        for i in 0..<x.count where !x.data[i].isFinite {
            throw TensorError.nonFinite(op: op, detail: "element \(i) of \(x.shape) is \(x.data[i])")
        }
    }
}

// Every gradient rule of the tape, in one place. Each rule reads the output gradient `g` and
// *adds* into the gradients of the inputs that require one (`gradient(_:)` returns nil for the
// others, so frozen weights and constant inputs cost nothing). An op without a rule throws
// `TensorError.missingGradientRule` rather than silently producing zeros.

extension Tape {
    /// `Z (+)= op(X) · op(Y)` on 2-D tensors, with accumulation into `z`.
    private func mm(_ x: Tensor, _ tx: Bool, _ y: Tensor, _ ty: Bool, into z: Tensor) throws {
        try Matmul.multiply(x, y, transposeA: tx, transposeB: ty, into: z, accumulate: true)
    }

    /// The batched version on `[batch, r, c]` tensors.
    private func bmm(_ x: Tensor, _ tx: Bool, _ y: Tensor, _ ty: Bool, into z: Tensor) {
        let batch = x.shape[0]
        let (m, k) = tx ? (x.shape[2], x.shape[1]) : (x.shape[1], x.shape[2])
        let n = ty ? y.shape[1] : y.shape[2]
        Matmul.gemmBatched(batch: batch, m: m, n: n, k: k, a: x.data, lda: x.shape[2], strideA: x.shape[1] * x.shape[2],
                           transposeA: tx, b: y.data, ldb: y.shape[2], strideB: y.shape[1] * y.shape[2], transposeB: ty,
                           c: z.data, ldc: z.shape[2], strideC: z.shape[1] * z.shape[2], accumulate: true)
    }

    /// Adds `alpha · Σ_outer src[o, :]` into `dst` (`src` holds `outer` copies of `dst`'s size):
    /// the gradient of a broadcast operand.
    private func accumulateReduced(_ src: UnsafePointer<Float>, outer: Int, inner: Int,
                                   into dst: UnsafeMutablePointer<Float>, alpha: Float) {
        for o in 0..<outer { ElementwiseKernels.accumulate(src + o * inner, into: dst, count: inner, alpha: alpha) }
    }

    func applyRule(_ r: Record, _ g: Tensor) throws {
        switch r.op {
        case .linear:
            let x = r.a!, w = r.b!
            let (outDim, inDim) = (w.shape[0], w.shape[1])
            let rows = x.rows
            var gp = g
            if r.i0 != 0, let pre = r.saved0 {
                gp = Tensor(uninitialized: g.shape)
                if r.i0 == 1 {
                    // A recorded GELU linear always saved Φ(pre) (`saved2`).
                    ElementwiseKernels.geluBackward(pre.data, cdf: r.saved2!.data, g.data, gp.data, count: g.count, accumulate: false)
                } else {
                    ElementwiseKernels.reluBackward(pre.data, g.data, gp.data, count: g.count, accumulate: false)
                }
            }
            if let (dx, add) = gradientForWrite(x) {
                Matmul.gemm(m: rows, n: inDim, k: outDim, a: gp.data, lda: outDim, b: w.data, ldb: inDim,
                            c: dx.data, ldc: inDim, accumulate: add)
            }
            if let dw = gradient(w) {
                Matmul.gemm(m: outDim, n: inDim, k: rows, a: gp.data, lda: outDim, transposeA: true,
                            b: x.data, ldb: inDim, c: dw.data, ldc: inDim, accumulate: true)
            }
            if let db = gradient(r.c) {
                ReductionKernels.sumColumns(gp.data, rows: rows, cols: outDim, out: db.data, accumulate: true)
            }
            if let res = r.saved1, res.requiresGrad {
                if let dr = res.grad {
                    ElementwiseKernels.accumulate(g.data, into: dr.data, count: g.count)
                } else {
                    // The residual's gradient is g itself: hand the buffer over instead of
                    // copying it. Nothing reads g after this rule (`backward` drops a recorded
                    // output's gradient next), so later accumulation into it is safe.
                    res.grad = g
                }
            }

        case .matmul:
            let a = r.a!, b = r.b!
            let ta = r.flag0, tb = r.flag1
            if let da = gradient(a) {
                switch (ta, tb) {
                case (false, false): try mm(g, false, b, true, into: da)
                case (true, false): try mm(b, false, g, true, into: da)
                case (false, true): try mm(g, false, b, false, into: da)
                case (true, true): try mm(b, true, g, true, into: da)
                }
            }
            if let db = gradient(b) {
                switch (ta, tb) {
                case (false, false): try mm(a, true, g, false, into: db)
                case (true, false): try mm(a, false, g, false, into: db)
                case (false, true): try mm(g, true, a, false, into: db)
                case (true, true): try mm(g, true, a, true, into: db)
                }
            }

        case .batchedMatmul:
            let a = r.a!, b = r.b!
            let ta = r.flag0, tb = r.flag1
            if let da = gradient(a) {
                switch (ta, tb) {
                case (false, false): bmm(g, false, b, true, into: da)
                case (true, false): bmm(b, false, g, true, into: da)
                case (false, true): bmm(g, false, b, false, into: da)
                case (true, true): bmm(b, true, g, true, into: da)
                }
            }
            if let db = gradient(b) {
                switch (ta, tb) {
                case (false, false): bmm(a, true, g, false, into: db)
                case (true, false): bmm(a, false, g, false, into: db)
                case (false, true): bmm(g, true, a, false, into: db)
                case (true, true): bmm(g, true, a, true, into: db)
                }
            }

        case .add, .sub, .mul:
            let a = r.a!, b = r.b!
            let (big, small, _) = try broadcastPlan(a, b, r.op.rawValue)
            let inner = small.count, outer = inner == 0 ? 0 : big.count / inner
            for (operand, other, sign) in [(a, b, Float(1)), (b, a, r.op == .sub ? Float(-1) : 1)] {
                guard let d = gradient(operand) else { continue }
                var src = g
                if r.op == .mul {
                    // g ⊙ other, with `other` repeated if it is the broadcast operand.
                    src = Tensor(uninitialized: big.shape)
                    if other === small && outer > 1 {
                        for o in 0..<outer {
                            ElementwiseKernels.mul(g.data + o * inner, other.data, src.data + o * inner, count: inner)
                        }
                    } else {
                        ElementwiseKernels.mul(g.data, other.data, src.data, count: big.count)
                    }
                }
                if operand === small && outer > 1 || (operand.count != big.count) {
                    accumulateReduced(src.data, outer: outer, inner: inner, into: d.data, alpha: sign)
                } else {
                    ElementwiseKernels.accumulate(src.data, into: d.data, count: d.count, alpha: sign)
                }
            }

        case .scale:
            if let d = gradient(r.a) { ElementwiseKernels.accumulate(g.data, into: d.data, count: g.count, alpha: r.f0) }
        case .addScalar:
            if let d = gradient(r.a) { ElementwiseKernels.accumulate(g.data, into: d.data, count: g.count) }

        case .gelu:
            if let d = gradient(r.a) { ElementwiseKernels.geluBackward(r.a!.data, g.data, d.data, count: g.count) }
        case .relu:
            if let d = gradient(r.a) { ElementwiseKernels.reluBackward(r.output.data, g.data, d.data, count: g.count) }
        case .sigmoid:
            if let d = gradient(r.a) {
                let y = r.output.data
                for i in 0..<g.count { d.data[i] += g.data[i] * y[i] * (1 - y[i]) }
            }
        case .logSigmoid:
            // d/dx log σ(x) = σ(−x)
            if let d = gradient(r.a) {
                let s = Tensor(uninitialized: r.a!.shape)
                let x = r.a!.data
                for i in 0..<g.count { s.data[i] = -x[i] }
                ElementwiseKernels.sigmoid(s.data, s.data, count: g.count)
                ElementwiseKernels.accumulateProduct(g.data, s.data, into: d.data, count: g.count)
            }
        case .tanh:
            if let d = gradient(r.a) {
                let y = r.output.data
                for i in 0..<g.count { d.data[i] += g.data[i] * (1 - y[i] * y[i]) }
            }
        case .exp:
            if let d = gradient(r.a) { ElementwiseKernels.accumulateProduct(g.data, r.output.data, into: d.data, count: g.count) }
        case .log:
            if let d = gradient(r.a) {
                let x = r.a!.data
                for i in 0..<g.count { d.data[i] += g.data[i] / x[i] }
            }

        case .sum, .mean:
            if let d = gradient(r.a) {
                let v = r.op == .sum ? g.data[0] : g.data[0] / Float(d.count)
                let ones = VecF(repeating: v)
                vmap(d.data, d.data, d.count) { $0 + ones }
            }
        case .sumLastAxis:
            if let d = gradient(r.a) {
                let n = r.a!.lastDimension
                for row in 0..<g.count {
                    let v = VecF(repeating: g.data[row] * r.f0)
                    vmap(d.data + row * n, d.data + row * n, n) { $0 + v }
                }
            }

        case .softmax:
            if let d = gradient(r.a) {
                SoftmaxKernels.softmaxBackward(r.output.data, g.data, d.data, rows: g.rows, cols: g.lastDimension)
            }
        case .logSoftmax:
            if let d = gradient(r.a) {
                SoftmaxKernels.logSoftmaxBackward(r.output.data, g.data, d.data, rows: g.rows, cols: g.lastDimension)
            }

        case .layerNorm:
            let x = r.a!, stats = r.saved0!
            let rows = x.rows
            let dx = gradientForWrite(x)
            LayerNormKernels.backward(x.data, weight: r.b!.data, mean: stats.data, rstd: stats.data + rows, dOut: g.data,
                                      rows: rows, cols: x.lastDimension, dx: dx?.tensor.data, accumulateDx: dx?.accumulate ?? true,
                                      dWeight: gradient(r.b)?.data, dBias: gradient(r.c)?.data)

        case .embedding:
            if let d = gradient(r.a) {
                r.ids!.values.withUnsafeBufferPointer {
                    EmbeddingKernels.backward(dOut: g.data, width: d.shape[1], ids: $0.baseAddress!, count: $0.count, dTable: d.data)
                }
            }

        case .attention:
            if let (d, add) = gradientForWrite(r.a) {
                let qkv = r.a!
                AttentionKernels.backward(qkv: qkv.data, probs: r.saved0!.data, dOut: g.data, batch: qkv.shape[0],
                                          length: qkv.shape[1], width: qkv.shape[2] / 3, heads: r.i0, dQKV: d.data,
                                          accumulate: add)
            }

        case .crossEntropy:
            let logits = r.a!, lse = r.saved0!, targets = r.ids!
            let rows = logits.rows, classes = logits.lastDimension
            let perRow = r.flag0
            let ignore: Int32? = r.i0 == Int.min ? nil : Int32(r.i0)
            let w = r.b
            // Upstream gradient of row i's (weighted) loss, before the weight.
            let up: (Int) -> Float = perRow ? { g.data[$0] } : { _ in g.data[0] * r.f0 }
            targets.values.withUnsafeBufferPointer { tp in
                let t = tp.baseAddress!
                if let d = gradient(logits) {
                    CrossEntropyKernels.backward(logits: logits.data, rows: rows, classes: classes, targets: t,
                                                 ignoreIndex: ignore, lse: lse.data,
                                                 coef: { up($0) * (w?.data[$0] ?? 1) }, dLogits: d.data)
                }
                if let dw = gradient(w) {
                    guard let w else { return }
                    let weightedMean = r.i1 == 1
                    let total = r.output.count == 1 ? r.output.data[0] : 0
                    for i in 0..<rows where t[i] != ignore {
                        let plain = lse.data[i] - logits.data[i * classes + Int(t[i])]
                        // Under a weighted mean L = Σwℓ/Σw, so ∂L/∂wᵢ = (ℓᵢ − L)/Σw.
                        dw.data[i] += up(i) * (weightedMean ? plain - total : plain)
                    }
                    _ = w
                }
            }

        case .gather:
            if let d = gradient(r.a) {
                let n = r.a!.lastDimension
                let ids = r.ids!.values
                for row in 0..<g.count { d.data[row * n + Int(ids[row])] += g.data[row] }
            }
        case .reshape:
            if let d = gradient(r.a) { ElementwiseKernels.accumulate(g.data, into: d.data, count: g.count) }
        case .sliceRows:
            if let d = gradient(r.a) {
                let inner = r.a!.count / r.a!.shape[0]
                ElementwiseKernels.accumulate(g.data, into: d.data + r.i0 * inner, count: g.count)
            }
        case .concatRows:
            var o = 0
            for p in r.inputs {
                if let d = gradient(p) { ElementwiseKernels.accumulate(g.data + o, into: d.data, count: p.count) }
                o += p.count
            }
        case .custom:
            guard let rule = r.custom, let body = rule.backward else {
                throw TensorError.missingGradientRule(op: r.custom?.name ?? "custom")
            }
            try body(g, r.inputs.map { gradient($0) })
        }
    }
}

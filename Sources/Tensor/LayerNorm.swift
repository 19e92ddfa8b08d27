/// Layer normalization over the last dimension (PyTorch `nn.LayerNorm(C)` semantics: biased
/// variance, `eps` inside the square root).
///
/// Forward: `μ = mean(x)`, `σ⁻¹ = 1/√(var(x) + eps)`, `x̂ = (x − μ) σ⁻¹`, `y = x̂ ⊙ w + b`;
/// `mean` and `rstd` (per row) are saved for backward.
/// Backward (accumulating): `dx += σ⁻¹ (ĝ − mean(ĝ) − x̂ mean(ĝ ⊙ x̂))` with `ĝ = dy ⊙ w`;
/// `dw += Σ_rows dy ⊙ x̂`, `db += Σ_rows dy`.
public enum LayerNormKernels {
    /// Forward over `rows` rows of `cols`.
    public static func forward(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                               rows: Int, cols: Int, eps: Float, out: UnsafeMutablePointer<Float>,
                               mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>) {
        ThreadPool.shared.parallelRanges(rows, work: rows * cols * 4, threshold: 1 << 16) { r in
            let w = VecF.scalarCount
            for i in r {
                let xi = x + i * cols, yi = out + i * cols
                let mu = vsum(xi, cols) / Float(cols)
                // Two passes (mean, then squared deviations) avoid the cancellation of E[x²]−μ².
                var acc = VecF()
                var j = 0
                let mv = VecF(repeating: mu)
                while j + w <= cols { let d = xi.vload(j) - mv; acc = madd(d, d, acc); j += w }
                var ss = acc.sum()
                while j < cols { let d = xi[j] - mu; ss = madd(d, d, ss); j += 1 }
                let rs = 1 / (ss / Float(cols) + eps).squareRoot()
                mean[i] = mu; rstd[i] = rs
                let rv = VecF(repeating: rs)
                j = 0
                while j + w <= cols {
                    let xh = (xi.vload(j) - mv) * rv
                    var y = xh * weight.vload(j)
                    if let bias { y += bias.vload(j) }
                    yi.vstore(y, j); j += w
                }
                while j < cols {
                    let xh = (xi[j] - mu) * rs
                    yi[j] = xh * weight[j] + (bias?[j] ?? 0)
                    j += 1
                }
            }
        }
    }

    /// Backward; `dx`, `dWeight`, `dBias` are accumulated into (each may be nil to skip), except
    /// that `accumulateDx: false` overwrites `dx` (a fresh gradient buffer needs no zero-fill).
    public static func backward(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, dOut: UnsafePointer<Float>,
                                rows: Int, cols: Int, dx: UnsafeMutablePointer<Float>?, accumulateDx: Bool = true,
                                dWeight: UnsafeMutablePointer<Float>?, dBias: UnsafeMutablePointer<Float>?) {
        let w = VecF.scalarCount
        if let dx {
            ThreadPool.shared.parallelRanges(rows, work: rows * cols * 6, threshold: 1 << 16) { r in
                for i in r {
                    let xi = x + i * cols, gi = dOut + i * cols, di = dx + i * cols
                    let muv = VecF(repeating: mean[i]), rsv = VecF(repeating: rstd[i])
                    var sg = VecF(), sgx = VecF()
                    var j = 0
                    while j + w <= cols {
                        let g = gi.vload(j) * weight.vload(j)
                        sg += g
                        sgx = madd(g, (xi.vload(j) - muv) * rsv, sgx)
                        j += w
                    }
                    var sumG = sg.sum(), sumGX = sgx.sum()
                    let tail = j
                    while j < cols {
                        let g = gi[j] * weight[j]
                        sumG += g
                        sumGX = madd(g, (xi[j] - mean[i]) * rstd[i], sumGX)
                        j += 1
                    }
                    let mg = VecF(repeating: sumG / Float(cols)), mgx = VecF(repeating: sumGX / Float(cols))
                    j = 0
                    while j + w <= cols {
                        let xh = (xi.vload(j) - muv) * rsv
                        let g = gi.vload(j) * weight.vload(j)
                        di.vstore(madd(rsv, g - mg - xh * mgx, accumulateDx ? di.vload(j) : VecF()), j)
                        j += w
                    }
                    j = tail
                    while j < cols {
                        let xh = (xi[j] - mean[i]) * rstd[i]
                        let v = rstd[i] * (gi[j] * weight[j] - mg[0] - xh * mgx[0])
                        di[j] = accumulateDx ? di[j] + v : v
                        j += 1
                    }
                }
            }
        }
        // Parameter gradients: each thread owns a range of columns and walks the rows in order,
        // so the sums do not depend on the thread count. Up to 8 vectors of columns are summed
        // in one sweep over the rows (one contiguous read per row instead of a strided column
        // walk per vector, and 16 independent add chains instead of 2).
        if dWeight != nil || dBias != nil {
            let blocks = (cols + w - 1) / w
            let full = cols / w
            ThreadPool.shared.parallelRanges(blocks, work: rows * cols * 2, threshold: 1 << 17) { r in
                var b = r.lowerBound
                let fullEnd = min(r.upperBound, full)
                while b + 8 <= fullEnd {
                    parameterSums(8, x, mean: mean, rstd: rstd, dOut: dOut, rows: rows, cols: cols, col: b * w,
                                  dWeight: dWeight, dBias: dBias)
                    b += 8
                }
                if b + 4 <= fullEnd {
                    parameterSums(4, x, mean: mean, rstd: rstd, dOut: dOut, rows: rows, cols: cols, col: b * w,
                                  dWeight: dWeight, dBias: dBias)
                    b += 4
                }
                while b < fullEnd {
                    let j = b * w
                    var sw = VecF(), sb = VecF()
                    for i in 0..<rows {
                        let g = (dOut + i * cols).vload(j)
                        let xh = ((x + i * cols).vload(j) - VecF(repeating: mean[i])) * VecF(repeating: rstd[i])
                        sw = madd(g, xh, sw)
                        sb += g
                    }
                    if let dWeight { dWeight.vstore(dWeight.vload(j) + sw, j) }
                    if let dBias { dBias.vstore(dBias.vload(j) + sb, j) }
                    b += 1
                }
                // The last, partial vector of columns (cols not a multiple of the width).
                if r.upperBound > full {
                    for j in (full * w)..<cols {
                        var sw: Float = 0, sb: Float = 0
                        for i in 0..<rows {
                            let g = dOut[i * cols + j]
                            sw = madd(g, (x[i * cols + j] - mean[i]) * rstd[i], sw)
                            sb += g
                        }
                        if let dWeight { dWeight[j] += sw }
                        if let dBias { dBias[j] += sb }
                    }
                }
            }
        }
    }

    /// `dWeight[col..<col+v·w] += Σ_rows dy ⊙ x̂`, `dBias[…] += Σ_rows dy` for `vectors` (4 or 8,
    /// a literal, so the unused half folds away) whole vectors of columns, rows in order: the
    /// same additions, in the same order, as one vector at a time.
    @inline(__always)
    static func parameterSums(_ vectors: Int, _ x: UnsafePointer<Float>, mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
                               dOut: UnsafePointer<Float>, rows: Int, cols: Int, col: Int,
                               dWeight: UnsafeMutablePointer<Float>?, dBias: UnsafeMutablePointer<Float>?) {
        let w = VecF.scalarCount
        var w0 = VecF(), w1 = VecF(), w2 = VecF(), w3 = VecF(), w4 = VecF(), w5 = VecF(), w6 = VecF(), w7 = VecF()
        var b0 = VecF(), b1 = VecF(), b2 = VecF(), b3 = VecF(), b4 = VecF(), b5 = VecF(), b6 = VecF(), b7 = VecF()
        for i in 0..<rows {
            let gi = dOut + i * cols + col, xi = x + i * cols + col
            let mu = VecF(repeating: mean[i]), rs = VecF(repeating: rstd[i])
            @inline(__always) func add(_ q: Int, _ sw: inout VecF, _ sb: inout VecF) {
                let g = gi.vload(q * w)
                sw = madd(g, (xi.vload(q * w) - mu) * rs, sw)
                sb += g
            }
            add(0, &w0, &b0); add(1, &w1, &b1); add(2, &w2, &b2); add(3, &w3, &b3)
            if vectors > 4 { add(4, &w4, &b4); add(5, &w5, &b5); add(6, &w6, &b6); add(7, &w7, &b7) }
        }
        @inline(__always) func addInto(_ out: UnsafeMutablePointer<Float>?, _ s0: VecF, _ s1: VecF, _ s2: VecF, _ s3: VecF,
                                       _ s4: VecF, _ s5: VecF, _ s6: VecF, _ s7: VecF) {
            guard let d = out.map({ $0 + col }) else { return }
            d.vstore(d.vload(0 * w) + s0, 0 * w); d.vstore(d.vload(1 * w) + s1, 1 * w)
            d.vstore(d.vload(2 * w) + s2, 2 * w); d.vstore(d.vload(3 * w) + s3, 3 * w)
            if vectors > 4 {
                d.vstore(d.vload(4 * w) + s4, 4 * w); d.vstore(d.vload(5 * w) + s5, 5 * w)
                d.vstore(d.vload(6 * w) + s6, 6 * w); d.vstore(d.vload(7 * w) + s7, 7 * w)
            }
        }
        addInto(dWeight, w0, w1, w2, w3, w4, w5, w6, w7)
        addInto(dBias, b0, b1, b2, b3, b4, b5, b6, b7)
    }
}

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
        // Parameter gradients: each thread owns a range of columns and walks the rows in order
        // (contiguous, vectorized), so the sums do not depend on the thread count.
        if dWeight != nil || dBias != nil {
            let blocks = (cols + w - 1) / w
            ThreadPool.shared.parallelRanges(blocks, work: rows * cols * 2, threshold: 1 << 17) { r in
                let lo = r.lowerBound * w, hi = min(cols, r.upperBound * w)
                var j = lo
                while j + w <= hi {
                    var sw = VecF(), sb = VecF()
                    for i in 0..<rows {
                        let g = (dOut + i * cols).vload(j)
                        let xh = ((x + i * cols).vload(j) - VecF(repeating: mean[i])) * VecF(repeating: rstd[i])
                        sw = madd(g, xh, sw)
                        sb += g
                    }
                    if let dWeight { dWeight.vstore(dWeight.vload(j) + sw, j) }
                    if let dBias { dBias.vstore(dBias.vload(j) + sb, j) }
                    j += w
                }
                while j < hi {
                    var sw: Float = 0, sb: Float = 0
                    for i in 0..<rows {
                        let g = dOut[i * cols + j]
                        sw = madd(g, (x[i * cols + j] - mean[i]) * rstd[i], sw)
                        sb += g
                    }
                    if let dWeight { dWeight[j] += sw }
                    if let dBias { dBias[j] += sb }
                    j += 1
                }
            }
        }
    }
}

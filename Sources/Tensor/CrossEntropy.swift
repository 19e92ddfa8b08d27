/// Fused softmax cross-entropy over the last dimension, with an ignore index and optional
/// per-position weights.
///
/// For row `i` with target `t_i`: `ℓ_i = w_i · (log Σ_j e^{x_ij} − x_{i t_i})`, and `ℓ_i = 0`
/// when `t_i == ignoreIndex`. Backward: `dx_i += g_i · w_i · (softmax(x_i) − onehot(t_i))` where
/// `g_i` is the upstream gradient of `ℓ_i`. The per-row log-sum-exp is saved by `forward` so
/// backward need not recompute the max.
public enum CrossEntropyKernels {
    /// Writes `losses[i]` (weighted, 0 for ignored rows) and `lse[i]`. Targets must be valid.
    public static func forward(logits: UnsafePointer<Float>, rows: Int, classes: Int, targets: UnsafePointer<Int32>,
                               ignoreIndex: Int32?, weights: UnsafePointer<Float>?,
                               losses: UnsafeMutablePointer<Float>, lse: UnsafeMutablePointer<Float>) {
        ThreadPool.shared.parallelRanges(rows, work: rows * classes * 4, threshold: 1 << 16) { r in
            for i in r {
                let xi = logits + i * classes
                let l = SoftmaxKernels.logSumExp(xi, classes)
                lse[i] = l
                let t = targets[i]
                if let ignoreIndex, t == ignoreIndex { losses[i] = 0; continue }
                losses[i] = (l - xi[Int(t)]) * (weights?[i] ?? 1)
            }
        }
    }

    /// `dLogits[i] += coef[i] · (softmax(x_i) − onehot(t_i))`, skipping ignored rows; `coef`
    /// already includes the weight and the reduction's scale.
    public static func backward(logits: UnsafePointer<Float>, rows: Int, classes: Int, targets: UnsafePointer<Int32>,
                                ignoreIndex: Int32?, lse: UnsafePointer<Float>, coef: (Int) -> Float,
                                dLogits: UnsafeMutablePointer<Float>) {
        ThreadPool.shared.parallelRanges(rows, work: rows * classes * 4, threshold: 1 << 16) { r in
            let w = VecF.scalarCount
            for i in r {
                let t = targets[i]
                if let ignoreIndex, t == ignoreIndex { continue }
                let g = coef(i)
                if g == 0 { continue }
                let xi = logits + i * classes, di = dLogits + i * classes
                let l = VecF(repeating: lse[i]), gv = VecF(repeating: g)
                var j = 0
                while j + w <= classes { di.vstore(madd(gv, vexp(xi.vload(j) - l), di.vload(j)), j); j += w }
                if j < classes {
                    let n = classes - j
                    vstorePartial(madd(gv, vexp(vloadPartial(xi + j, n) - l), vloadPartial(di + j, n)), di + j, n)
                }
                di[Int(t)] -= g
            }
        }
    }
}

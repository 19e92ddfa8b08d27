/// Softmax and log-softmax over the last dimension, forward and backward (backward
/// accumulates into `dx`). Each row is handled by one thread.
///
/// Forward: `softmax(x)_j = e^{x_j − m} / Σ_k e^{x_k − m}`, `m = max_k x_k`;
/// `logSoftmax(x)_j = x_j − m − log Σ_k e^{x_k − m}`.
/// Backward: softmax `dx = y ⊙ (dy − Σ_j dy_j y_j)`; log-softmax `dx = dy − e^{y} Σ_j dy_j`.
public enum SoftmaxKernels {
    @inline(__always)
    static func rowsParallel(_ rows: Int, _ cols: Int, _ body: (Int) -> Void) {
        ThreadPool.shared.parallelRanges(rows, work: rows * cols * 4, threshold: 1 << 16) { r in
            for i in r { body(i) }
        }
    }

    /// Row-wise softmax of `[rows, cols]`.
    public static func softmax(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        rowsParallel(rows, cols) { i in
            let xi = x + i * cols, yi = y + i * cols
            let m = vmax(xi, cols)
            vmap(xi, yi, cols) { vexp($0 - VecF(repeating: m)) }
            let inv = 1 / vsum(yi, cols)
            vmap(yi, yi, cols) { $0 * VecF(repeating: inv) }
        }
    }

    /// Row-wise log-softmax of `[rows, cols]`.
    public static func logSoftmax(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        rowsParallel(rows, cols) { i in
            let xi = x + i * cols, yi = y + i * cols
            let lse = logSumExp(xi, cols)
            vmap(xi, yi, cols) { $0 - VecF(repeating: lse) }
        }
    }

    /// `log Σ e^{x_j}` of one row, computed stably.
    @inline(__always)
    static func logSumExp(_ x: UnsafePointer<Float>, _ n: Int) -> Float {
        let m = vmax(x, n)
        if !m.isFinite { return m }
        let w = VecF.scalarCount
        var acc = VecF()
        var j = 0
        while j + w <= n { acc += vexp(x.vload(j) - VecF(repeating: m)); j += w }
        var s = acc.sum()
        if j < n {
            let tail = vexp(vloadPartial(x + j, n - j) - VecF(repeating: m))
            for l in 0..<(n - j) { s += tail[l] }
        }
        return m + logf(s)
    }

    /// `dx += y ⊙ (dy − Σ dy ⊙ y)` given the softmax output `y`.
    public static func softmaxBackward(_ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                                       rows: Int, cols: Int) {
        rowsParallel(rows, cols) { i in
            let yi = y + i * cols, gi = dy + i * cols, di = dx + i * cols
            let dot = vdot(cols, yi, gi)
            for j in 0..<cols { di[j] += yi[j] * (gi[j] - dot) }
        }
    }

    /// `dx += dy − e^{y} Σ dy` given the log-softmax output `y`.
    public static func logSoftmaxBackward(_ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                                          rows: Int, cols: Int) {
        rowsParallel(rows, cols) { i in
            let yi = y + i * cols, gi = dy + i * cols, di = dx + i * cols
            let s = vsum(gi, cols)
            var j = 0
            let w = VecF.scalarCount
            while j + w <= cols {
                di.vstore(di.vload(j) + gi.vload(j) - vexp(yi.vload(j)) * VecF(repeating: s), j); j += w
            }
            if j < cols {
                let r = cols - j
                let v = vloadPartial(di + j, r) + vloadPartial(gi + j, r) - vexp(vloadPartial(yi + j, r)) * VecF(repeating: s)
                vstorePartial(v, di + j, r)
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

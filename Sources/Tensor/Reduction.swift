/// Reductions. Each sums in a fixed order that does not depend on the thread count: full sums
/// are serial (vectorized lanes then a fixed lane fold); row sums give each row to one thread;
/// column sums (bias gradients) split columns, never rows.
public enum ReductionKernels {
    /// Σ x over `n` elements, accumulated in Double (a loss or a norm must not drift with n).
    public static func sum(_ x: UnsafePointer<Float>, count n: Int) -> Double {
        var total = 0.0
        var i = 0
        // Float partial sums over blocks of 1024 keep the vector speed; Double across blocks.
        while i < n {
            let len = min(1024, n - i)
            total += Double(vsum(x + i, len))
            i += len
        }
        return total
    }

    /// Σ x² in Double.
    public static func sumOfSquares(_ x: UnsafePointer<Float>, count n: Int) -> Double {
        var total = 0.0
        var i = 0
        while i < n {
            let len = min(1024, n - i)
            total += Double(vdot(len, x + i, x + i))
            i += len
        }
        return total
    }

    /// `out[r] (+)= Σ_j x[r, j]` for each of `rows` rows.
    public static func sumRows(_ x: UnsafePointer<Float>, rows: Int, cols: Int, out: UnsafeMutablePointer<Float>,
                               accumulate: Bool = false) {
        ThreadPool.shared.parallelRanges(rows, work: rows * cols, threshold: 1 << 16) { r in
            for i in r {
                let s = vsum(x + i * cols, cols)
                out[i] = accumulate ? out[i] + s : s
            }
        }
    }

    /// `out[j] (+)= Σ_r x[r, j]`: the bias gradient of a linear layer. Rows are added in order.
    public static func sumColumns(_ x: UnsafePointer<Float>, rows: Int, cols: Int, out: UnsafeMutablePointer<Float>,
                                  accumulate: Bool = true) {
        let w = VecF.scalarCount
        let colBlocks = (cols + w - 1) / w
        ThreadPool.shared.parallelRanges(colBlocks, work: rows * cols, threshold: 1 << 17) { r in
            let lo = r.lowerBound * w, hi = min(cols, r.upperBound * w)
            var j = lo
            // Four column vectors at a time: four independent add chains (one chain waits on
            // the add latency every row) and whole cache lines per row. Each column is still
            // summed over the rows in order, so the results are the same.
            while j + 4 * w <= hi {
                var a0 = accumulate ? out.vload(j) : VecF(), a1 = accumulate ? out.vload(j + w) : VecF()
                var a2 = accumulate ? out.vload(j + 2 * w) : VecF(), a3 = accumulate ? out.vload(j + 3 * w) : VecF()
                var p = x + j
                for _ in 0..<rows {
                    a0 += p.vload(0); a1 += p.vload(w); a2 += p.vload(2 * w); a3 += p.vload(3 * w)
                    p += cols
                }
                out.vstore(a0, j); out.vstore(a1, j + w); out.vstore(a2, j + 2 * w); out.vstore(a3, j + 3 * w)
                j += 4 * w
            }
            while j + w <= hi {
                var acc = accumulate ? out.vload(j) : VecF()
                for i in 0..<rows { acc += (x + i * cols).vload(j) }
                out.vstore(acc, j)
                j += w
            }
            while j < hi {
                var acc = accumulate ? out[j] : 0
                for i in 0..<rows { acc += x[i * cols + j] }
                out[j] = acc
                j += 1
            }
        }
    }
}

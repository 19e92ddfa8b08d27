#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Element-wise kernels, pointer level, vectorized with `VecF`. Outputs may alias inputs.
/// Kernels whose name ends in `Backward` *accumulate* (+=) into the gradient they write.
///
/// Large arrays are split into contiguous ranges over `ThreadPool.shared`; element-wise work
/// has no reductions, so splitting never changes a result.
public enum ElementwiseKernels {
    /// Elements per thread below which splitting is not worth a wake-up.
    static let parallelThreshold = 1 << 16

    @inline(__always)
    static func chunks(_ n: Int, _ body: (Int, Int) -> Void) {
        ThreadPool.shared.parallelRanges(n, grain: 64, work: n, threshold: parallelThreshold) { r in
            body(r.lowerBound, r.count)
        }
    }

    /// `out = a + b`.
    public static func add(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count n: Int) {
        chunks(n) { o, len in vmap2(a + o, b + o, out + o, len) { $0 + $1 } }
    }

    /// `out = a - b`.
    public static func sub(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count n: Int) {
        chunks(n) { o, len in vmap2(a + o, b + o, out + o, len) { $0 - $1 } }
    }

    /// `out = a ⊙ b`.
    public static func mul(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count n: Int) {
        chunks(n) { o, len in vmap2(a + o, b + o, out + o, len) { $0 * $1 } }
    }

    /// `y += alpha · x` (the accumulate step of most gradient rules).
    public static func accumulate(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count n: Int, alpha: Float = 1) {
        chunks(n) { o, len in
            if alpha == 1 { vmap2(x + o, y + o, y + o, len) { $0 + $1 } } else { vaxpy(len, alpha, x + o, y + o) }
        }
    }

    /// `y += a ⊙ b`.
    public static func accumulateProduct(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
                                         into y: UnsafeMutablePointer<Float>, count n: Int) {
        chunks(n) { o, len in
            let w = VecF.scalarCount
            let pa = a + o, pb = b + o, py = y + o
            var i = 0
            while i + w <= len { py.vstore(madd(pa.vload(i), pb.vload(i), py.vload(i)), i); i += w }
            while i < len { py[i] = madd(pa[i], pb[i], py[i]); i += 1 }
        }
    }

    /// `out = alpha · x + beta`.
    public static func affine(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count n: Int,
                              alpha: Float, beta: Float = 0) {
        chunks(n) { o, len in
            vmap(x + o, out + o, len) { madd($0, VecF(repeating: alpha), VecF(repeating: beta)) }
        }
    }

    /// `out[r, :] = x[r, :] + bias` for `rows` rows of `cols` (broadcast of a row vector).
    public static func addRow(_ x: UnsafePointer<Float>, _ bias: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                              rows: Int, cols: Int) {
        ThreadPool.shared.parallelRanges(rows, work: rows * cols, threshold: parallelThreshold) { r in
            for i in r { vmap2(x + i * cols, bias, out + i * cols, cols) { $0 + $1 } }
        }
    }

    /// Exact GELU, `x · Φ(x) = ½ x (1 + erf(x/√2))`, as PyTorch's default `F.gelu`.
    public static func gelu(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count n: Int) {
        chunks(n) { o, len in vmap(x + o, out + o, len, vgelu) }
    }

    /// GELU that also keeps Φ(x) in `cdf`, so that backward (`geluBackward(_:cdf:…)`) needs one
    /// exp per element instead of an erfc and an exp: `out = x · Φ(x)`, `cdf = Φ(x)`.
    public static func gelu(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                            cdf: UnsafeMutablePointer<Float>, count n: Int) {
        chunks(n) { o, len in
            let w = VecF.scalarCount
            let xs = x + o, os = out + o, cs = cdf + o
            var i = 0
            while i + w <= len {
                let v = xs.vload(i), phi = vnormalCDF(v)
                cs.vstore(phi, i)
                os.vstore(v * phi, i)
                i += w
            }
            if i < len {
                let r = len - i
                let v = vloadPartial(xs + i, r), phi = vnormalCDF(v)
                vstorePartial(phi, cs + i, r)
                vstorePartial(v * phi, os + i, r)
            }
        }
    }

    /// `dx (+)= dy ⊙ gelu′(x)` with Φ(x) saved by `gelu(_:_:cdf:count:)`: the same values as
    /// `geluBackward(_:_:_:count:accumulate:)`, which recomputes Φ.
    public static func geluBackward(_ x: UnsafePointer<Float>, cdf: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                                    _ dx: UnsafeMutablePointer<Float>, count n: Int, accumulate: Bool = true) {
        chunks(n) { o, len in
            let w = VecF.scalarCount
            let xs = x + o, cs = cdf + o, gs = dy + o, ds = dx + o
            var i = 0
            while i + w <= len {
                let g = gs.vload(i), d = vgeluDerivative(xs.vload(i), cdf: cs.vload(i))
                ds.vstore(accumulate ? madd(g, d, ds.vload(i)) : g * d, i)
                i += w
            }
            if i < len {
                let r = len - i
                let g = vloadPartial(gs + i, r), d = vgeluDerivative(vloadPartial(xs + i, r), cdf: vloadPartial(cs + i, r))
                vstorePartial(accumulate ? madd(g, d, vloadPartial(ds + i, r)) : g * d, ds + i, r)
            }
        }
    }

    /// Fused bias + GELU: `out[r, :] = gelu(x[r, :] + bias)`; also writes the pre-activation
    /// `x + bias` to `pre` when given (what backward needs).
    public static func biasGelu(_ x: UnsafePointer<Float>, _ bias: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                                pre: UnsafeMutablePointer<Float>?, rows: Int, cols: Int) {
        ThreadPool.shared.parallelRanges(rows, work: rows * cols * 8, threshold: parallelThreshold) { r in
            for i in r {
                let xi = x + i * cols, oi = out + i * cols, pi = pre.map { $0 + i * cols }
                var j = 0
                let w = VecF.scalarCount
                while j + w <= cols {
                    let z = xi.vload(j) + bias.vload(j)
                    pi?.vstore(z, j)
                    oi.vstore(vgelu(z), j)
                    j += w
                }
                while j < cols {
                    let z = xi[j] + bias[j]
                    pi?[j] = z
                    oi[j] = vgelu(VecF(repeating: z))[0]
                    j += 1
                }
            }
        }
    }

    /// `dx += dy ⊙ gelu′(x)`, `gelu′(x) = Φ(x) + x φ(x)`; with `accumulate: false`,
    /// `dx = dy ⊙ gelu′(x)` (for a fresh buffer: no zero-fill first).
    public static func geluBackward(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                                    count n: Int, accumulate: Bool = true) {
        chunks(n) { o, len in
            let w = VecF.scalarCount
            let xs = x + o, gs = dy + o, ds = dx + o
            var i = 0
            if accumulate {
                while i + w <= len { ds.vstore(madd(gs.vload(i), vgeluDerivative(xs.vload(i)), ds.vload(i)), i); i += w }
            } else {
                while i + w <= len { ds.vstore(gs.vload(i) * vgeluDerivative(xs.vload(i)), i); i += w }
            }
            if i < len {
                let r = len - i
                let prior = accumulate ? vloadPartial(ds + i, r) : VecF()
                let v = madd(vloadPartial(gs + i, r), vgeluDerivative(vloadPartial(xs + i, r)), prior)
                vstorePartial(v, ds + i, r)
            }
        }
    }

    /// `out = max(x, 0)`.
    public static func relu(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count n: Int) {
        // `replacing` keeps NaN (a NaN compares false), unlike max(x, 0) which may drop it.
        chunks(n) { o, len in vmap(x + o, out + o, len) { $0.replacing(with: 0, where: $0 .< 0) } }
    }

    /// `dx += dy · [y > 0]` where `y` is the ReLU output.
    public static func reluBackward(_ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                                    count n: Int, accumulate: Bool = true) {
        chunks(n) { o, len in
            let w = VecF.scalarCount
            let ys = y + o, gs = dy + o, ds = dx + o
            let zero = VecF()
            var i = 0
            // Where y ≤ 0 (or NaN) the gradient is 0: select, so no branch per element.
            while i + w <= len {
                let pass = gs.vload(i).replacing(with: zero, where: .!(ys.vload(i) .> zero))
                ds.vstore(accumulate ? ds.vload(i) + pass : pass, i)
                i += w
            }
            while i < len {
                let pass: Float = ys[i] > 0 ? gs[i] : 0
                ds[i] = accumulate ? ds[i] + pass : pass
                i += 1
            }
        }
    }

    /// `out = exp(x)` (vectorized; see `vexp` for range).
    public static func exp(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count n: Int) {
        chunks(n) { o, len in vmap(x + o, out + o, len, vexp) }
    }

    /// `out = log(x)` (NaN for negative inputs, -inf at 0).
    public static func log(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count n: Int) {
        for i in 0..<n { out[i] = logf(x[i]) }
    }

    /// Logistic sigmoid `1 / (1 + e^{-x})`, evaluated without overflow for either sign.
    public static func sigmoid(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count n: Int) {
        for i in 0..<n {
            let v = x[i]
            if v >= 0 { out[i] = 1 / (1 + expf(-v)) } else { let e = expf(v); out[i] = e / (1 + e) }
        }
    }

    /// `log σ(x) = min(x, 0) − log1p(e^{−|x|})`, stable for large |x| (the DPO loss term).
    public static func logSigmoid(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count n: Int) {
        for i in 0..<n { let v = x[i]; out[i] = min(v, 0) - log1pf(expf(-abs(v))) }
    }

    /// `tanh(x)`.
    public static func tanh(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count n: Int) {
        for i in 0..<n { out[i] = tanhf(x[i]) }
    }
}

// SIMD helpers shared by the element-wise kernels: the vector width for this build, a
// multiply-add that is fused only when the CPU flag says FMA exists, and vectorized exp and
// erfc (libm's scalar versions would cost a call per element, dominating GELU and softmax).

/// The widest Float vector this build targets: SIMD16 with AVX-512, SIMD8 with AVX2, else SIMD4.
#if SUPERALIGN_AVX512
public typealias VecF = SIMD16<Float>
typealias VecU = SIMD16<UInt32>
#elseif SUPERALIGN_AVX2
public typealias VecF = SIMD8<Float>
typealias VecU = SIMD8<UInt32>
#else
public typealias VecF = SIMD4<Float>
typealias VecU = SIMD4<UInt32>
#endif

/// `a * b + c`, fused into one instruction when the build has FMA. Without the flag,
/// `addingProduct` would become a libm `fmaf` call per lane, so the baseline multiplies and adds.
@inline(__always) func madd(_ a: VecF, _ b: VecF, _ c: VecF) -> VecF {
    #if SUPERALIGN_FMA
    return c.addingProduct(a, b)
    #else
    return a * b + c
    #endif
}

/// Scalar `a * b + c` with the same fusing rule as the vector version.
@inline(__always) func madd(_ a: Float, _ b: Float, _ c: Float) -> Float {
    #if SUPERALIGN_FMA
    return c.addingProduct(a, b)
    #else
    return a * b + c
    #endif
}

extension UnsafePointer where Pointee == Float {
    @inline(__always) func vload(_ offset: Int = 0) -> VecF {
        UnsafeRawPointer(self + offset).loadUnaligned(as: VecF.self)
    }
}

extension UnsafeMutablePointer where Pointee == Float {
    @inline(__always) func vload(_ offset: Int = 0) -> VecF {
        UnsafeRawPointer(self + offset).loadUnaligned(as: VecF.self)
    }
    @inline(__always) func vstore(_ v: VecF, _ offset: Int = 0) {
        UnsafeMutableRawPointer(self + offset).storeBytes(of: v, as: VecF.self)
    }
}

/// Loads `n < VecF.scalarCount` floats, zero-filling the other lanes.
@inline(__always) func vloadPartial(_ p: UnsafePointer<Float>, _ n: Int) -> VecF {
    // One small memcpy into a zeroed vector; inserting lanes one by one costs far more.
    var v = VecF()
    withUnsafeMutableBytes(of: &v) { $0.baseAddress!.copyMemory(from: p, byteCount: n * 4) }
    return v
}

/// Stores the first `n` lanes of `v`.
@inline(__always) func vstorePartial(_ v: VecF, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
    withUnsafeBytes(of: v) { UnsafeMutableRawPointer(p).copyMemory(from: $0.baseAddress!, byteCount: n * 4) }
}

@inline(__always) func bits(_ v: VecF) -> VecU { unsafeBitCast(v, to: VecU.self) }
@inline(__always) func floats(_ v: VecU) -> VecF { unsafeBitCast(v, to: VecF.self) }

/// Vectorized `exp`, relative error ≈ 2 ulp. Results that would be subnormal (x < −87.3) are
/// flushed to 0 — subnormal arithmetic costs ~100× on x86 — and inputs above 88 saturate at
/// e⁸⁸; NaN stays NaN.
@inline(__always) func vexp(_ x: VecF) -> VecF {
    // Clamp with compares and blends: the generic `clamped`/`pointwiseMin` are not inlined
    // into vector instructions and cost a lane-by-lane loop.
    let lo = VecF(repeating: -87.3), hi = VecF(repeating: 88.0)
    let xc = x.replacing(with: lo, where: x .< lo).replacing(with: hi, where: x .> hi)
    // n = round(x / ln 2) by the 1.5·2²³ trick: adding it leaves n in the low mantissa bits.
    let magic = VecF(repeating: 12_582_912.0)
    let t = madd(xc, VecF(repeating: 1.442_695_04), magic)
    let n = t - magic
    // r = x - n ln2 in two steps (Cody–Waite) so r keeps full precision.
    var r = madd(n, VecF(repeating: -0.693_359_375), xc)
    r = madd(n, VecF(repeating: 2.121_944_4e-4), r)
    // exp(r) on |r| ≤ ln2/2: degree-5 minimax polynomial for (exp(r) - 1 - r) / r².
    var p = VecF(repeating: 1.987_569_15e-4)
    p = madd(p, r, VecF(repeating: 1.398_199_95e-3))
    p = madd(p, r, VecF(repeating: 8.333_451_9e-3))
    p = madd(p, r, VecF(repeating: 4.166_579_59e-2))
    p = madd(p, r, VecF(repeating: 1.666_666_55e-1))
    p = madd(p, r, VecF(repeating: 5.000_000_12e-1))
    let r2 = r * r
    let er = madd(p, r2, r) + VecF(repeating: 1)
    // 2ⁿ assembled in the exponent field.
    let scale = floats((bits(t) &- VecU(repeating: 0x4B40_0000) &+ VecU(repeating: 127)) &<< VecU(repeating: 23))
    let y = (er * scale).replacing(with: 0, where: x .< lo)
    return y.replacing(with: x, where: x .!= x)
}

/// Vectorized square root without a branch per lane, within 1 ulp of the correctly rounded
/// result for every finite x ≥ 0 (+∞ stays +∞). `SIMD.squareRoot()` compiles to a scalar
/// `sqrtf` per lane with an errno check on Linux, which made it most of AdamW's time.
///
/// Method: a bit-level estimate of 1/√x, three Newton steps on it, then one Newton step on
/// √x = x · (1/√x). Inputs outside [2⁻¹⁰⁰, 2¹⁰⁰) are scaled by 2^∓100 first, so subnormals
/// converge and y² cannot overflow.
@inline(__always) func vsqrt(_ x: VecF) -> VecF {
    let tiny = x .< VecF(repeating: 0x1p-100), huge = x .>= VecF(repeating: 0x1p100)
    let xs = x.replacing(with: x * VecF(repeating: 0x1p100), where: tiny)
        .replacing(with: x * VecF(repeating: 0x1p-100), where: huge)
    let half = xs * VecF(repeating: 0.5)
    var r = floats(VecU(repeating: 0x5F37_5A86) &- (bits(xs) &>> VecU(repeating: 1)))
    r = r * madd(-half * r, r, VecF(repeating: 1.5))
    r = r * madd(-half * r, r, VecF(repeating: 1.5))
    r = r * madd(-half * r, r, VecF(repeating: 1.5))
    var y = xs * r
    y = madd(VecF(repeating: 0.5) * r, madd(-y, y, xs), y)
    y = y.replacing(with: y * VecF(repeating: 0x1p-50), where: tiny)
        .replacing(with: y * VecF(repeating: 0x1p50), where: huge)
    // 0 → 0 (the estimate of 1/√0 is finite, so y is exactly 0 already); +∞ and NaN pass through.
    return y.replacing(with: x, where: .!(x .< VecF(repeating: .infinity)))
}

/// Vectorized complementary error function `erfc(x)`, relative error < 2e-7 (a Chebyshev fit
/// of erfc(z)·e^{z²} in t = 1/(1 + z/2), the classic Numerical Recipes form), valid for all x.
@inline(__always) func verfc(_ x: VecF) -> VecF {
    let signMask = VecU(repeating: 0x8000_0000)
    let z = floats(bits(x) & ~signMask)
    let t = VecF(repeating: 1) / madd(z, VecF(repeating: 0.5), VecF(repeating: 1))
    var p = VecF(repeating: 0.170_872_77)
    p = madd(p, t, VecF(repeating: -0.822_152_23))
    p = madd(p, t, VecF(repeating: 1.488_515_87))
    p = madd(p, t, VecF(repeating: -1.135_203_98))
    p = madd(p, t, VecF(repeating: 0.278_868_07))
    p = madd(p, t, VecF(repeating: -0.186_288_06))
    p = madd(p, t, VecF(repeating: 0.096_784_18))
    p = madd(p, t, VecF(repeating: 0.374_091_96))
    p = madd(p, t, VecF(repeating: 1.000_023_68))
    p = madd(p, t, VecF(repeating: -1.265_512_23))
    let ans = t * vexp(p - z * z)
    // erfc(-z) = 2 - erfc(z)
    let negative = x .< VecF(repeating: 0)
    return ans.replacing(with: VecF(repeating: 2) - ans, where: negative)
}

/// GELU with the exact erf form (PyTorch's default): `x · Φ(x) = ½ x · erfc(-x/√2)`.
@inline(__always) func vgelu(_ x: VecF) -> VecF {
    VecF(repeating: 0.5) * x * verfc(x * VecF(repeating: -0.707_106_781_186_547_6))
}

/// Φ(x), the standard normal CDF: `½ erfc(−x/√2)` (GELU is x · Φ(x)).
@inline(__always) func vnormalCDF(_ x: VecF) -> VecF {
    VecF(repeating: 0.5) * verfc(x * VecF(repeating: -0.707_106_781_186_547_6))
}

/// d gelu / dx given Φ(x) already computed: Φ(x) + x · φ(x) (one exp, no erfc).
@inline(__always) func vgeluDerivative(_ x: VecF, cdf: VecF) -> VecF {
    let pdf = VecF(repeating: 0.398_942_280_401_432_7) * vexp(VecF(repeating: -0.5) * x * x)
    return madd(x, pdf, cdf)
}

/// d gelu / dx = Φ(x) + x · φ(x), φ the standard normal density.
@inline(__always) func vgeluDerivative(_ x: VecF) -> VecF {
    vgeluDerivative(x, cdf: vnormalCDF(x))
}

/// Applies a vector function to `n` floats (`dst` may equal `src`); the tail goes through a
/// zero-padded vector so every element takes the same code path.
@inline(__always) func vmap(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ n: Int,
                            _ f: (VecF) -> VecF) {
    let w = VecF.scalarCount
    var i = 0
    while i + w <= n { dst.vstore(f(src.vload(i)), i); i += w }
    if i < n { vstorePartial(f(vloadPartial(src + i, n - i)), dst + i, n - i) }
}

/// Two-input version of `vmap`.
@inline(__always) func vmap2(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>,
                             _ n: Int, _ f: (VecF, VecF) -> VecF) {
    let w = VecF.scalarCount
    var i = 0
    while i + w <= n { dst.vstore(f(a.vload(i), b.vload(i)), i); i += w }
    if i < n { vstorePartial(f(vloadPartial(a + i, n - i), vloadPartial(b + i, n - i)), dst + i, n - i) }
}

/// Sum of `n` floats with VecF-wide partial sums (a fixed order, so results are reproducible).
@inline(__always) func vsum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    let w = VecF.scalarCount
    var acc = VecF(), acc2 = VecF()
    var i = 0
    while i + 2 * w <= n { acc += p.vload(i); acc2 += p.vload(i + w); i += 2 * w }
    if i + w <= n { acc += p.vload(i); i += w }
    if i < n { acc2 += vloadPartial(p + i, n - i) }
    return (acc + acc2).sum()
}

/// Maximum of `n ≥ 1` floats (NaN-propagating).
@inline(__always) func vmax(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    let w = VecF.scalarCount
    var m = -Float.infinity
    var i = 0
    var mv = VecF(repeating: -.infinity)
    var sawNaN = false
    while i + w <= n {
        let v = p.vload(i)
        sawNaN = sawNaN || any(v .!= v)
        mv = mv.replacing(with: v, where: v .> mv); i += w
    }
    m = hmax(mv)
    while i < n { let v = p[i]; if v != v { sawNaN = true }; m = max(m, v); i += 1 }
    return sawNaN ? .nan : m
}

/// `y[0..<n] += alpha · x[0..<n]`.
@inline(__always) func vaxpy(_ n: Int, _ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
    let w = VecF.scalarCount
    let av = VecF(repeating: alpha)
    var i = 0
    while i + w <= n { y.vstore(madd(av, x.vload(i), y.vload(i)), i); i += w }
    while i < n { y[i] = madd(alpha, x[i], y[i]); i += 1 }
}

/// Dot product of `n` floats with vector-wide partial sums (fixed order).
@inline(__always) func vdot(_ n: Int, _ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>) -> Float {
    let w = VecF.scalarCount
    var acc = VecF()
    var i = 0
    while i + w <= n { acc = madd(x.vload(i), y.vload(i), acc); i += w }
    var s = acc.sum()
    while i < n { s = madd(x[i], y[i], s); i += 1 }
    return s
}

/// Horizontal maximum by halving (compiles to shuffles and compares; the generic
/// `SIMD.max()` is a lane-by-lane loop).
@inline(__always) func hmax(_ v: SIMD16<Float>) -> Float {
    let a = v.lowHalf, b = v.highHalf
    return hmax(a.replacing(with: b, where: b .> a))
}
@inline(__always) func hmax(_ v: SIMD8<Float>) -> Float {
    let a = v.lowHalf, b = v.highHalf
    return hmax(a.replacing(with: b, where: b .> a))
}
@inline(__always) func hmax(_ v: SIMD4<Float>) -> Float {
    let a = v.lowHalf, b = v.highHalf
    let m = a.replacing(with: b, where: b .> a)
    return Swift.max(m[0], m[1])
}

/// Copies a `rows × cols` block with row stride `ld` into `dst` transposed (`dst[c·rows + r]`).
/// Pointer stepping avoids the overflow-checked index arithmetic of a subscripted loop.
@inline(__always) func transposeBlock(_ src: UnsafePointer<Float>, rows: Int, cols: Int, ld: Int,
                                      into dst: UnsafeMutablePointer<Float>) {
    var r = 0
    // Four source rows at a time: each destination row receives four adjacent floats.
    while r + 4 <= rows {
        let s0 = src + r * ld, s1 = s0 + ld, s2 = s1 + ld, s3 = s2 + ld
        var d = dst + r
        for x in 0..<cols {
            d[0] = s0[x]; d[1] = s1[x]; d[2] = s2[x]; d[3] = s3[x]
            d += rows
        }
        r += 4
    }
    while r < rows {
        let s0 = src + r * ld
        var d = dst + r
        for x in 0..<cols { d.pointee = s0[x]; d += rows }
        r += 1
    }
}

/// Causal multi-head self-attention kernels (the nanoGPT block's attention, minus the
/// projections), forward and backward, fused per (batch, head).
///
/// Layouts (row-major):
/// - `qkv`: `[B, T, 3C]`, the output of the `c_attn` linear layer; for head `h` the query,
///   key and value are columns `h·D ..< (h+1)·D` of the first, second and third `C`-wide
///   thirds, `D = C / H`.
/// - `out`: `[B, T, C]`, heads concatenated (ready for the `c_proj` layer).
/// - `probs`: `[B, H, T, T]`, the softmax probabilities `P`, saved for backward (zero above
///   the diagonal).
///
/// Forward: `S = Q Kᵀ / √D` masked to `j ≤ i`, `P = softmax(S)`, `Y = P V`.
/// Backward: `dV = Pᵀ dY`, `dP = dY Vᵀ`, `dS = P ⊙ (dP − rowsum(P ⊙ dP))`,
/// `dQ = dS K / √D`, `dK = dSᵀ Q / √D`, all accumulated (+=) into `dQKV`.
///
/// Every product is computed as "output row = Σ coefficient × input row" with the output row
/// held in registers (`combine`), which suits the small T × T and T × D products of attention
/// better than a packed matrix multiply. Work is split over the `B·H` (batch, head) pairs; each
/// pair writes disjoint outputs, so results are independent of the thread count.
public enum AttentionKernels {
    /// `out[0..<n] (+)= Σ_{l<terms} alpha·coef[l·coefStride] · rows[l·rowStride + 0..<n]`.
    @inline(__always)
    static func combine(n: Int, terms: Int, coef: UnsafePointer<Float>, coefStride: Int, alpha: Float,
                        rows: UnsafePointer<Float>, rowStride: Int, out: UnsafeMutablePointer<Float>, accumulate: Bool) {
        let w = VecF.scalarCount
        var j = 0
        while j + 4 * w <= n {
            var a0 = VecF(), a1 = VecF(), a2 = VecF(), a3 = VecF()
            var r = rows + j, c = coef
            for _ in 0..<terms {
                let s = VecF(repeating: c.pointee)
                a0 = madd(s, r.vload(), a0); a1 = madd(s, r.vload(w), a1)
                a2 = madd(s, r.vload(2 * w), a2); a3 = madd(s, r.vload(3 * w), a3)
                r += rowStride; c += coefStride
            }
            let av = VecF(repeating: alpha)
            let o = out + j
            if accumulate {
                o.vstore(madd(a0, av, o.vload()), 0); o.vstore(madd(a1, av, o.vload(w)), w)
                o.vstore(madd(a2, av, o.vload(2 * w)), 2 * w); o.vstore(madd(a3, av, o.vload(3 * w)), 3 * w)
            } else {
                o.vstore(a0 * av, 0); o.vstore(a1 * av, w); o.vstore(a2 * av, 2 * w); o.vstore(a3 * av, 3 * w)
            }
            j += 4 * w
        }
        if j + 2 * w <= n {
            // Two independent chains per accumulator (even / odd terms) hide the FMA latency.
            var a0 = VecF(), a1 = VecF(), b0 = VecF(), b1 = VecF()
            var r = rows + j, c = coef
            var l = 0
            while l + 2 <= terms {
                let s = VecF(repeating: c.pointee), s2 = VecF(repeating: c[coefStride])
                a0 = madd(s, r.vload(), a0); a1 = madd(s, r.vload(w), a1)
                b0 = madd(s2, r.vload(rowStride), b0); b1 = madd(s2, r.vload(rowStride + w), b1)
                r += 2 * rowStride; c += 2 * coefStride; l += 2
            }
            if l < terms {
                let s = VecF(repeating: c.pointee)
                a0 = madd(s, r.vload(), a0); a1 = madd(s, r.vload(w), a1)
            }
            let av = VecF(repeating: alpha)
            let o = out + j
            if accumulate {
                o.vstore(madd(a0 + b0, av, o.vload()), 0); o.vstore(madd(a1 + b1, av, o.vload(w)), w)
            } else {
                o.vstore((a0 + b0) * av, 0); o.vstore((a1 + b1) * av, w)
            }
            j += 2 * w
        }
        while j + w <= n {
            var a0 = VecF(), b0 = VecF()
            var r = rows + j, c = coef
            var l = 0
            while l + 2 <= terms {
                a0 = madd(VecF(repeating: c.pointee), r.vload(), a0)
                b0 = madd(VecF(repeating: c[coefStride]), r.vload(rowStride), b0)
                r += 2 * rowStride; c += 2 * coefStride; l += 2
            }
            if l < terms { a0 = madd(VecF(repeating: c.pointee), r.vload(), a0) }
            let o = out + j
            o.vstore(accumulate ? madd(a0 + b0, VecF(repeating: alpha), o.vload()) : (a0 + b0) * VecF(repeating: alpha), 0)
            j += w
        }
        while j < n {
            var s: Float = 0
            for l in 0..<terms { s = madd(coef[l * coefStride], rows[l * rowStride + j], s) }
            out[j] = accumulate ? madd(s, alpha, out[j]) : s * alpha
            j += 1
        }
    }

    /// `combine` for up to four output rows at once, sharing each load of `rows` between them:
    /// `out[r·outStride + 0..<n] (+)= Σ_l alpha·coef[r·coefRowStride + l·coefStride] · rows[l·rowStride + 0..<n]`.
    /// Four rows × two vectors give eight independent accumulator chains, enough to keep both
    /// FMA units busy where a single row would wait on FMA latency.
    @inline(__always)
    static func combine4(count: Int, n: Int, terms: Int, coef: UnsafePointer<Float>, coefRowStride: Int, coefStride: Int,
                         alpha: Float, rows: UnsafePointer<Float>, rowStride: Int,
                         out: UnsafeMutablePointer<Float>, outStride: Int, accumulate: Bool) {
        guard count == 4 else {
            for r in 0..<count {
                combine(n: n, terms: terms, coef: coef + r * coefRowStride, coefStride: coefStride, alpha: alpha,
                        rows: rows, rowStride: rowStride, out: out + r * outStride, accumulate: accumulate)
            }
            return
        }
        let w = VecF.scalarCount
        let c0 = coef, c1 = coef + coefRowStride, c2 = coef + 2 * coefRowStride, c3 = coef + 3 * coefRowStride
        let av = VecF(repeating: alpha)
        @inline(__always) func put(_ v: VecF, _ o: UnsafeMutablePointer<Float>) {
            o.vstore(accumulate ? madd(v, av, o.vload()) : v * av)
        }
        var j = 0
        while j + 2 * w <= n {
            var a0 = VecF(), a1 = VecF(), a2 = VecF(), a3 = VecF()
            var b0 = VecF(), b1 = VecF(), b2 = VecF(), b3 = VecF()
            var r = rows + j
            var o = 0
            for _ in 0..<terms {
                let x0 = r.vload(), x1 = r.vload(w)
                let s0 = VecF(repeating: c0[o]), s1 = VecF(repeating: c1[o])
                let s2 = VecF(repeating: c2[o]), s3 = VecF(repeating: c3[o])
                a0 = madd(s0, x0, a0); b0 = madd(s0, x1, b0)
                a1 = madd(s1, x0, a1); b1 = madd(s1, x1, b1)
                a2 = madd(s2, x0, a2); b2 = madd(s2, x1, b2)
                a3 = madd(s3, x0, a3); b3 = madd(s3, x1, b3)
                r += rowStride; o += coefStride
            }
            let d = out + j
            put(a0, d); put(b0, d + w)
            put(a1, d + outStride); put(b1, d + outStride + w)
            put(a2, d + 2 * outStride); put(b2, d + 2 * outStride + w)
            put(a3, d + 3 * outStride); put(b3, d + 3 * outStride + w)
            j += 2 * w
        }
        while j + w <= n {
            var a0 = VecF(), a1 = VecF(), a2 = VecF(), a3 = VecF()
            var r = rows + j
            var o = 0
            for _ in 0..<terms {
                let x0 = r.vload()
                a0 = madd(VecF(repeating: c0[o]), x0, a0); a1 = madd(VecF(repeating: c1[o]), x0, a1)
                a2 = madd(VecF(repeating: c2[o]), x0, a2); a3 = madd(VecF(repeating: c3[o]), x0, a3)
                r += rowStride; o += coefStride
            }
            let d = out + j
            put(a0, d); put(a1, d + outStride); put(a2, d + 2 * outStride); put(a3, d + 3 * outStride)
            j += w
        }
        if j < n {
            for q in 0..<4 {
                combine(n: n - j, terms: terms, coef: coef + q * coefRowStride, coefStride: coefStride, alpha: alpha,
                        rows: rows + j, rowStride: rowStride, out: out + q * outStride + j, accumulate: accumulate)
            }
        }
    }

    /// Softmax of `n` floats in place, written as explicit vector loops (closure-based helpers
    /// were not reliably inlined here, and this runs once per attention row).
    @inline(__always) static func softmaxInPlace(_ s: UnsafeMutablePointer<Float>, _ n: Int) {
        let w = VecF.scalarCount
        guard n % w == 0 else {
            let mx = VecF(repeating: vmax(s, n))
            vmap(s, s, n) { vexp($0 - mx) }
            let inv = VecF(repeating: 1 / vsum(s, n))
            vmap(s, s, n) { $0 * inv }
            return
        }
        var m = VecF(repeating: -.infinity)
        var j = 0
        while j < n { let v = s.vload(j); m = m.replacing(with: v, where: v .> m); j += w }
        let mx = VecF(repeating: hmax(m))
        var sum = VecF()
        j = 0
        while j < n { let e = vexp(s.vload(j) - mx); s.vstore(e, j); sum += e; j += w }
        let inv = VecF(repeating: 1 / sum.sum())
        j = 0
        while j < n { s.vstore(s.vload(j) * inv, j); j += w }
    }

    /// `softmaxInPlace` of four rows `stride` apart, each `n` floats with `n` a multiple of the
    /// vector width, interleaved: the same operations, in the same order per row.
    @inline(__always) static func softmax4InPlace(_ s: UnsafeMutablePointer<Float>, stride: Int, _ n: Int) {
        let w = VecF.scalarCount
        let r0 = s, r1 = s + stride, r2 = s + 2 * stride, r3 = s + 3 * stride
        var m0 = VecF(repeating: -.infinity), m1 = m0, m2 = m0, m3 = m0
        var j = 0
        while j < n {
            let v0 = r0.vload(j), v1 = r1.vload(j), v2 = r2.vload(j), v3 = r3.vload(j)
            m0 = m0.replacing(with: v0, where: v0 .> m0); m1 = m1.replacing(with: v1, where: v1 .> m1)
            m2 = m2.replacing(with: v2, where: v2 .> m2); m3 = m3.replacing(with: v3, where: v3 .> m3)
            j += w
        }
        let x0 = VecF(repeating: hmax(m0)), x1 = VecF(repeating: hmax(m1))
        let x2 = VecF(repeating: hmax(m2)), x3 = VecF(repeating: hmax(m3))
        var s0 = VecF(), s1 = VecF(), s2 = VecF(), s3 = VecF()
        j = 0
        while j < n {
            let e0 = vexp(r0.vload(j) - x0), e1 = vexp(r1.vload(j) - x1)
            let e2 = vexp(r2.vload(j) - x2), e3 = vexp(r3.vload(j) - x3)
            r0.vstore(e0, j); r1.vstore(e1, j); r2.vstore(e2, j); r3.vstore(e3, j)
            s0 += e0; s1 += e1; s2 += e2; s3 += e3
            j += w
        }
        let i0 = VecF(repeating: 1 / s0.sum()), i1 = VecF(repeating: 1 / s1.sum())
        let i2 = VecF(repeating: 1 / s2.sum()), i3 = VecF(repeating: 1 / s3.sum())
        j = 0
        while j < n {
            r0.vstore(r0.vload(j) * i0, j); r1.vstore(r1.vload(j) * i1, j)
            r2.vstore(r2.vload(j) * i2, j); r3.vstore(r3.vload(j) * i3, j)
            j += w
        }
    }

    /// `min(t, len rounded up to whole vectors)`: computing to a vector boundary is cheaper than
    /// a scalar tail; the extra (masked) entries are overwritten.
    @inline(__always) static func span(_ len: Int, _ t: Int) -> Int {
        min(t, (len + VecF.scalarCount - 1) / VecF.scalarCount * VecF.scalarCount)
    }

    /// Forward pass. See the type's documentation for layouts.
    public static func forward(qkv: UnsafePointer<Float>, batch: Int, length t: Int, width c: Int, heads h: Int,
                               out: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>) {
        let d = c / h
        let scale = 1 / Float(d).squareRoot()
        let units = batch * h
        let rs = 3 * c
        ThreadPool.shared.parallelRanges(units, work: units * t * t * d * 2, threshold: 1 << 17) { range in
            let cap = BufferPool.roundedCapacity(d * t)
            let kt = BufferPool.shared.acquire(capacity: cap)
            defer { BufferPool.shared.release(kt, capacity: cap) }
            for u in range {
                let b = u / h, head = u % h
                let base = qkv + b * t * rs
                let q = base + head * d, k = base + c + head * d, v = base + 2 * c + head * d
                // Kᵀ as [D][T] so a score row is a combination of contiguous rows.
                transposeBlock(k, rows: t, cols: d, ld: rs, into: kt)
                let pBase = probs + u * t * t
                var i0 = 0
                while i0 < t {
                    let rowsHere = min(4, t - i0), lenMax = i0 + rowsHere
                    // Scores S[i, j] = q_i · k_j / √D for the block's rows.
                    combine4(count: rowsHere, n: span(lenMax, t), terms: d, coef: q + i0 * rs, coefRowStride: rs,
                             coefStride: 1, alpha: scale, rows: kt, rowStride: t, out: pBase + i0 * t, outStride: t,
                             accumulate: false)
                    for i in i0..<lenMax {
                        // Softmax over j ≤ i on whole vectors: masked entries are -inf, so exp
                        // gives exactly 0 there; past the span (untouched by the softmax) P is 0.
                        let srow = pBase + i * t, len = i + 1, sp = span(len, t)
                        if sp > len { (srow + len).update(repeating: -.infinity, count: sp - len) }
                        if sp < t { (srow + sp).update(repeating: 0, count: t - sp) }
                    }
                    let sp = span(lenMax, t)
                    if rowsHere == 4 && sp == span(i0 + 1, t) && sp % VecF.scalarCount == 0 {
                        // The block's four rows share one span: interleave their softmaxes,
                        // whose reductions are otherwise one long dependent chain per row.
                        softmax4InPlace(pBase + i0 * t, stride: t, sp)
                    } else {
                        for i in i0..<lenMax { softmaxInPlace(pBase + i * t, span(i + 1, t)) }
                    }
                    // Y_i = Σ_j P[i, j] V_j; P is zero above the diagonal, so every row of the
                    // block can run over the block's longest prefix.
                    combine4(count: rowsHere, n: d, terms: lenMax, coef: pBase + i0 * t, coefRowStride: t, coefStride: 1,
                             alpha: 1, rows: v, rowStride: rs, out: out + (b * t + i0) * c + head * d, outStride: c,
                             accumulate: false)
                    i0 += rowsHere
                }
            }
        }
    }

    /// Backward pass: accumulates (+=) the gradient with respect to `qkv` into `dQKV`, given
    /// `dOut` (`[B, T, C]`) and the `probs` saved by `forward`; `accumulate: false` overwrites
    /// it instead (every element is written exactly once).
    public static func backward(qkv: UnsafePointer<Float>, probs: UnsafePointer<Float>, dOut: UnsafePointer<Float>,
                                batch: Int, length t: Int, width c: Int, heads h: Int,
                                dQKV: UnsafeMutablePointer<Float>, accumulate: Bool = true) {
        let d = c / h
        let scale = 1 / Float(d).squareRoot()
        let units = batch * h
        let rs = 3 * c
        ThreadPool.shared.parallelRanges(units, work: units * t * t * d * 4, threshold: 1 << 17) { range in
            let cap = BufferPool.roundedCapacity(d * t + t * t)
            let scratch = BufferPool.shared.acquire(capacity: cap)
            defer { BufferPool.shared.release(scratch, capacity: cap) }
            let vt = scratch, ds = scratch + d * t
            let sv = VecF(repeating: scale)
            for u in range {
                let b = u / h, head = u % h
                let base = qkv + b * t * rs
                let q = base + head * d, k = base + c + head * d, v = base + 2 * c + head * d
                let gBase = dQKV + b * t * rs
                let dq = gBase + head * d, dk = gBase + c + head * d, dv = gBase + 2 * c + head * d
                let dy = dOut + b * t * c + head * d
                transposeBlock(v, rows: t, cols: d, ld: rs, into: vt)
                let p = probs + u * t * t
                var i0 = 0
                while i0 < t {
                    let rowsHere = min(4, t - i0), lenMax = i0 + rowsHere
                    // dP_i = dY_i Vᵀ for the block's rows
                    combine4(count: rowsHere, n: span(lenMax, t), terms: d, coef: dy + i0 * c, coefRowStride: c,
                             coefStride: 1, alpha: 1, rows: vt, rowStride: t, out: ds + i0 * t, outStride: t,
                             accumulate: false)
                    for i in i0..<lenMax {
                        // dS_i = P_i ⊙ (dP_i − P_i·dP_i) / √D; P is 0 above the diagonal, so the
                        // masked entries come out exactly 0.
                        let dsi = ds + i * t, pi = p + i * t, sp = span(i + 1, t)
                        let dot = VecF(repeating: vdot(sp, pi, dsi))
                        var j = 0
                        while j + VecF.scalarCount <= sp {
                            dsi.vstore(pi.vload(j) * (dsi.vload(j) - dot) * sv, j); j += VecF.scalarCount
                        }
                        while j < sp { dsi[j] = pi[j] * (dsi[j] - dot[0]) * scale; j += 1 }
                        if sp < t { (dsi + sp).update(repeating: 0, count: t - sp) }
                    }
                    // dQ_i += Σ_j dS[i, j] K_j
                    combine4(count: rowsHere, n: d, terms: lenMax, coef: ds + i0 * t, coefRowStride: t, coefStride: 1,
                             alpha: 1, rows: k, rowStride: rs, out: dq + i0 * rs, outStride: rs, accumulate: accumulate)
                    i0 += rowsHere
                }
                var j0 = 0
                while j0 < t {
                    let colsHere = min(4, t - j0)
                    // dK_j += Σ_{i≥j} dS[i, j] Q_i ; dV_j += Σ_{i≥j} P[i, j] dY_i (zeros below the
                    // diagonal let the block's columns share the range i ≥ j0).
                    combine4(count: colsHere, n: d, terms: t - j0, coef: ds + j0 * t + j0, coefRowStride: 1, coefStride: t,
                             alpha: 1, rows: q + j0 * rs, rowStride: rs, out: dk + j0 * rs, outStride: rs, accumulate: accumulate)
                    combine4(count: colsHere, n: d, terms: t - j0, coef: p + j0 * t + j0, coefRowStride: 1, coefStride: t,
                             alpha: 1, rows: dy + j0 * c, rowStride: c, out: dv + j0 * rs, outStride: rs, accumulate: accumulate)
                    j0 += colsHere
                }
            }
        }
    }
}

extension AttentionKernels {
    /// One decoding step against a key/value cache (generation with a KV cache): for each
    /// sequence `b` and head, the new query attends to the first `length` cached positions
    /// (which must already include the new token's key and value).
    ///
    /// - Parameters:
    ///   - query: `[B, C]`, the new token's query (heads side by side).
    ///   - keys, values: caches laid out `[B, capacity, C]`; positions `0..<length` are used.
    ///   - out: `[B, C]`, heads concatenated.
    ///
    /// Agrees with row `length − 1` of `forward` to rounding (the summation order differs).
    public static func decode(query: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
                              batch: Int, length: Int, capacity: Int, width c: Int, heads h: Int,
                              out: UnsafeMutablePointer<Float>) {
        let d = c / h
        let scale = 1 / Float(d).squareRoot()
        let units = batch * h
        ThreadPool.shared.parallelRanges(units, work: units * length * d * 2, threshold: 1 << 17) { range in
            let cap = BufferPool.roundedCapacity(length + VecF.scalarCount)
            let scores = BufferPool.shared.acquire(capacity: cap)
            defer { BufferPool.shared.release(scores, capacity: cap) }
            for u in range {
                let b = u / h, head = u % h
                let q = query + b * c + head * d
                let k = keys + b * capacity * c + head * d, v = values + b * capacity * c + head * d
                for j in 0..<length { scores[j] = vdot(d, q, k + j * c) * scale }
                let mx = VecF(repeating: vmax(scores, length))
                vmap(scores, scores, length) { vexp($0 - mx) }
                let inv = 1 / vsum(scores, length)
                combine(n: d, terms: length, coef: scores, coefStride: 1, alpha: inv,
                        rows: v, rowStride: c, out: out + b * c + head * d, accumulate: false)
            }
        }
    }
}

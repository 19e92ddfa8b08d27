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
                for j in 0..<t { for x in 0..<d { kt[x * t + j] = k[j * rs + x] } }
                let pBase = probs + u * t * t
                for i in 0..<t {
                    let srow = pBase + i * t
                    let len = i + 1
                    // Whole vectors up to `span` beat a scalar tail; the extra entries are zeroed below.
                    let span = min(t, (len + VecF.scalarCount - 1) / VecF.scalarCount * VecF.scalarCount)
                    combine(n: span, terms: d, coef: q + i * rs, coefStride: 1, alpha: scale,
                            rows: kt, rowStride: t, out: srow, accumulate: false)
                    // Softmax over whole vectors: masked entries become -inf, so exp sends them
                    // to ~0, and they are zeroed afterwards.
                    if span > len { (srow + len).update(repeating: -.infinity, count: span - len) }
                    let mx = VecF(repeating: vmax(srow, span))
                    vmap(srow, srow, span) { vexp($0 - mx) }
                    let inv = VecF(repeating: 1 / vsum(srow, span))
                    vmap(srow, srow, span) { $0 * inv }
                    if len < t { (srow + len).update(repeating: 0, count: t - len) }
                    combine(n: d, terms: len, coef: srow, coefStride: 1, alpha: 1,
                            rows: v, rowStride: rs, out: out + (b * t + i) * c + head * d, accumulate: false)
                }
            }
        }
    }

    /// Backward pass: accumulates (+=) the gradient with respect to `qkv` into `dQKV`, given
    /// `dOut` (`[B, T, C]`) and the `probs` saved by `forward`.
    public static func backward(qkv: UnsafePointer<Float>, probs: UnsafePointer<Float>, dOut: UnsafePointer<Float>,
                                batch: Int, length t: Int, width c: Int, heads h: Int,
                                dQKV: UnsafeMutablePointer<Float>) {
        let d = c / h
        let scale = 1 / Float(d).squareRoot()
        let units = batch * h
        let rs = 3 * c
        ThreadPool.shared.parallelRanges(units, work: units * t * t * d * 4, threshold: 1 << 17) { range in
            let cap = BufferPool.roundedCapacity(d * t + t * t)
            let scratch = BufferPool.shared.acquire(capacity: cap)
            defer { BufferPool.shared.release(scratch, capacity: cap) }
            let vt = scratch, ds = scratch + d * t
            for u in range {
                let b = u / h, head = u % h
                let base = qkv + b * t * rs
                let q = base + head * d, k = base + c + head * d, v = base + 2 * c + head * d
                let gBase = dQKV + b * t * rs
                let dq = gBase + head * d, dk = gBase + c + head * d, dv = gBase + 2 * c + head * d
                let dy = dOut + b * t * c + head * d
                for j in 0..<t { for x in 0..<d { vt[x * t + j] = v[j * rs + x] } }
                let p = probs + u * t * t
                // dS row by row: dP_i = dY_i Vᵀ, then dS_i = P_i ⊙ (dP_i − P_i · dP_i), scaled by 1/√D.
                for i in 0..<t {
                    let len = i + 1
                    let dsi = ds + i * t, pi = p + i * t
                    let span = min(t, (len + VecF.scalarCount - 1) / VecF.scalarCount * VecF.scalarCount)
                    combine(n: span, terms: d, coef: dy + i * c, coefStride: 1, alpha: 1,
                            rows: vt, rowStride: t, out: dsi, accumulate: false)
                    // P is zero above the diagonal, so whole-vector spans give exact zeros there.
                    let dot = VecF(repeating: vdot(span, pi, dsi))
                    let sv = VecF(repeating: scale)
                    vmap2(pi, dsi, dsi, span) { p, g in p * (g - dot) * sv }
                    if span < t { (dsi + span).update(repeating: 0, count: t - span) }
                }
                for i in 0..<t {
                    // dQ_i += Σ_{j≤i} dS[i, j] K_j
                    combine(n: d, terms: i + 1, coef: ds + i * t, coefStride: 1, alpha: 1,
                            rows: k, rowStride: rs, out: dq + i * rs, accumulate: true)
                }
                for j in 0..<t {
                    // dK_j += Σ_{i≥j} dS[i, j] Q_i ; dV_j += Σ_{i≥j} P[i, j] dY_i
                    combine(n: d, terms: t - j, coef: ds + j * t + j, coefStride: t, alpha: 1,
                            rows: q + j * rs, rowStride: rs, out: dk + j * rs, accumulate: true)
                    combine(n: d, terms: t - j, coef: p + j * t + j, coefStride: t, alpha: 1,
                            rows: dy + j * c, rowStride: c, out: dv + j * rs, accumulate: true)
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

// Narrow outputs (N ≤ 12 columns: a 10-class or 2-class head) with AVX-512, for row-major A.
//
// The general kernel puts output columns in vector lanes, so N = 10 fills 10 of 16 lanes and
// every 12-row panel pays for packing A and a ragged store. Here the lanes run along k instead:
// each output is a dot product of a contiguous row of A with a row of op(B)ᵀ, so A is read in
// place with no packing and every multiply-add lane is useful (for any N, and k a multiple of
// 16). Two rows of A share each loaded row of Bᵀ; 2 × N accumulators hold 16 partial sums each.
// Eight rows' accumulators are then reduced together, 16 at a time, by transposing them in
// registers and adding the 16 transposed rows, which leaves the sums in C's row-major order.
//
// Each output's additions run in a fixed order (16 interleaved chains over k, then the lanes in
// order), and threads own whole 8-row blocks, so results do not depend on the thread count.

#if SUPERALIGN_AVX512
/// An output width known at compile time, so that the narrow kernel's column loop is unrolled
/// to exactly N columns with every accumulator in a register (a run-time N kept them in memory).
protocol NarrowWidth { static var n: Int { get } }
enum NarrowWidth1: NarrowWidth { static var n: Int { 1 } }
enum NarrowWidth2: NarrowWidth { static var n: Int { 2 } }
enum NarrowWidth3: NarrowWidth { static var n: Int { 3 } }
enum NarrowWidth4: NarrowWidth { static var n: Int { 4 } }
enum NarrowWidth5: NarrowWidth { static var n: Int { 5 } }
enum NarrowWidth6: NarrowWidth { static var n: Int { 6 } }
enum NarrowWidth7: NarrowWidth { static var n: Int { 7 } }
enum NarrowWidth8: NarrowWidth { static var n: Int { 8 } }
enum NarrowWidth9: NarrowWidth { static var n: Int { 9 } }
enum NarrowWidth10: NarrowWidth { static var n: Int { 10 } }
enum NarrowWidth11: NarrowWidth { static var n: Int { 11 } }
enum NarrowWidth12: NarrowWidth { static var n: Int { 12 } }

extension Matmul {
    /// Widest output the narrow kernel handles (2 rows × 12 columns = 24 accumulators).
    static let narrowMaxN = 12
    /// Rows whose accumulators are reduced together.
    static let narrowBlockRows = 8

    /// Whether `gemm` routes this shape to the narrow kernel.
    @inline(__always) static func usesNarrowKernel(m: Int, n: Int, transposeA: Bool) -> Bool {
        !transposeA && n <= narrowMaxN && m >= narrowBlockRows
    }

    /// `C (+)= A · op(B) (+ bias)` for row-major A and N ≤ 12; threads split whole 8-row blocks.
    static func gemmNarrow(m: Int, n: Int, k: Int,
                           a: UnsafePointer<Float>, lda: Int,
                           b: UnsafePointer<Float>, ldb: Int, tb: Bool,
                           c: UnsafeMutablePointer<Float>, ldc: Int,
                           accumulate: Bool, bias: UnsafePointer<Float>?, parts: Int) {
        let w = VecF.scalarCount
        let kp = (k + w - 1) / w * w
        // op(B)ᵀ as [n][kp], zero beyond k; + a 16-row block of slack for the transposing packer.
        let btCap = BufferPool.roundedCapacity(max(n, w) * kp + w * w)
        let bt = BufferPool.shared.acquire(capacity: btCap)
        // The bias repeated along one block of C rows, so the epilogue runs on whole vectors.
        let blockCount = narrowBlockRows * n
        let patternCap = BufferPool.roundedCapacity(blockCount + w)
        let pattern = BufferPool.shared.acquire(capacity: patternCap)
        defer {
            BufferPool.shared.release(bt, capacity: btCap)
            BufferPool.shared.release(pattern, capacity: patternCap)
        }
        packNarrowB(b, ldb: ldb, transposed: tb, k: k, n: n, kp: kp, into: bt)
        for i in 0..<blockCount { pattern[i] = bias?[i % n] ?? 0 }

        let btc = UnsafePointer(bt), pc = UnsafePointer(pattern)
        // Concrete types here so that each width gets its own specialized kernel.
        switch n {
        case 1: narrowRun(NarrowWidth1.self, m: m, k: k, kp: kp, a: a, lda: lda, bt: btc, c: c, ldc: ldc, accumulate: accumulate, pattern: pc, parts: parts)
        case 2: narrowRun(NarrowWidth2.self, m: m, k: k, kp: kp, a: a, lda: lda, bt: btc, c: c, ldc: ldc, accumulate: accumulate, pattern: pc, parts: parts)
        case 3: narrowRun(NarrowWidth3.self, m: m, k: k, kp: kp, a: a, lda: lda, bt: btc, c: c, ldc: ldc, accumulate: accumulate, pattern: pc, parts: parts)
        case 4: narrowRun(NarrowWidth4.self, m: m, k: k, kp: kp, a: a, lda: lda, bt: btc, c: c, ldc: ldc, accumulate: accumulate, pattern: pc, parts: parts)
        case 5: narrowRun(NarrowWidth5.self, m: m, k: k, kp: kp, a: a, lda: lda, bt: btc, c: c, ldc: ldc, accumulate: accumulate, pattern: pc, parts: parts)
        case 6: narrowRun(NarrowWidth6.self, m: m, k: k, kp: kp, a: a, lda: lda, bt: btc, c: c, ldc: ldc, accumulate: accumulate, pattern: pc, parts: parts)
        case 7: narrowRun(NarrowWidth7.self, m: m, k: k, kp: kp, a: a, lda: lda, bt: btc, c: c, ldc: ldc, accumulate: accumulate, pattern: pc, parts: parts)
        case 8: narrowRun(NarrowWidth8.self, m: m, k: k, kp: kp, a: a, lda: lda, bt: btc, c: c, ldc: ldc, accumulate: accumulate, pattern: pc, parts: parts)
        case 9: narrowRun(NarrowWidth9.self, m: m, k: k, kp: kp, a: a, lda: lda, bt: btc, c: c, ldc: ldc, accumulate: accumulate, pattern: pc, parts: parts)
        case 10: narrowRun(NarrowWidth10.self, m: m, k: k, kp: kp, a: a, lda: lda, bt: btc, c: c, ldc: ldc, accumulate: accumulate, pattern: pc, parts: parts)
        case 11: narrowRun(NarrowWidth11.self, m: m, k: k, kp: kp, a: a, lda: lda, bt: btc, c: c, ldc: ldc, accumulate: accumulate, pattern: pc, parts: parts)
        default: narrowRun(NarrowWidth12.self, m: m, k: k, kp: kp, a: a, lda: lda, bt: btc, c: c, ldc: ldc, accumulate: accumulate, pattern: pc, parts: parts)
        }
    }

    /// Splits the 8-row blocks over `parts` threads.
    @inline(__always)
    static func narrowRun<W: NarrowWidth>(_: W.Type, m: Int, k: Int, kp: Int,
                                          a: UnsafePointer<Float>, lda: Int, bt: UnsafePointer<Float>,
                                          c: UnsafeMutablePointer<Float>, ldc: Int,
                                          accumulate: Bool, pattern: UnsafePointer<Float>, parts: Int) {
        let blocks = (m + narrowBlockRows - 1) / narrowBlockRows
        let parts = min(parts, blocks)
        if parts <= 1 {
            narrowBlocks(W.self, 0..<blocks, m: m, k: k, kp: kp, a: a, lda: lda, bt: bt, c: c, ldc: ldc,
                         accumulate: accumulate, pattern: pattern)
            return
        }
        ThreadPool.shared.run(tasks: parts) { p in
            let s0 = blocks * p / parts, s1 = blocks * (p + 1) / parts
            if s0 < s1 {
                narrowBlocks(W.self, s0..<s1, m: m, k: k, kp: kp, a: a, lda: lda, bt: bt, c: c, ldc: ldc,
                             accumulate: accumulate, pattern: pattern)
            }
        }
    }

    /// Packs op(B)ᵀ (n × k) as rows of `kp` floats, zero past k.
    static func packNarrowB(_ b: UnsafePointer<Float>, ldb: Int, transposed: Bool, k: Int, n: Int, kp: Int,
                            into d: UnsafeMutablePointer<Float>) {
        let w = VecF.scalarCount
        if transposed {
            // B is stored [N, K]: its rows are already op(B)ᵀ's rows.
            for j in 0..<n {
                let src = b + j * ldb, dst = d + j * kp
                var p = 0
                while p + w <= k { dst.vstore(src.vload(p), p); p += w }
                if p < k { dst.vstore(vloadPartial(src + p, k - p), p) }
            }
            return
        }
        // B is [K, N]: transpose 16 k rows at a time. A 16-float read of a k row runs into the
        // next rows, which is harmless (those lanes become rows ≥ n of the output, not used)
        // while it stays inside B; the last rows, where it would not, are copied one by one.
        let span = (k - 1) * ldb + n - w
        let whole = span >= 0 ? span / ldb + 1 : 0
        var p = 0
        while p + w <= whole {
            transposeStore16(b + p * ldb, ld: ldb, validRows: w, into: d + p, stride: kp)
            p += w
        }
        while p < k {
            for j in 0..<n { d[j * kp + p] = b[p * ldb + j] }
            p += 1
        }
        for j in 0..<n { for q in k..<kp { d[j * kp + q] = 0 } }
    }

    /// Serial work of one thread: whole 8-row blocks.
    static func narrowBlocks<W: NarrowWidth>(_: W.Type, _ blocks: Range<Int>, m: Int, k: Int, kp: Int,
                             a: UnsafePointer<Float>, lda: Int, bt: UnsafePointer<Float>,
                             c: UnsafeMutablePointer<Float>, ldc: Int,
                             accumulate: Bool, pattern: UnsafePointer<Float>) {
        let w = VecF.scalarCount, br = narrowBlockRows, n = W.n
        let count = br * n                                   // outputs per block
        let groups = (count + w - 1) / w
        // Accumulators [count][16], one transposed group [16][16], the block's sums.
        let cap = BufferPool.roundedCapacity(groups * w * w + w * w + groups * w)
        let buf = BufferPool.shared.acquire(capacity: cap)
        defer { BufferPool.shared.release(buf, capacity: cap) }
        let accs = buf, turned = buf + groups * w * w, sums = turned + w * w
        for s in blocks {
            let i0 = s * br
            let rows = min(br, m - i0)
            var r = 0
            while r < br {
                // A missing row (the last block of an m that is not a multiple of 8) repeats a
                // valid one; its sums are never stored.
                let r0 = min(i0 + r, m - 1), r1 = min(i0 + r + 1, m - 1)
                narrowPair(W.self, k: k, a0: a + r0 * lda, a1: a + r1 * lda, bt: bt, kp: kp,
                           acc0: accs + r * n * w, acc1: accs + (r + 1) * n * w)
                r += 2
            }
            // Zero the unused accumulators of the last group so its transpose reads zeros.
            for q in count..<(groups * w) { accs.vstore(VecF(), q * w) }
            for g in 0..<groups {
                transposeStore16(accs + g * w * w, ld: w, validRows: w, into: turned, stride: w)
                var total = turned.vload(0)
                for q in 1..<w { total += turned.vload(q * w) }
                sums.vstore(total, g * w)
            }
            storeNarrow(sums, rows: rows, n: n, c: c + i0 * ldc, ldc: ldc, addC: accumulate, pattern: pattern)
        }
    }

    /// Dot products of two A rows with the n rows of Bᵀ: 16 partial sums per output, written to
    /// `acc0` / `acc1` as [n][16].
    @inline(__always)
    static func narrowPair<W: NarrowWidth>(_: W.Type, k: Int, a0: UnsafePointer<Float>, a1: UnsafePointer<Float>,
                                           bt: UnsafePointer<Float>, kp: Int,
                                           acc0: UnsafeMutablePointer<Float>, acc1: UnsafeMutablePointer<Float>) {
        let w = VecF.scalarCount, n = W.n
        var x0 = VecF(), x1 = VecF(), x2 = VecF(), x3 = VecF(), x4 = VecF(), x5 = VecF()
        var x6 = VecF(), x7 = VecF(), x8 = VecF(), x9 = VecF(), x10 = VecF(), x11 = VecF()
        var y0 = VecF(), y1 = VecF(), y2 = VecF(), y3 = VecF(), y4 = VecF(), y5 = VecF()
        var y6 = VecF(), y7 = VecF(), y8 = VecF(), y9 = VecF(), y10 = VecF(), y11 = VecF()
        var p = 0
        while p < k {
            let u: VecF, v: VecF
            if p + w <= k { u = a0.vload(p); v = a1.vload(p) } else {
                u = vloadPartial(a0 + p, k - p); v = vloadPartial(a1 + p, k - p)
            }
            var q = bt + p
            // `n` is a compile-time constant here, so these tests vanish.
            @inline(__always) func step(_ x: inout VecF, _ y: inout VecF) {
                let bj = q.vload(); x = madd(u, bj, x); y = madd(v, bj, y); q += kp
            }
            step(&x0, &y0)
            if n > 1 { step(&x1, &y1) }
            if n > 2 { step(&x2, &y2) }
            if n > 3 { step(&x3, &y3) }
            if n > 4 { step(&x4, &y4) }
            if n > 5 { step(&x5, &y5) }
            if n > 6 { step(&x6, &y6) }
            if n > 7 { step(&x7, &y7) }
            if n > 8 { step(&x8, &y8) }
            if n > 9 { step(&x9, &y9) }
            if n > 10 { step(&x10, &y10) }
            if n > 11 { step(&x11, &y11) }
            p += w
        }
        @inline(__always) func put(_ j: Int, _ x: VecF, _ y: VecF) {
            if j < n { acc0.vstore(x, j * w); acc1.vstore(y, j * w) }
        }
        put(0, x0, y0); put(1, x1, y1); put(2, x2, y2); put(3, x3, y3); put(4, x4, y4); put(5, x5, y5)
        put(6, x6, y6); put(7, x7, y7); put(8, x8, y8); put(9, x9, y9); put(10, x10, y10); put(11, x11, y11)
    }

    /// Writes one block's sums (row-major, `rows × n`): `C = (sum + bias) + (addC ? C : 0)`,
    /// whole vectors when C is dense.
    @inline(__always)
    static func storeNarrow(_ sums: UnsafePointer<Float>, rows: Int, n: Int,
                            c: UnsafeMutablePointer<Float>, ldc: Int, addC: Bool, pattern: UnsafePointer<Float>) {
        let w = VecF.scalarCount
        if ldc == n {
            let count = rows * n
            var i = 0
            while i + w <= count {
                var x = sums.vload(i) + pattern.vload(i)
                if addC { x += c.vload(i) }
                c.vstore(x, i)
                i += w
            }
            if i < count {
                var x = sums.vload(i) + pattern.vload(i)
                if addC { x += vloadPartial(c + i, count - i) }
                vstorePartial(x, c + i, count - i)
            }
            return
        }
        for r in 0..<rows {
            let row = c + r * ldc
            for j in 0..<n {
                let x = sums[r * n + j] + pattern[j]
                row[j] = addC ? x + row[j] : x
            }
        }
    }
}
#endif

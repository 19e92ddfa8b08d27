/// Matrix multiply: `C = op(A) · op(B)` or `C += op(A) · op(B)`, with an optional bias row,
/// where `op(X)` is `X` or `Xᵀ`. Float32, row-major.
///
/// Design (Goto/BLIS): B is packed a `kc × nc` block at a time (sized for L2), A one `mr`-row
/// panel at a time (L1), and a register-blocked micro-kernel (`Matmul+MicroKernels.swift`)
/// updates an `mr × nr` tile of C per call. The micro-kernel shape is chosen at compile time by
/// the `SUPERALIGN_AVX512` / `SUPERALIGN_AVX2` / `SUPERALIGN_NEON` defines that
/// `Scripts/build-flags.sh` passes with the matching `-target-cpu` (8×32, 6×16, 8×8; a 4×8
/// baseline without fused multiply-add otherwise).
///
/// Threads split C into disjoint row or column ranges; every output element is reduced over
/// `k` by one thread in a fixed order, so results are bit-identical for any thread count.
///
/// ```swift
/// // y[M, out] = x[M, in] · W[out, in]ᵀ + b   (a linear layer, weights stored like PyTorch)
/// Matmul.gemm(m: M, n: out, k: inDim, a: x.data, lda: inDim, b: w.data, ldb: inDim, transposeB: true,
///             c: y.data, ldc: out, bias: b.data)
/// // dW[out, in] += dyᵀ · x   (accumulate into a gradient)
/// Matmul.gemm(m: out, n: inDim, k: M, a: dy.data, lda: out, transposeA: true,
///             b: x.data, ldb: inDim, c: dw.data, ldc: inDim, accumulate: true)
/// ```
public enum Matmul {
    /// k-block length (packed B block rows).
    static let kcMax = 256
    /// Column block width: a kc × nc packed B block is 512 KiB, half a typical L2.
    static let ncMax = 512
    /// Below this many multiply-adds a second thread costs more than it saves.
    public static var parallelThreshold = 1 << 19
    /// Whether row-major A is read in place (not packed) for blocks of two to four wide panels
    /// (N ≤ 128 with AVX-512). Measured per microarchitecture, 2048×512×128, one thread:
    /// Intel Cascade Lake, in place ≈ 1.5× faster than packing; AMD Zen 5, packing 153 → 217
    /// GFLOP/s (the 12 strided row streams of the in-place kernel cost more than the pack).
    /// Results are bit-identical either way (same products, same order).
    public static var readsRowMajorAInPlace: Bool = !isAMD
    /// Whether row-major A is read in place for a single narrow panel (N ≤ one vector, e.g.
    /// 2048×128×16). Intel Cascade Lake: slower (12 multiply-adds per k hide too little of the 12
    /// strided rows' address arithmetic); AMD Zen 5: 153 → 217 GFLOP/s, since packing A reads
    /// and writes all of it for one use.
    public static var readsNarrowRowMajorAInPlace: Bool = isAMD
    static let isAMD = BuildInfo.runningCPUVendor() == "AuthenticAMD"

    /// `C[m×n] (+)= op(A)[m×k] · op(B)[k×n] (+ bias[n])`, pointer level.
    ///
    /// - Parameters:
    ///   - a: `m×k` with row stride `lda`, or if `transposeA`, stored `k×m` with row stride `lda`.
    ///   - b: `k×n` with row stride `ldb`, or if `transposeB`, stored `n×k` with row stride `ldb`.
    ///   - c: `m×n` output with row stride `ldc`.
    ///   - accumulate: add to the existing C (β = 1) instead of overwriting it.
    ///   - bias: `n` floats added to every row of the product.
    ///   - threads: thread cap for this call (default: `ThreadPool.shared.threadCount`).
    public static func gemm(m: Int, n: Int, k: Int,
                            a: UnsafePointer<Float>, lda: Int, transposeA: Bool = false,
                            b: UnsafePointer<Float>, ldb: Int, transposeB: Bool = false,
                            c: UnsafeMutablePointer<Float>, ldc: Int,
                            accumulate: Bool = false, bias: UnsafePointer<Float>? = nil,
                            threads: Int? = nil) {
        guard m > 0, n > 0 else { return }
        if k == 0 {
            for i in 0..<m {
                let row = c + i * ldc
                for j in 0..<n { row[j] = (accumulate ? row[j] : 0) + (bias?[j] ?? 0) }
            }
            return
        }
        let pool = ThreadPool.shared
        let t = min(threads ?? pool.threadCount, pool.threadCount)
        let work = m * n * k
        #if SUPERALIGN_AVX512
        if usesNarrowKernel(m: m, n: n, transposeA: transposeA) {
            gemmNarrow(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, tb: transposeB,
                       c: c, ldc: ldc, accumulate: accumulate, bias: bias,
                       parts: t <= 1 || work < parallelThreshold ? 1 : t)
            return
        }
        #endif
        // Split the larger output dimension, in whole register tiles.
        let splitN = n >= m && n >= 2 * nr
        let grain = splitN ? nr : mr
        let units = ((splitN ? n : m) + grain - 1) / grain
        let parts = (t <= 1 || work < parallelThreshold) ? 1 : min(t, units)
        if parts == 1 {
            block(rows: 0..<m, cols: 0..<n, k: k, a: a, lda: lda, ta: transposeA, b: b, ldb: ldb,
                  tb: transposeB, c: c, ldc: ldc, accumulate: accumulate, bias: bias)
            return
        }
        pool.run(tasks: parts) { p in
            let u0 = units * p / parts, u1 = units * (p + 1) / parts
            let dim = splitN ? n : m
            let r = min(dim, u0 * grain)..<min(dim, u1 * grain)
            if r.isEmpty { return }
            block(rows: splitN ? 0..<m : r, cols: splitN ? r : 0..<n, k: k, a: a, lda: lda, ta: transposeA,
                  b: b, ldb: ldb, tb: transposeB, c: c, ldc: ldc, accumulate: accumulate, bias: bias)
        }
    }

    /// Serial multiply of one rectangle of C.
    static func block(rows: Range<Int>, cols: Range<Int>, k: Int,
                      a: UnsafePointer<Float>, lda: Int, ta: Bool,
                      b: UnsafePointer<Float>, ldb: Int, tb: Bool,
                      c: UnsafeMutablePointer<Float>, ldc: Int,
                      accumulate: Bool, bias: UnsafePointer<Float>?) {
        let n = cols.count
        // Balanced blocks (784 = 4 × 196 rather than 3 × 256 + 16) keep every kernel call long.
        let kBlocks = (k + kcMax - 1) / kcMax
        let kcStep = (k + kBlocks - 1) / kBlocks
        let nBlocks = (n + ncMax - 1) / ncMax
        let ncStep = ((n + nBlocks - 1) / nBlocks + nr - 1) / nr * nr
        let bCap = BufferPool.roundedCapacity(kcStep * (ncStep + nr))
        // + one vector per panel: the A packers' last store may run up to 4 floats past a panel.
        // A stored transposed is packed `transposedChunk` panels at a time (see below).
        let panelStride = kcStep * mr + VecF.scalarCount
        let aCap = BufferPool.roundedCapacity(panelStride * (ta ? transposedChunk : 1))
        let bPack = BufferPool.shared.acquire(capacity: bCap)
        let aPack = BufferPool.shared.acquire(capacity: aCap)
        defer {
            BufferPool.shared.release(bPack, capacity: bCap)
            BufferPool.shared.release(aPack, capacity: aCap)
        }
        var jc = 0
        while jc < n {
            let nc = min(ncStep, n - jc)
            var pc = 0
            while pc < k {
                let kc = min(kcStep, k - pc)
                packB(b, ldb: ldb, transposed: tb, pc: pc, kc: kc, jc: cols.lowerBound + jc, nc: nc, into: bPack)
                let addC = accumulate || pc > 0
                let biasHere = pc == 0 ? bias.map { $0 + cols.lowerBound + jc } : nil
                // A is read in place when that costs no more than packing it: always when it is
                // stored transposed (mr contiguous floats per k), and for row-major A when the
                // block has at most four panels to reuse a packed copy (N ≤ 128 with AVX-512:
                // narrow heads and the width-128 layers, where packing costs as much as a
                // sizeable share of the multiply; measured 2048×512×128 ≈ 1.5× faster).
                // A single narrow panel (N ≤ one vector): its kernel does 12 multiply-adds per k,
                // too few to hide the address arithmetic of 12 strided rows on Intel, but packing
                // costs more on AMD (see `readsNarrowRowMajorAInPlace`).
                //
                // Transposed A (a weight gradient dyᵀ·x, k = batch rows) is packed for wider
                // blocks, several panels at a time: each stored k row then gives a long
                // contiguous read instead of 12 floats per cache-line visit (384×2048×128 spent
                // 24% of its time packing panel by panel; measured 83–92 → 97–99 GFLOP/s).
                let direct = ta ? nc <= 2 * nr
                    : nc > nrNarrow ? readsRowMajorAInPlace && nc <= 4 * nr : readsNarrowRowMajorAInPlace
                var ir = rows.lowerBound
                while ir < rows.upperBound {
                    let mv = min(mr, rows.upperBound - ir)
                    let inPlace = direct && mv == mr
                    var aPanel = UnsafePointer(aPack)
                    if !inPlace {
                        if ta {
                            // An in-place block packs only its ragged last panel; the others pack
                            // `transposedChunk` panels per pass and use them in turn.
                            let slot = direct ? 0 : (ir - rows.lowerBound) / mr % transposedChunk
                            if slot == 0 {
                                let count = direct ? mv : min(transposedChunk * mr, rows.upperBound - ir)
                                packTransposedAChunk(a, lda: lda, i0: ir, rowCount: count, rowEnd: rows.upperBound,
                                                     pc: pc, kc: kc, into: aPack, panelStride: panelStride)
                            }
                            aPanel = UnsafePointer(aPack + slot * panelStride)
                        } else {
                            packA(a, lda: lda, i0: ir, mv: mv, pc: pc, kc: kc, into: aPack)
                        }
                    }
                    let aBase = ta ? a + pc * lda + ir : a + ir * lda + pc
                    let cRow = c + ir * ldc + cols.lowerBound + jc
                    var j = 0
                    var bp = UnsafePointer(bPack)
                    while j < nc {
                        let pw = panelWidth(remaining: nc - j)
                        let nv = min(pw, nc - j)
                        let bj = biasHere.map { $0 + j }
                        if pw == nr {
                            if !inPlace {
                                kernelWide(kc, aPanel, cs: mr, bp, cRow + j, ldc, mv, nv, addC, bj)
                            } else if ta {
                                kernelWide(kc, aBase, cs: lda, bp, cRow + j, ldc, mv, nv, addC, bj)
                            } else {
                                kernelWideRows(kc, aBase, lda: lda, bp, cRow + j, ldc, mv, nv, addC, bj)
                            }
                        } else {
                            if !inPlace {
                                kernelNarrow(kc, aPanel, cs: mr, bp, cRow + j, ldc, mv, nv, addC, bj)
                            } else if ta {
                                kernelNarrow(kc, aBase, cs: lda, bp, cRow + j, ldc, mv, nv, addC, bj)
                            } else {
                                kernelNarrowRows(kc, aBase, lda: lda, bp, cRow + j, ldc, mv, nv, addC, bj)
                            }
                        }
                        bp += kc * pw
                        j += pw
                    }
                    ir += mr
                }
                pc += kc
            }
            jc += nc
        }
    }

    /// `batch` independent multiplies `C_i (+)= op(A_i) · op(B_i)` with fixed strides between
    /// consecutive matrices (e.g. attention heads). Batches are spread over threads; each one is
    /// computed serially, so results do not depend on the thread count.
    public static func gemmBatched(batch: Int, m: Int, n: Int, k: Int,
                                   a: UnsafePointer<Float>, lda: Int, strideA: Int, transposeA: Bool = false,
                                   b: UnsafePointer<Float>, ldb: Int, strideB: Int, transposeB: Bool = false,
                                   c: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int,
                                   accumulate: Bool = false) {
        guard batch > 0, m > 0, n > 0 else { return }
        ThreadPool.shared.parallelRanges(batch, work: batch * m * n * max(k, 1), threshold: parallelThreshold) { r in
            for i in r {
                gemm(m: m, n: n, k: k, a: a + i * strideA, lda: lda, transposeA: transposeA,
                     b: b + i * strideB, ldb: ldb, transposeB: transposeB,
                     c: c + i * strideC, ldc: ldc, accumulate: accumulate, threads: 1)
            }
        }
    }

    /// Tensor-level multiply of 2-D tensors: returns `op(a) · op(b)`, or accumulates into `out`.
    ///
    /// ```swift
    /// let c = try Matmul.multiply(a, b, transposeB: true)   // a[M,K] · b[N,K]ᵀ → [M,N]
    /// ```
    @discardableResult
    public static func multiply(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false,
                                into out: Tensor? = nil, accumulate: Bool = false) throws -> Tensor {
        guard a.rank == 2, b.rank == 2 else {
            throw TensorError.shapeMismatch(op: "matmul", shapes: [a.shape, b.shape], detail: "operands must be 2-D")
        }
        let (m, k) = transposeA ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
        let (k2, n) = transposeB ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
        guard k == k2 else {
            throw TensorError.shapeMismatch(op: "matmul", shapes: [a.shape, b.shape],
                                            detail: "inner dimensions \(k) and \(k2) differ (transposeA: \(transposeA), transposeB: \(transposeB))")
        }
        let c: Tensor
        if let out {
            guard out.shape == [m, n] else {
                throw TensorError.shapeMismatch(op: "matmul", shapes: [a.shape, b.shape, out.shape],
                                                detail: "output must be [\(m), \(n)]")
            }
            c = out
        } else {
            c = Tensor.zerosUnchecked([m, n])
        }
        gemm(m: m, n: n, k: k, a: a.data, lda: a.shape[1], transposeA: transposeA,
             b: b.data, ldb: b.shape[1], transposeB: transposeB, c: c.data, ldc: n,
             accumulate: accumulate && out != nil)
        return c
    }
}

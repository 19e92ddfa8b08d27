// Packing for the Goto/BLIS-style matrix multiply. Packing copies a block of each operand into
// the exact order the micro-kernel reads it, so the inner loop touches memory sequentially
// whatever the operand's layout. Transposed operands are handled here, by reading them in a
// different order, which is why the multiply never materializes a transpose.

extension Matmul {
    /// Width of the B panel starting at column offset `j` of an `nc`-wide block: wide panels,
    /// except a final remainder that fits one vector gets a narrow panel (half the padding).
    @inline(__always) static func panelWidth(remaining: Int) -> Int {
        remaining >= nr ? nr : (remaining <= nrNarrow ? nrNarrow : nr)
    }

    /// Packs op(B)[pc..<pc+kc, jc..<jc+nc] into consecutive panels laid out [k][width],
    /// zero-padding the last panel's missing columns.
    static func packB(_ b: UnsafePointer<Float>, ldb: Int, transposed: Bool,
                      pc: Int, kc: Int, jc: Int, nc: Int, into dest: UnsafeMutablePointer<Float>) {
        var d = dest
        var j = 0
        if !transposed && nc >= 2 * nr {
            // B is [K, N] and the block spans several wide panels: walk it one k row at a time,
            // so each row's panels come from one contiguous read. Panel by panel, every k step
            // would jump a whole row ahead, which the prefetchers do not follow across pages
            // (packing was 27% of 128×2048×512 with A transposed, B streamed from memory).
            let full = nc / nr
            let w = VecF.scalarCount
            for p in 0..<kc {
                let src = b + (pc + p) * ldb + jc
                for q in 0..<full {
                    let dst = dest + q * kc * nr + p * nr
                    dst.vstore(src.vload(q * nr), 0)
                    dst.vstore(src.vload(q * nr + w), w)
                }
            }
            d += full * kc * nr
            j = full * nr
        }
        while j < nc {
            let pw = panelWidth(remaining: nc - j)
            let valid = min(pw, nc - j)
            if !transposed {
                // B is [K, N]: each k row of the panel is a contiguous run of `valid` floats.
                var src = b + pc * ldb + jc + j
                if valid == pw {
                    if pw == nr {
                        for p in 0..<kc {
                            (d + p * pw).vstore(src.vload(), 0)
                            (d + p * pw).vstore(src.vload(VecF.scalarCount), VecF.scalarCount)
                            src += ldb
                        }
                    } else {
                        for p in 0..<kc { (d + p * pw).vstore(src.vload(), 0); src += ldb }
                    }
                } else {
                    // A ragged last panel (e.g. N = 10): whole vectors, then one zero-padded one.
                    let w = VecF.scalarCount
                    for p in 0..<kc {
                        let row = d + p * pw
                        var x = 0
                        while x + w <= valid { row.vstore(src.vload(x), x); x += w }
                        if x < valid { row.vstore(vloadPartial(src + x, valid - x), x); x += w }
                        while x < pw { row.vstore(VecF(), x); x += w }
                        src += ldb
                    }
                }
            } else if transposeBlocks, valid == pw, pw == nr {
                // B is stored [N, K]: transpose 16×16 blocks in registers, 16 stored rows at a
                // time (measured 3.5–6× faster than the scalar scatter below for 784×256).
                for half in 0..<2 {
                    let rows = b + (jc + j + half * 16) * ldb + pc
                    var p = 0
                    while p + 16 <= kc {
                        transposeStore16(rows + p, ld: ldb, validRows: 16, into: d + p * pw + half * 16, stride: pw)
                        p += 16
                    }
                    while p < kc {
                        for x in 0..<16 { d[p * pw + half * 16 + x] = rows[x * ldb + p] }
                        p += 1
                    }
                }
            } else {
                // B is stored [N, K] (we multiply by its transpose): column x of the panel is a
                // contiguous row of the stored matrix; scatter it with stride `pw`.
                for x in 0..<valid {
                    let src = b + (jc + j + x) * ldb + pc
                    var o = x
                    for p in 0..<kc { d[o] = src[p]; o += pw }
                }
                if valid < pw {
                    for p in 0..<kc { for x in valid..<pw { d[p * pw + x] = 0 } }
                }
            }
            d += kc * pw
            j += pw
        }
    }

    /// Panels of a transposed A packed together by `packTransposedAChunk`.
    static let transposedChunk = 16

    /// Packs rows i0..<i0+rowCount of op(A) for A stored [K, M] (rowCount ≤ 16 panels) into
    /// consecutive panels `panelStride` apart, each laid out [k][mr] with missing rows zero.
    /// Walks A one stored k row at a time, so its reads are long and contiguous. `rowEnd` bounds
    /// the rows of op(A) that exist (≤ M): no read goes past it.
    static func packTransposedAChunk(_ a: UnsafePointer<Float>, lda: Int, i0: Int, rowCount: Int, rowEnd: Int,
                                     pc: Int, kc: Int, into d: UnsafeMutablePointer<Float>, panelStride: Int) {
        let w = VecF.scalarCount
        let panels = (rowCount + mr - 1) / mr
        // Panels whose one-vector read per k (w floats from i0 + q·mr) ends by `rowEnd`.
        let room = rowEnd - i0 - w
        let full = w >= mr && room >= 0 ? min(rowCount / mr, room / mr + 1) : 0
        for p in 0..<kc {
            let src = a + (pc + p) * lda + i0
            var q = 0
            // Each vector store spills w − mr floats into the panel's next k row (rewritten by
            // the next p) or, for the last k, into the slack at the panel's end.
            while q < full { (d + q * panelStride + p * mr).vstore((src + q * mr).vload()); q += 1 }
            while q < panels {
                let dst = d + q * panelStride + p * mr
                for r in 0..<mr { dst[r] = q * mr + r < rowCount ? src[q * mr + r] : 0 }
                q += 1
            }
        }
    }

    /// Packs A[i0..<i0+mv, pc..<pc+kc] for row-major A ([M, K]) into one panel laid out
    /// [k][mr], zero-padding rows. (A stored transposed goes through `packTransposedAChunk`.)
    @inline(__always)
    static func packA(_ a: UnsafePointer<Float>, lda: Int,
                      i0: Int, mv: Int, pc: Int, kc: Int, into d: UnsafeMutablePointer<Float>) {
        let mr = Matmul.mr
        if transposeBlocks && mv == mr {
            // Transpose 16-column blocks of the mr rows in registers. Each output k row holds
            // mr < 16 floats, so each 16-lane store spills into the next k row, which the next
            // store overwrites (the buffer has a vector of slack for the last).
            let rows = a + i0 * lda + pc
            var p = 0
            while p + 16 <= kc {
                transposeStore16(rows + p, ld: lda, validRows: mr, into: d + p * mr, stride: mr)
                p += 16
            }
            while p < kc {
                for r in 0..<mr { d[p * mr + r] = rows[r * lda + p] }
                p += 1
            }
            return
        }
        // Read each row contiguously, scatter with stride mr.
        for r in 0..<mv {
            let src = a + (i0 + r) * lda + pc
            var o = r
            for p in 0..<kc { d[o] = src[p]; o += mr }
        }
        if mv < mr {
            for p in 0..<kc { for r in mv..<mr { d[p * mr + r] = 0 } }
        }
    }
}

extension Matmul {
    #if SUPERALIGN_AVX512
    /// Whether the packers transpose 16×16 blocks with vector shuffles (AVX-512 builds).
    static let transposeBlocks = true

    /// Reads `validRows` (≤ 16) rows of 16 floats (row stride `ld`) and writes their transpose:
    /// output row q (at `out + q·stride`) holds element q of every row, 16 lanes wide (lanes
    /// past `validRows` are 0). Rows are written in order q = 0…15, each a full 16-lane store.
    @inline(__always)
    static func transposeStore16(_ src: UnsafePointer<Float>, ld: Int, validRows: Int,
                                 into out: UnsafeMutablePointer<Float>, stride: Int) {
        typealias V = SIMD16<Float>
        @inline(__always) func row(_ i: Int) -> V { i < validRows ? (src + i * ld).vload() : V() }
        var r = (row(0), row(1), row(2), row(3), row(4), row(5), row(6), row(7),
                 row(8), row(9), row(10), row(11), row(12), row(13), row(14), row(15))
        // Splitting each pair (r[2i], r[2i+1]) into its even and odd lanes rotates the 8-bit
        // (vector, lane) index of every element right by one bit; four rounds swap the two
        // nibbles, which is the transpose.
        // Lanes spelled out: LLVM turns each into one two-source permute (vpermi2ps), whereas
        // the standard library's `SIMD32.evenHalf` stays a function call in this module.
        @inline(__always) func split(_ a: V, _ b: V) -> (V, V) {
            (V(a[0], a[2], a[4], a[6], a[8], a[10], a[12], a[14], b[0], b[2], b[4], b[6], b[8], b[10], b[12], b[14]),
             V(a[1], a[3], a[5], a[7], a[9], a[11], a[13], a[15], b[1], b[3], b[5], b[7], b[9], b[11], b[13], b[15]))
        }
        for _ in 0..<4 {
            let (e0, o0) = split(r.0, r.1), (e1, o1) = split(r.2, r.3)
            let (e2, o2) = split(r.4, r.5), (e3, o3) = split(r.6, r.7)
            let (e4, o4) = split(r.8, r.9), (e5, o5) = split(r.10, r.11)
            let (e6, o6) = split(r.12, r.13), (e7, o7) = split(r.14, r.15)
            r = (e0, e1, e2, e3, e4, e5, e6, e7, o0, o1, o2, o3, o4, o5, o6, o7)
        }
        @inline(__always) func put(_ q: Int, _ v: V) { UnsafeMutableRawPointer(out + q * stride).storeBytes(of: v, as: V.self) }
        put(0, r.0); put(1, r.1); put(2, r.2); put(3, r.3); put(4, r.4); put(5, r.5); put(6, r.6); put(7, r.7)
        put(8, r.8); put(9, r.9); put(10, r.10); put(11, r.11); put(12, r.12); put(13, r.13); put(14, r.14); put(15, r.15)
    }
    #else
    static let transposeBlocks = false

    @inline(__always)
    static func transposeStore16(_ src: UnsafePointer<Float>, ld: Int, validRows: Int,
                                 into out: UnsafeMutablePointer<Float>, stride: Int) {
        for q in 0..<16 { for i in 0..<16 { out[q * stride + i] = i < validRows ? src[i * ld + q] : 0 } }
    }
    #endif
}

// Register-blocked micro-kernels for the packed matrix multiply, one set per instruction set.
//
// A micro-kernel multiplies a packed MR-row panel of A (layout [k][MR]) by a packed NR-column
// panel of B (layout [k][NR]) and updates an MR×NR tile of C held entirely in registers: each k
// step loads the B row as vectors, broadcasts each A element and does MR × (NR/lanes)
// multiply-adds. Full tiles are written straight to C; ragged tiles (M or N edges) go through a
// small tile buffer so that edges run the same vector code instead of a scalar path.
//
// The epilogue computes C = (addC ? C : 0) + acc + (bias ?? 0); the caller passes `bias` only for
// the first k block so it is added once.

extension Matmul {
    #if SUPERALIGN_AVX512
    /// Rows per A panel (register tile height).
    static let mr = 12
    #elseif SUPERALIGN_AVX2
    static let mr = 6
    #elseif SUPERALIGN_NEON
    static let mr = 8
    #else
    static let mr = 4
    #endif
    /// Columns per wide B panel: two vectors.
    static let nr = 2 * VecF.scalarCount
    /// Columns per narrow B panel: one vector (narrow outputs such as N = 10 or 16, and edges).
    static let nrNarrow = VecF.scalarCount

    @inline(__always)
    static func store1(_ v: VecF, _ c: UnsafeMutablePointer<Float>, _ addC: Bool, _ bias: UnsafePointer<Float>?) {
        var x = v
        if let bias { x += bias.vload() }
        if addC { x += c.vload() }
        c.vstore(x)
    }

    @inline(__always)
    static func store2(_ v0: VecF, _ v1: VecF, _ c: UnsafeMutablePointer<Float>, _ addC: Bool,
                       _ bias: UnsafePointer<Float>?) {
        store1(v0, c, addC, bias)
        store1(v1, c + VecF.scalarCount, addC, bias.map { $0 + VecF.scalarCount })
    }

    /// Writes a ragged tile from `tile` (row stride `tileStride`) into C: `mv` rows, `nv` columns,
    /// a vector at a time with a partial vector for the last columns (narrow heads such as
    /// N = 10 end every tile here, so this must not be a scalar loop).
    @inline(__always)
    static func storeTile(_ tile: UnsafePointer<Float>, tileStride: Int, mv: Int, nv: Int,
                          _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ addC: Bool, _ bias: UnsafePointer<Float>?) {
        let w = VecF.scalarCount
        for i in 0..<mv {
            let src = tile + i * tileStride, dst = c + i * ldc
            var j = 0
            while j + w <= nv {
                store1(src.vload(j), dst + j, addC, bias.map { $0 + j })
                j += w
            }
            if j < nv {
                let r = nv - j
                var x = vloadPartial(src + j, r)
                if let bias { x += vloadPartial(bias + j, r) }
                if addC { x += vloadPartial(dst + j, r) }
                vstorePartial(x, dst + j, r)
            }
        }
    }

    #if SUPERALIGN_AVX512
    // 12 rows: 24 accumulators + 2 B vectors + 1 broadcast of 32 zmm registers. Each 128-byte
    // B row streamed from L2 feeds 24 FMAs, which keeps L2 bandwidth below what the FMAs need.
    /// 12 × 2 vectors (AVX-512: 12×32 with SIMD16, 24 accumulators). A element (r, p) is read at `a[r + p·cs]`: a packed panel
    /// (cs = mr) or transposed A in place (cs = lda).
    @inline(__always)
    static func kernelWide(_ kc: Int, _ a: UnsafePointer<Float>, cs: Int, _ b: UnsafePointer<Float>,
                       _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ mv: Int, _ nv: Int,
                       _ addC: Bool, _ bias: UnsafePointer<Float>?) {
        let w = VecF.scalarCount
        var c0a = VecF(), c0b = VecF(), c1a = VecF(), c1b = VecF(), c2a = VecF(), c2b = VecF()
        var c3a = VecF(), c3b = VecF(), c4a = VecF(), c4b = VecF(), c5a = VecF(), c5b = VecF()
        var c6a = VecF(), c6b = VecF(), c7a = VecF(), c7b = VecF(), c8a = VecF(), c8b = VecF()
        var c9a = VecF(), c9b = VecF(), c10a = VecF(), c10b = VecF(), c11a = VecF(), c11b = VecF()
        var pa = a, pb = b
        for _ in 0..<kc {
            let b0 = pb.vload(), b1 = pb.vload(w)
            var s = VecF(repeating: pa[0]); c0a = madd(s, b0, c0a); c0b = madd(s, b1, c0b)
            s = VecF(repeating: pa[1]); c1a = madd(s, b0, c1a); c1b = madd(s, b1, c1b)
            s = VecF(repeating: pa[2]); c2a = madd(s, b0, c2a); c2b = madd(s, b1, c2b)
            s = VecF(repeating: pa[3]); c3a = madd(s, b0, c3a); c3b = madd(s, b1, c3b)
            s = VecF(repeating: pa[4]); c4a = madd(s, b0, c4a); c4b = madd(s, b1, c4b)
            s = VecF(repeating: pa[5]); c5a = madd(s, b0, c5a); c5b = madd(s, b1, c5b)
            s = VecF(repeating: pa[6]); c6a = madd(s, b0, c6a); c6b = madd(s, b1, c6b)
            s = VecF(repeating: pa[7]); c7a = madd(s, b0, c7a); c7b = madd(s, b1, c7b)
            s = VecF(repeating: pa[8]); c8a = madd(s, b0, c8a); c8b = madd(s, b1, c8b)
            s = VecF(repeating: pa[9]); c9a = madd(s, b0, c9a); c9b = madd(s, b1, c9b)
            s = VecF(repeating: pa[10]); c10a = madd(s, b0, c10a); c10b = madd(s, b1, c10b)
            s = VecF(repeating: pa[11]); c11a = madd(s, b0, c11a); c11b = madd(s, b1, c11b)
            pa += cs; pb += 2 * w
        }
        if mv == 12 && nv == 2 * w {
            store2(c0a, c0b, c + 0 * ldc, addC, bias)
            store2(c1a, c1b, c + 1 * ldc, addC, bias)
            store2(c2a, c2b, c + 2 * ldc, addC, bias)
            store2(c3a, c3b, c + 3 * ldc, addC, bias)
            store2(c4a, c4b, c + 4 * ldc, addC, bias)
            store2(c5a, c5b, c + 5 * ldc, addC, bias)
            store2(c6a, c6b, c + 6 * ldc, addC, bias)
            store2(c7a, c7b, c + 7 * ldc, addC, bias)
            store2(c8a, c8b, c + 8 * ldc, addC, bias)
            store2(c9a, c9b, c + 9 * ldc, addC, bias)
            store2(c10a, c10b, c + 10 * ldc, addC, bias)
            store2(c11a, c11b, c + 11 * ldc, addC, bias)
            return
        }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 24 * w) { buf in
            let t = buf.baseAddress!
            t.vstore(c0a, 0 * w); t.vstore(c0b, 1 * w)
            t.vstore(c1a, 2 * w); t.vstore(c1b, 3 * w)
            t.vstore(c2a, 4 * w); t.vstore(c2b, 5 * w)
            t.vstore(c3a, 6 * w); t.vstore(c3b, 7 * w)
            t.vstore(c4a, 8 * w); t.vstore(c4b, 9 * w)
            t.vstore(c5a, 10 * w); t.vstore(c5b, 11 * w)
            t.vstore(c6a, 12 * w); t.vstore(c6b, 13 * w)
            t.vstore(c7a, 14 * w); t.vstore(c7b, 15 * w)
            t.vstore(c8a, 16 * w); t.vstore(c8b, 17 * w)
            t.vstore(c9a, 18 * w); t.vstore(c9b, 19 * w)
            t.vstore(c10a, 20 * w); t.vstore(c10b, 21 * w)
            t.vstore(c11a, 22 * w); t.vstore(c11b, 23 * w)
            storeTile(t, tileStride: 2 * w, mv: mv, nv: nv, c, ldc, addC, bias)
        }
    }

    /// As `kernelWide`, reading A in place from row-major storage: element (r, p) at `a[r·lda + p]`.
    @inline(__always)
    static func kernelWideRows(_ kc: Int, _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>,
                       _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ mv: Int, _ nv: Int,
                       _ addC: Bool, _ bias: UnsafePointer<Float>?) {
        let w = VecF.scalarCount
        var c0a = VecF(), c0b = VecF(), c1a = VecF(), c1b = VecF(), c2a = VecF(), c2b = VecF()
        var c3a = VecF(), c3b = VecF(), c4a = VecF(), c4b = VecF(), c5a = VecF(), c5b = VecF()
        var c6a = VecF(), c6b = VecF(), c7a = VecF(), c7b = VecF(), c8a = VecF(), c8b = VecF()
        var c9a = VecF(), c9b = VecF(), c10a = VecF(), c10b = VecF(), c11a = VecF(), c11b = VecF()
        let o1 = 1 * lda, o2 = 2 * lda, o3 = 3 * lda, o4 = 4 * lda, o5 = 5 * lda, o6 = 6 * lda, o7 = 7 * lda, o8 = 8 * lda, o9 = 9 * lda, o10 = 10 * lda, o11 = 11 * lda
        var pa = a, pb = b
        for _ in 0..<kc {
            let b0 = pb.vload(), b1 = pb.vload(w)
            var s = VecF(repeating: pa[0]); c0a = madd(s, b0, c0a); c0b = madd(s, b1, c0b)
            s = VecF(repeating: pa[o1]); c1a = madd(s, b0, c1a); c1b = madd(s, b1, c1b)
            s = VecF(repeating: pa[o2]); c2a = madd(s, b0, c2a); c2b = madd(s, b1, c2b)
            s = VecF(repeating: pa[o3]); c3a = madd(s, b0, c3a); c3b = madd(s, b1, c3b)
            s = VecF(repeating: pa[o4]); c4a = madd(s, b0, c4a); c4b = madd(s, b1, c4b)
            s = VecF(repeating: pa[o5]); c5a = madd(s, b0, c5a); c5b = madd(s, b1, c5b)
            s = VecF(repeating: pa[o6]); c6a = madd(s, b0, c6a); c6b = madd(s, b1, c6b)
            s = VecF(repeating: pa[o7]); c7a = madd(s, b0, c7a); c7b = madd(s, b1, c7b)
            s = VecF(repeating: pa[o8]); c8a = madd(s, b0, c8a); c8b = madd(s, b1, c8b)
            s = VecF(repeating: pa[o9]); c9a = madd(s, b0, c9a); c9b = madd(s, b1, c9b)
            s = VecF(repeating: pa[o10]); c10a = madd(s, b0, c10a); c10b = madd(s, b1, c10b)
            s = VecF(repeating: pa[o11]); c11a = madd(s, b0, c11a); c11b = madd(s, b1, c11b)
            pa += 1; pb += 2 * w
        }
        if mv == 12 && nv == 2 * w {
            store2(c0a, c0b, c + 0 * ldc, addC, bias)
            store2(c1a, c1b, c + 1 * ldc, addC, bias)
            store2(c2a, c2b, c + 2 * ldc, addC, bias)
            store2(c3a, c3b, c + 3 * ldc, addC, bias)
            store2(c4a, c4b, c + 4 * ldc, addC, bias)
            store2(c5a, c5b, c + 5 * ldc, addC, bias)
            store2(c6a, c6b, c + 6 * ldc, addC, bias)
            store2(c7a, c7b, c + 7 * ldc, addC, bias)
            store2(c8a, c8b, c + 8 * ldc, addC, bias)
            store2(c9a, c9b, c + 9 * ldc, addC, bias)
            store2(c10a, c10b, c + 10 * ldc, addC, bias)
            store2(c11a, c11b, c + 11 * ldc, addC, bias)
            return
        }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 24 * w) { buf in
            let t = buf.baseAddress!
            t.vstore(c0a, 0 * w); t.vstore(c0b, 1 * w)
            t.vstore(c1a, 2 * w); t.vstore(c1b, 3 * w)
            t.vstore(c2a, 4 * w); t.vstore(c2b, 5 * w)
            t.vstore(c3a, 6 * w); t.vstore(c3b, 7 * w)
            t.vstore(c4a, 8 * w); t.vstore(c4b, 9 * w)
            t.vstore(c5a, 10 * w); t.vstore(c5b, 11 * w)
            t.vstore(c6a, 12 * w); t.vstore(c6b, 13 * w)
            t.vstore(c7a, 14 * w); t.vstore(c7b, 15 * w)
            t.vstore(c8a, 16 * w); t.vstore(c8b, 17 * w)
            t.vstore(c9a, 18 * w); t.vstore(c9b, 19 * w)
            t.vstore(c10a, 20 * w); t.vstore(c10b, 21 * w)
            t.vstore(c11a, 22 * w); t.vstore(c11b, 23 * w)
            storeTile(t, tileStride: 2 * w, mv: mv, nv: nv, c, ldc, addC, bias)
        }
    }

    /// 12 × 1 vector: narrow outputs (N ≤ lanes, e.g. 10 or 16) and narrow right edges.
    @inline(__always)
    static func kernelNarrow(_ kc: Int, _ a: UnsafePointer<Float>, cs: Int, _ b: UnsafePointer<Float>,
                       _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ mv: Int, _ nv: Int,
                       _ addC: Bool, _ bias: UnsafePointer<Float>?) {
        let w = VecF.scalarCount
        var c0 = VecF(), c1 = VecF(), c2 = VecF(), c3 = VecF(), c4 = VecF(), c5 = VecF(), c6 = VecF(), c7 = VecF(), c8 = VecF(), c9 = VecF(), c10 = VecF(), c11 = VecF()
        var pa = a, pb = b
        for _ in 0..<kc {
            let b0 = pb.vload()
            c0 = madd(VecF(repeating: pa[0]), b0, c0)
            c1 = madd(VecF(repeating: pa[1]), b0, c1)
            c2 = madd(VecF(repeating: pa[2]), b0, c2)
            c3 = madd(VecF(repeating: pa[3]), b0, c3)
            c4 = madd(VecF(repeating: pa[4]), b0, c4)
            c5 = madd(VecF(repeating: pa[5]), b0, c5)
            c6 = madd(VecF(repeating: pa[6]), b0, c6)
            c7 = madd(VecF(repeating: pa[7]), b0, c7)
            c8 = madd(VecF(repeating: pa[8]), b0, c8)
            c9 = madd(VecF(repeating: pa[9]), b0, c9)
            c10 = madd(VecF(repeating: pa[10]), b0, c10)
            c11 = madd(VecF(repeating: pa[11]), b0, c11)
            pa += cs; pb += 1 * w
        }
        if mv == 12 && nv == 1 * w {
            store1(c0, c + 0 * ldc, addC, bias)
            store1(c1, c + 1 * ldc, addC, bias)
            store1(c2, c + 2 * ldc, addC, bias)
            store1(c3, c + 3 * ldc, addC, bias)
            store1(c4, c + 4 * ldc, addC, bias)
            store1(c5, c + 5 * ldc, addC, bias)
            store1(c6, c + 6 * ldc, addC, bias)
            store1(c7, c + 7 * ldc, addC, bias)
            store1(c8, c + 8 * ldc, addC, bias)
            store1(c9, c + 9 * ldc, addC, bias)
            store1(c10, c + 10 * ldc, addC, bias)
            store1(c11, c + 11 * ldc, addC, bias)
            return
        }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 12 * w) { buf in
            let t = buf.baseAddress!
            t.vstore(c0, 0 * w)
            t.vstore(c1, 1 * w)
            t.vstore(c2, 2 * w)
            t.vstore(c3, 3 * w)
            t.vstore(c4, 4 * w)
            t.vstore(c5, 5 * w)
            t.vstore(c6, 6 * w)
            t.vstore(c7, 7 * w)
            t.vstore(c8, 8 * w)
            t.vstore(c9, 9 * w)
            t.vstore(c10, 10 * w)
            t.vstore(c11, 11 * w)
            storeTile(t, tileStride: 1 * w, mv: mv, nv: nv, c, ldc, addC, bias)
        }
    }

    /// As `kernelNarrow`, reading A in place from row-major storage: element (r, p) at `a[r·lda + p]`.
    @inline(__always)
    static func kernelNarrowRows(_ kc: Int, _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>,
                       _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ mv: Int, _ nv: Int,
                       _ addC: Bool, _ bias: UnsafePointer<Float>?) {
        let w = VecF.scalarCount
        var c0 = VecF(), c1 = VecF(), c2 = VecF(), c3 = VecF(), c4 = VecF(), c5 = VecF(), c6 = VecF(), c7 = VecF(), c8 = VecF(), c9 = VecF(), c10 = VecF(), c11 = VecF()
        let o1 = 1 * lda, o2 = 2 * lda, o3 = 3 * lda, o4 = 4 * lda, o5 = 5 * lda, o6 = 6 * lda, o7 = 7 * lda, o8 = 8 * lda, o9 = 9 * lda, o10 = 10 * lda, o11 = 11 * lda
        var pa = a, pb = b
        for _ in 0..<kc {
            let b0 = pb.vload()
            c0 = madd(VecF(repeating: pa[0]), b0, c0)
            c1 = madd(VecF(repeating: pa[o1]), b0, c1)
            c2 = madd(VecF(repeating: pa[o2]), b0, c2)
            c3 = madd(VecF(repeating: pa[o3]), b0, c3)
            c4 = madd(VecF(repeating: pa[o4]), b0, c4)
            c5 = madd(VecF(repeating: pa[o5]), b0, c5)
            c6 = madd(VecF(repeating: pa[o6]), b0, c6)
            c7 = madd(VecF(repeating: pa[o7]), b0, c7)
            c8 = madd(VecF(repeating: pa[o8]), b0, c8)
            c9 = madd(VecF(repeating: pa[o9]), b0, c9)
            c10 = madd(VecF(repeating: pa[o10]), b0, c10)
            c11 = madd(VecF(repeating: pa[o11]), b0, c11)
            pa += 1; pb += 1 * w
        }
        if mv == 12 && nv == 1 * w {
            store1(c0, c + 0 * ldc, addC, bias)
            store1(c1, c + 1 * ldc, addC, bias)
            store1(c2, c + 2 * ldc, addC, bias)
            store1(c3, c + 3 * ldc, addC, bias)
            store1(c4, c + 4 * ldc, addC, bias)
            store1(c5, c + 5 * ldc, addC, bias)
            store1(c6, c + 6 * ldc, addC, bias)
            store1(c7, c + 7 * ldc, addC, bias)
            store1(c8, c + 8 * ldc, addC, bias)
            store1(c9, c + 9 * ldc, addC, bias)
            store1(c10, c + 10 * ldc, addC, bias)
            store1(c11, c + 11 * ldc, addC, bias)
            return
        }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 12 * w) { buf in
            let t = buf.baseAddress!
            t.vstore(c0, 0 * w)
            t.vstore(c1, 1 * w)
            t.vstore(c2, 2 * w)
            t.vstore(c3, 3 * w)
            t.vstore(c4, 4 * w)
            t.vstore(c5, 5 * w)
            t.vstore(c6, 6 * w)
            t.vstore(c7, 7 * w)
            t.vstore(c8, 8 * w)
            t.vstore(c9, 9 * w)
            t.vstore(c10, 10 * w)
            t.vstore(c11, 11 * w)
            storeTile(t, tileStride: 1 * w, mv: mv, nv: nv, c, ldc, addC, bias)
        }
    }
    #elseif SUPERALIGN_NEON
    /// 8 × 2 vectors (NEON: 8×8 with SIMD4, 16 accumulators of 32 registers). A element (r, p) is read at `a[r + p·cs]`: a packed panel
    /// (cs = mr) or transposed A in place (cs = lda).
    @inline(__always)
    static func kernelWide(_ kc: Int, _ a: UnsafePointer<Float>, cs: Int, _ b: UnsafePointer<Float>,
                       _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ mv: Int, _ nv: Int,
                       _ addC: Bool, _ bias: UnsafePointer<Float>?) {
        let w = VecF.scalarCount
        var c0a = VecF(), c0b = VecF(), c1a = VecF(), c1b = VecF(), c2a = VecF(), c2b = VecF()
        var c3a = VecF(), c3b = VecF(), c4a = VecF(), c4b = VecF(), c5a = VecF(), c5b = VecF()
        var c6a = VecF(), c6b = VecF(), c7a = VecF(), c7b = VecF()
        var pa = a, pb = b
        for _ in 0..<kc {
            let b0 = pb.vload(), b1 = pb.vload(w)
            var s = VecF(repeating: pa[0]); c0a = madd(s, b0, c0a); c0b = madd(s, b1, c0b)
            s = VecF(repeating: pa[1]); c1a = madd(s, b0, c1a); c1b = madd(s, b1, c1b)
            s = VecF(repeating: pa[2]); c2a = madd(s, b0, c2a); c2b = madd(s, b1, c2b)
            s = VecF(repeating: pa[3]); c3a = madd(s, b0, c3a); c3b = madd(s, b1, c3b)
            s = VecF(repeating: pa[4]); c4a = madd(s, b0, c4a); c4b = madd(s, b1, c4b)
            s = VecF(repeating: pa[5]); c5a = madd(s, b0, c5a); c5b = madd(s, b1, c5b)
            s = VecF(repeating: pa[6]); c6a = madd(s, b0, c6a); c6b = madd(s, b1, c6b)
            s = VecF(repeating: pa[7]); c7a = madd(s, b0, c7a); c7b = madd(s, b1, c7b)
            pa += cs; pb += 2 * w
        }
        if mv == 8 && nv == 2 * w {
            store2(c0a, c0b, c + 0 * ldc, addC, bias)
            store2(c1a, c1b, c + 1 * ldc, addC, bias)
            store2(c2a, c2b, c + 2 * ldc, addC, bias)
            store2(c3a, c3b, c + 3 * ldc, addC, bias)
            store2(c4a, c4b, c + 4 * ldc, addC, bias)
            store2(c5a, c5b, c + 5 * ldc, addC, bias)
            store2(c6a, c6b, c + 6 * ldc, addC, bias)
            store2(c7a, c7b, c + 7 * ldc, addC, bias)
            return
        }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 16 * w) { buf in
            let t = buf.baseAddress!
            t.vstore(c0a, 0 * w); t.vstore(c0b, 1 * w)
            t.vstore(c1a, 2 * w); t.vstore(c1b, 3 * w)
            t.vstore(c2a, 4 * w); t.vstore(c2b, 5 * w)
            t.vstore(c3a, 6 * w); t.vstore(c3b, 7 * w)
            t.vstore(c4a, 8 * w); t.vstore(c4b, 9 * w)
            t.vstore(c5a, 10 * w); t.vstore(c5b, 11 * w)
            t.vstore(c6a, 12 * w); t.vstore(c6b, 13 * w)
            t.vstore(c7a, 14 * w); t.vstore(c7b, 15 * w)
            storeTile(t, tileStride: 2 * w, mv: mv, nv: nv, c, ldc, addC, bias)
        }
    }

    /// As `kernelWide`, reading A in place from row-major storage: element (r, p) at `a[r·lda + p]`.
    @inline(__always)
    static func kernelWideRows(_ kc: Int, _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>,
                       _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ mv: Int, _ nv: Int,
                       _ addC: Bool, _ bias: UnsafePointer<Float>?) {
        let w = VecF.scalarCount
        var c0a = VecF(), c0b = VecF(), c1a = VecF(), c1b = VecF(), c2a = VecF(), c2b = VecF()
        var c3a = VecF(), c3b = VecF(), c4a = VecF(), c4b = VecF(), c5a = VecF(), c5b = VecF()
        var c6a = VecF(), c6b = VecF(), c7a = VecF(), c7b = VecF()
        let o1 = 1 * lda, o2 = 2 * lda, o3 = 3 * lda, o4 = 4 * lda, o5 = 5 * lda, o6 = 6 * lda, o7 = 7 * lda
        var pa = a, pb = b
        for _ in 0..<kc {
            let b0 = pb.vload(), b1 = pb.vload(w)
            var s = VecF(repeating: pa[0]); c0a = madd(s, b0, c0a); c0b = madd(s, b1, c0b)
            s = VecF(repeating: pa[o1]); c1a = madd(s, b0, c1a); c1b = madd(s, b1, c1b)
            s = VecF(repeating: pa[o2]); c2a = madd(s, b0, c2a); c2b = madd(s, b1, c2b)
            s = VecF(repeating: pa[o3]); c3a = madd(s, b0, c3a); c3b = madd(s, b1, c3b)
            s = VecF(repeating: pa[o4]); c4a = madd(s, b0, c4a); c4b = madd(s, b1, c4b)
            s = VecF(repeating: pa[o5]); c5a = madd(s, b0, c5a); c5b = madd(s, b1, c5b)
            s = VecF(repeating: pa[o6]); c6a = madd(s, b0, c6a); c6b = madd(s, b1, c6b)
            s = VecF(repeating: pa[o7]); c7a = madd(s, b0, c7a); c7b = madd(s, b1, c7b)
            pa += 1; pb += 2 * w
        }
        if mv == 8 && nv == 2 * w {
            store2(c0a, c0b, c + 0 * ldc, addC, bias)
            store2(c1a, c1b, c + 1 * ldc, addC, bias)
            store2(c2a, c2b, c + 2 * ldc, addC, bias)
            store2(c3a, c3b, c + 3 * ldc, addC, bias)
            store2(c4a, c4b, c + 4 * ldc, addC, bias)
            store2(c5a, c5b, c + 5 * ldc, addC, bias)
            store2(c6a, c6b, c + 6 * ldc, addC, bias)
            store2(c7a, c7b, c + 7 * ldc, addC, bias)
            return
        }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 16 * w) { buf in
            let t = buf.baseAddress!
            t.vstore(c0a, 0 * w); t.vstore(c0b, 1 * w)
            t.vstore(c1a, 2 * w); t.vstore(c1b, 3 * w)
            t.vstore(c2a, 4 * w); t.vstore(c2b, 5 * w)
            t.vstore(c3a, 6 * w); t.vstore(c3b, 7 * w)
            t.vstore(c4a, 8 * w); t.vstore(c4b, 9 * w)
            t.vstore(c5a, 10 * w); t.vstore(c5b, 11 * w)
            t.vstore(c6a, 12 * w); t.vstore(c6b, 13 * w)
            t.vstore(c7a, 14 * w); t.vstore(c7b, 15 * w)
            storeTile(t, tileStride: 2 * w, mv: mv, nv: nv, c, ldc, addC, bias)
        }
    }

    /// 8 × 1 vector: narrow outputs (N ≤ lanes, e.g. 10 or 16) and narrow right edges.
    @inline(__always)
    static func kernelNarrow(_ kc: Int, _ a: UnsafePointer<Float>, cs: Int, _ b: UnsafePointer<Float>,
                       _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ mv: Int, _ nv: Int,
                       _ addC: Bool, _ bias: UnsafePointer<Float>?) {
        let w = VecF.scalarCount
        var c0 = VecF(), c1 = VecF(), c2 = VecF(), c3 = VecF(), c4 = VecF(), c5 = VecF(), c6 = VecF(), c7 = VecF()
        var pa = a, pb = b
        for _ in 0..<kc {
            let b0 = pb.vload()
            c0 = madd(VecF(repeating: pa[0]), b0, c0)
            c1 = madd(VecF(repeating: pa[1]), b0, c1)
            c2 = madd(VecF(repeating: pa[2]), b0, c2)
            c3 = madd(VecF(repeating: pa[3]), b0, c3)
            c4 = madd(VecF(repeating: pa[4]), b0, c4)
            c5 = madd(VecF(repeating: pa[5]), b0, c5)
            c6 = madd(VecF(repeating: pa[6]), b0, c6)
            c7 = madd(VecF(repeating: pa[7]), b0, c7)
            pa += cs; pb += 1 * w
        }
        if mv == 8 && nv == 1 * w {
            store1(c0, c + 0 * ldc, addC, bias)
            store1(c1, c + 1 * ldc, addC, bias)
            store1(c2, c + 2 * ldc, addC, bias)
            store1(c3, c + 3 * ldc, addC, bias)
            store1(c4, c + 4 * ldc, addC, bias)
            store1(c5, c + 5 * ldc, addC, bias)
            store1(c6, c + 6 * ldc, addC, bias)
            store1(c7, c + 7 * ldc, addC, bias)
            return
        }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 8 * w) { buf in
            let t = buf.baseAddress!
            t.vstore(c0, 0 * w)
            t.vstore(c1, 1 * w)
            t.vstore(c2, 2 * w)
            t.vstore(c3, 3 * w)
            t.vstore(c4, 4 * w)
            t.vstore(c5, 5 * w)
            t.vstore(c6, 6 * w)
            t.vstore(c7, 7 * w)
            storeTile(t, tileStride: 1 * w, mv: mv, nv: nv, c, ldc, addC, bias)
        }
    }

    /// As `kernelNarrow`, reading A in place from row-major storage: element (r, p) at `a[r·lda + p]`.
    @inline(__always)
    static func kernelNarrowRows(_ kc: Int, _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>,
                       _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ mv: Int, _ nv: Int,
                       _ addC: Bool, _ bias: UnsafePointer<Float>?) {
        let w = VecF.scalarCount
        var c0 = VecF(), c1 = VecF(), c2 = VecF(), c3 = VecF(), c4 = VecF(), c5 = VecF(), c6 = VecF(), c7 = VecF()
        let o1 = 1 * lda, o2 = 2 * lda, o3 = 3 * lda, o4 = 4 * lda, o5 = 5 * lda, o6 = 6 * lda, o7 = 7 * lda
        var pa = a, pb = b
        for _ in 0..<kc {
            let b0 = pb.vload()
            c0 = madd(VecF(repeating: pa[0]), b0, c0)
            c1 = madd(VecF(repeating: pa[o1]), b0, c1)
            c2 = madd(VecF(repeating: pa[o2]), b0, c2)
            c3 = madd(VecF(repeating: pa[o3]), b0, c3)
            c4 = madd(VecF(repeating: pa[o4]), b0, c4)
            c5 = madd(VecF(repeating: pa[o5]), b0, c5)
            c6 = madd(VecF(repeating: pa[o6]), b0, c6)
            c7 = madd(VecF(repeating: pa[o7]), b0, c7)
            pa += 1; pb += 1 * w
        }
        if mv == 8 && nv == 1 * w {
            store1(c0, c + 0 * ldc, addC, bias)
            store1(c1, c + 1 * ldc, addC, bias)
            store1(c2, c + 2 * ldc, addC, bias)
            store1(c3, c + 3 * ldc, addC, bias)
            store1(c4, c + 4 * ldc, addC, bias)
            store1(c5, c + 5 * ldc, addC, bias)
            store1(c6, c + 6 * ldc, addC, bias)
            store1(c7, c + 7 * ldc, addC, bias)
            return
        }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 8 * w) { buf in
            let t = buf.baseAddress!
            t.vstore(c0, 0 * w)
            t.vstore(c1, 1 * w)
            t.vstore(c2, 2 * w)
            t.vstore(c3, 3 * w)
            t.vstore(c4, 4 * w)
            t.vstore(c5, 5 * w)
            t.vstore(c6, 6 * w)
            t.vstore(c7, 7 * w)
            storeTile(t, tileStride: 1 * w, mv: mv, nv: nv, c, ldc, addC, bias)
        }
    }
    #elseif SUPERALIGN_AVX2
    /// 6 × 2 vectors (AVX2: 6×16 with SIMD8, 12 accumulators of 16 ymm registers). A element (r, p) is read at `a[r + p·cs]`: a packed panel
    /// (cs = mr) or transposed A in place (cs = lda).
    @inline(__always)
    static func kernelWide(_ kc: Int, _ a: UnsafePointer<Float>, cs: Int, _ b: UnsafePointer<Float>,
                       _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ mv: Int, _ nv: Int,
                       _ addC: Bool, _ bias: UnsafePointer<Float>?) {
        let w = VecF.scalarCount
        var c0a = VecF(), c0b = VecF(), c1a = VecF(), c1b = VecF(), c2a = VecF(), c2b = VecF()
        var c3a = VecF(), c3b = VecF(), c4a = VecF(), c4b = VecF(), c5a = VecF(), c5b = VecF()
        var pa = a, pb = b
        for _ in 0..<kc {
            let b0 = pb.vload(), b1 = pb.vload(w)
            var s = VecF(repeating: pa[0]); c0a = madd(s, b0, c0a); c0b = madd(s, b1, c0b)
            s = VecF(repeating: pa[1]); c1a = madd(s, b0, c1a); c1b = madd(s, b1, c1b)
            s = VecF(repeating: pa[2]); c2a = madd(s, b0, c2a); c2b = madd(s, b1, c2b)
            s = VecF(repeating: pa[3]); c3a = madd(s, b0, c3a); c3b = madd(s, b1, c3b)
            s = VecF(repeating: pa[4]); c4a = madd(s, b0, c4a); c4b = madd(s, b1, c4b)
            s = VecF(repeating: pa[5]); c5a = madd(s, b0, c5a); c5b = madd(s, b1, c5b)
            pa += cs; pb += 2 * w
        }
        if mv == 6 && nv == 2 * w {
            store2(c0a, c0b, c + 0 * ldc, addC, bias)
            store2(c1a, c1b, c + 1 * ldc, addC, bias)
            store2(c2a, c2b, c + 2 * ldc, addC, bias)
            store2(c3a, c3b, c + 3 * ldc, addC, bias)
            store2(c4a, c4b, c + 4 * ldc, addC, bias)
            store2(c5a, c5b, c + 5 * ldc, addC, bias)
            return
        }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 12 * w) { buf in
            let t = buf.baseAddress!
            t.vstore(c0a, 0 * w); t.vstore(c0b, 1 * w)
            t.vstore(c1a, 2 * w); t.vstore(c1b, 3 * w)
            t.vstore(c2a, 4 * w); t.vstore(c2b, 5 * w)
            t.vstore(c3a, 6 * w); t.vstore(c3b, 7 * w)
            t.vstore(c4a, 8 * w); t.vstore(c4b, 9 * w)
            t.vstore(c5a, 10 * w); t.vstore(c5b, 11 * w)
            storeTile(t, tileStride: 2 * w, mv: mv, nv: nv, c, ldc, addC, bias)
        }
    }

    /// As `kernelWide`, reading A in place from row-major storage: element (r, p) at `a[r·lda + p]`.
    @inline(__always)
    static func kernelWideRows(_ kc: Int, _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>,
                       _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ mv: Int, _ nv: Int,
                       _ addC: Bool, _ bias: UnsafePointer<Float>?) {
        let w = VecF.scalarCount
        var c0a = VecF(), c0b = VecF(), c1a = VecF(), c1b = VecF(), c2a = VecF(), c2b = VecF()
        var c3a = VecF(), c3b = VecF(), c4a = VecF(), c4b = VecF(), c5a = VecF(), c5b = VecF()
        let o1 = 1 * lda, o2 = 2 * lda, o3 = 3 * lda, o4 = 4 * lda, o5 = 5 * lda
        var pa = a, pb = b
        for _ in 0..<kc {
            let b0 = pb.vload(), b1 = pb.vload(w)
            var s = VecF(repeating: pa[0]); c0a = madd(s, b0, c0a); c0b = madd(s, b1, c0b)
            s = VecF(repeating: pa[o1]); c1a = madd(s, b0, c1a); c1b = madd(s, b1, c1b)
            s = VecF(repeating: pa[o2]); c2a = madd(s, b0, c2a); c2b = madd(s, b1, c2b)
            s = VecF(repeating: pa[o3]); c3a = madd(s, b0, c3a); c3b = madd(s, b1, c3b)
            s = VecF(repeating: pa[o4]); c4a = madd(s, b0, c4a); c4b = madd(s, b1, c4b)
            s = VecF(repeating: pa[o5]); c5a = madd(s, b0, c5a); c5b = madd(s, b1, c5b)
            pa += 1; pb += 2 * w
        }
        if mv == 6 && nv == 2 * w {
            store2(c0a, c0b, c + 0 * ldc, addC, bias)
            store2(c1a, c1b, c + 1 * ldc, addC, bias)
            store2(c2a, c2b, c + 2 * ldc, addC, bias)
            store2(c3a, c3b, c + 3 * ldc, addC, bias)
            store2(c4a, c4b, c + 4 * ldc, addC, bias)
            store2(c5a, c5b, c + 5 * ldc, addC, bias)
            return
        }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 12 * w) { buf in
            let t = buf.baseAddress!
            t.vstore(c0a, 0 * w); t.vstore(c0b, 1 * w)
            t.vstore(c1a, 2 * w); t.vstore(c1b, 3 * w)
            t.vstore(c2a, 4 * w); t.vstore(c2b, 5 * w)
            t.vstore(c3a, 6 * w); t.vstore(c3b, 7 * w)
            t.vstore(c4a, 8 * w); t.vstore(c4b, 9 * w)
            t.vstore(c5a, 10 * w); t.vstore(c5b, 11 * w)
            storeTile(t, tileStride: 2 * w, mv: mv, nv: nv, c, ldc, addC, bias)
        }
    }

    /// 6 × 1 vector: narrow outputs (N ≤ lanes, e.g. 10 or 16) and narrow right edges.
    @inline(__always)
    static func kernelNarrow(_ kc: Int, _ a: UnsafePointer<Float>, cs: Int, _ b: UnsafePointer<Float>,
                       _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ mv: Int, _ nv: Int,
                       _ addC: Bool, _ bias: UnsafePointer<Float>?) {
        let w = VecF.scalarCount
        var c0 = VecF(), c1 = VecF(), c2 = VecF(), c3 = VecF(), c4 = VecF(), c5 = VecF()
        var pa = a, pb = b
        for _ in 0..<kc {
            let b0 = pb.vload()
            c0 = madd(VecF(repeating: pa[0]), b0, c0)
            c1 = madd(VecF(repeating: pa[1]), b0, c1)
            c2 = madd(VecF(repeating: pa[2]), b0, c2)
            c3 = madd(VecF(repeating: pa[3]), b0, c3)
            c4 = madd(VecF(repeating: pa[4]), b0, c4)
            c5 = madd(VecF(repeating: pa[5]), b0, c5)
            pa += cs; pb += 1 * w
        }
        if mv == 6 && nv == 1 * w {
            store1(c0, c + 0 * ldc, addC, bias)
            store1(c1, c + 1 * ldc, addC, bias)
            store1(c2, c + 2 * ldc, addC, bias)
            store1(c3, c + 3 * ldc, addC, bias)
            store1(c4, c + 4 * ldc, addC, bias)
            store1(c5, c + 5 * ldc, addC, bias)
            return
        }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 6 * w) { buf in
            let t = buf.baseAddress!
            t.vstore(c0, 0 * w)
            t.vstore(c1, 1 * w)
            t.vstore(c2, 2 * w)
            t.vstore(c3, 3 * w)
            t.vstore(c4, 4 * w)
            t.vstore(c5, 5 * w)
            storeTile(t, tileStride: 1 * w, mv: mv, nv: nv, c, ldc, addC, bias)
        }
    }

    /// As `kernelNarrow`, reading A in place from row-major storage: element (r, p) at `a[r·lda + p]`.
    @inline(__always)
    static func kernelNarrowRows(_ kc: Int, _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>,
                       _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ mv: Int, _ nv: Int,
                       _ addC: Bool, _ bias: UnsafePointer<Float>?) {
        let w = VecF.scalarCount
        var c0 = VecF(), c1 = VecF(), c2 = VecF(), c3 = VecF(), c4 = VecF(), c5 = VecF()
        let o1 = 1 * lda, o2 = 2 * lda, o3 = 3 * lda, o4 = 4 * lda, o5 = 5 * lda
        var pa = a, pb = b
        for _ in 0..<kc {
            let b0 = pb.vload()
            c0 = madd(VecF(repeating: pa[0]), b0, c0)
            c1 = madd(VecF(repeating: pa[o1]), b0, c1)
            c2 = madd(VecF(repeating: pa[o2]), b0, c2)
            c3 = madd(VecF(repeating: pa[o3]), b0, c3)
            c4 = madd(VecF(repeating: pa[o4]), b0, c4)
            c5 = madd(VecF(repeating: pa[o5]), b0, c5)
            pa += 1; pb += 1 * w
        }
        if mv == 6 && nv == 1 * w {
            store1(c0, c + 0 * ldc, addC, bias)
            store1(c1, c + 1 * ldc, addC, bias)
            store1(c2, c + 2 * ldc, addC, bias)
            store1(c3, c + 3 * ldc, addC, bias)
            store1(c4, c + 4 * ldc, addC, bias)
            store1(c5, c + 5 * ldc, addC, bias)
            return
        }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 6 * w) { buf in
            let t = buf.baseAddress!
            t.vstore(c0, 0 * w)
            t.vstore(c1, 1 * w)
            t.vstore(c2, 2 * w)
            t.vstore(c3, 3 * w)
            t.vstore(c4, 4 * w)
            t.vstore(c5, 5 * w)
            storeTile(t, tileStride: 1 * w, mv: mv, nv: nv, c, ldc, addC, bias)
        }
    }
    #else
    /// 4 × 2 vectors (baseline SIMD4 without FMA: 8 accumulators fit 16 xmm registers). A element (r, p) is read at `a[r + p·cs]`: a packed panel
    /// (cs = mr) or transposed A in place (cs = lda).
    @inline(__always)
    static func kernelWide(_ kc: Int, _ a: UnsafePointer<Float>, cs: Int, _ b: UnsafePointer<Float>,
                       _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ mv: Int, _ nv: Int,
                       _ addC: Bool, _ bias: UnsafePointer<Float>?) {
        let w = VecF.scalarCount
        var c0a = VecF(), c0b = VecF(), c1a = VecF(), c1b = VecF(), c2a = VecF(), c2b = VecF()
        var c3a = VecF(), c3b = VecF()
        var pa = a, pb = b
        for _ in 0..<kc {
            let b0 = pb.vload(), b1 = pb.vload(w)
            var s = VecF(repeating: pa[0]); c0a = madd(s, b0, c0a); c0b = madd(s, b1, c0b)
            s = VecF(repeating: pa[1]); c1a = madd(s, b0, c1a); c1b = madd(s, b1, c1b)
            s = VecF(repeating: pa[2]); c2a = madd(s, b0, c2a); c2b = madd(s, b1, c2b)
            s = VecF(repeating: pa[3]); c3a = madd(s, b0, c3a); c3b = madd(s, b1, c3b)
            pa += cs; pb += 2 * w
        }
        if mv == 4 && nv == 2 * w {
            store2(c0a, c0b, c + 0 * ldc, addC, bias)
            store2(c1a, c1b, c + 1 * ldc, addC, bias)
            store2(c2a, c2b, c + 2 * ldc, addC, bias)
            store2(c3a, c3b, c + 3 * ldc, addC, bias)
            return
        }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 8 * w) { buf in
            let t = buf.baseAddress!
            t.vstore(c0a, 0 * w); t.vstore(c0b, 1 * w)
            t.vstore(c1a, 2 * w); t.vstore(c1b, 3 * w)
            t.vstore(c2a, 4 * w); t.vstore(c2b, 5 * w)
            t.vstore(c3a, 6 * w); t.vstore(c3b, 7 * w)
            storeTile(t, tileStride: 2 * w, mv: mv, nv: nv, c, ldc, addC, bias)
        }
    }

    /// As `kernelWide`, reading A in place from row-major storage: element (r, p) at `a[r·lda + p]`.
    @inline(__always)
    static func kernelWideRows(_ kc: Int, _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>,
                       _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ mv: Int, _ nv: Int,
                       _ addC: Bool, _ bias: UnsafePointer<Float>?) {
        let w = VecF.scalarCount
        var c0a = VecF(), c0b = VecF(), c1a = VecF(), c1b = VecF(), c2a = VecF(), c2b = VecF()
        var c3a = VecF(), c3b = VecF()
        let o1 = 1 * lda, o2 = 2 * lda, o3 = 3 * lda
        var pa = a, pb = b
        for _ in 0..<kc {
            let b0 = pb.vload(), b1 = pb.vload(w)
            var s = VecF(repeating: pa[0]); c0a = madd(s, b0, c0a); c0b = madd(s, b1, c0b)
            s = VecF(repeating: pa[o1]); c1a = madd(s, b0, c1a); c1b = madd(s, b1, c1b)
            s = VecF(repeating: pa[o2]); c2a = madd(s, b0, c2a); c2b = madd(s, b1, c2b)
            s = VecF(repeating: pa[o3]); c3a = madd(s, b0, c3a); c3b = madd(s, b1, c3b)
            pa += 1; pb += 2 * w
        }
        if mv == 4 && nv == 2 * w {
            store2(c0a, c0b, c + 0 * ldc, addC, bias)
            store2(c1a, c1b, c + 1 * ldc, addC, bias)
            store2(c2a, c2b, c + 2 * ldc, addC, bias)
            store2(c3a, c3b, c + 3 * ldc, addC, bias)
            return
        }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 8 * w) { buf in
            let t = buf.baseAddress!
            t.vstore(c0a, 0 * w); t.vstore(c0b, 1 * w)
            t.vstore(c1a, 2 * w); t.vstore(c1b, 3 * w)
            t.vstore(c2a, 4 * w); t.vstore(c2b, 5 * w)
            t.vstore(c3a, 6 * w); t.vstore(c3b, 7 * w)
            storeTile(t, tileStride: 2 * w, mv: mv, nv: nv, c, ldc, addC, bias)
        }
    }

    /// 4 × 1 vector: narrow outputs (N ≤ lanes, e.g. 10 or 16) and narrow right edges.
    @inline(__always)
    static func kernelNarrow(_ kc: Int, _ a: UnsafePointer<Float>, cs: Int, _ b: UnsafePointer<Float>,
                       _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ mv: Int, _ nv: Int,
                       _ addC: Bool, _ bias: UnsafePointer<Float>?) {
        let w = VecF.scalarCount
        var c0 = VecF(), c1 = VecF(), c2 = VecF(), c3 = VecF()
        var pa = a, pb = b
        for _ in 0..<kc {
            let b0 = pb.vload()
            c0 = madd(VecF(repeating: pa[0]), b0, c0)
            c1 = madd(VecF(repeating: pa[1]), b0, c1)
            c2 = madd(VecF(repeating: pa[2]), b0, c2)
            c3 = madd(VecF(repeating: pa[3]), b0, c3)
            pa += cs; pb += 1 * w
        }
        if mv == 4 && nv == 1 * w {
            store1(c0, c + 0 * ldc, addC, bias)
            store1(c1, c + 1 * ldc, addC, bias)
            store1(c2, c + 2 * ldc, addC, bias)
            store1(c3, c + 3 * ldc, addC, bias)
            return
        }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 4 * w) { buf in
            let t = buf.baseAddress!
            t.vstore(c0, 0 * w)
            t.vstore(c1, 1 * w)
            t.vstore(c2, 2 * w)
            t.vstore(c3, 3 * w)
            storeTile(t, tileStride: 1 * w, mv: mv, nv: nv, c, ldc, addC, bias)
        }
    }

    /// As `kernelNarrow`, reading A in place from row-major storage: element (r, p) at `a[r·lda + p]`.
    @inline(__always)
    static func kernelNarrowRows(_ kc: Int, _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>,
                       _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ mv: Int, _ nv: Int,
                       _ addC: Bool, _ bias: UnsafePointer<Float>?) {
        let w = VecF.scalarCount
        var c0 = VecF(), c1 = VecF(), c2 = VecF(), c3 = VecF()
        let o1 = 1 * lda, o2 = 2 * lda, o3 = 3 * lda
        var pa = a, pb = b
        for _ in 0..<kc {
            let b0 = pb.vload()
            c0 = madd(VecF(repeating: pa[0]), b0, c0)
            c1 = madd(VecF(repeating: pa[o1]), b0, c1)
            c2 = madd(VecF(repeating: pa[o2]), b0, c2)
            c3 = madd(VecF(repeating: pa[o3]), b0, c3)
            pa += 1; pb += 1 * w
        }
        if mv == 4 && nv == 1 * w {
            store1(c0, c + 0 * ldc, addC, bias)
            store1(c1, c + 1 * ldc, addC, bias)
            store1(c2, c + 2 * ldc, addC, bias)
            store1(c3, c + 3 * ldc, addC, bias)
            return
        }
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 4 * w) { buf in
            let t = buf.baseAddress!
            t.vstore(c0, 0 * w)
            t.vstore(c1, 1 * w)
            t.vstore(c2, 2 * w)
            t.vstore(c3, 3 * w)
            storeTile(t, tileStride: 1 * w, mv: mv, nv: nv, c, ldc, addC, bias)
        }
    }
    #endif
}

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
                    for p in 0..<kc {
                        let row = d + p * pw
                        for x in 0..<valid { row[x] = src[x] }
                        for x in valid..<pw { row[x] = 0 }
                        src += ldb
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

    /// Packs op(A)[i0..<i0+mv, pc..<pc+kc] into one panel laid out [k][mr], zero-padding rows.
    @inline(__always)
    static func packA(_ a: UnsafePointer<Float>, lda: Int, transposed: Bool,
                      i0: Int, mv: Int, pc: Int, kc: Int, into d: UnsafeMutablePointer<Float>) {
        let mr = Matmul.mr
        if !transposed {
            // A is [M, K]: read each row contiguously, scatter with stride mr.
            for r in 0..<mv {
                let src = a + (i0 + r) * lda + pc
                var o = r
                for p in 0..<kc { d[o] = src[p]; o += mr }
            }
        } else {
            // A is stored [K, M]: the mr values for one k are contiguous.
            if mv == mr {
                for p in 0..<kc {
                    let src = a + (pc + p) * lda + i0
                    let row = d + p * mr
                    for r in 0..<mr { row[r] = src[r] }
                }
                return
            }
            for p in 0..<kc {
                let src = a + (pc + p) * lda + i0
                let row = d + p * mr
                for r in 0..<mv { row[r] = src[r] }
            }
        }
        if mv < mr {
            for p in 0..<kc { for r in mv..<mr { d[p * mr + r] = 0 } }
        }
    }
}

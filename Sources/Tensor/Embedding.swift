/// Embedding lookup: `out[n, :] = table[ids[n], :]`; backward scatter-adds rows of `dOut` into
/// `dTable` in index order (one thread per column block, so repeated ids sum in a fixed order).
/// Ids must already be validated to lie in `0..<vocab` (the `Tape` op does this).
public enum EmbeddingKernels {
    public static func forward(table: UnsafePointer<Float>, width: Int, ids: UnsafePointer<Int32>, count n: Int,
                               out: UnsafeMutablePointer<Float>) {
        ThreadPool.shared.parallelRanges(n, work: n * width, threshold: 1 << 17) { r in
            for i in r { (out + i * width).update(from: table + Int(ids[i]) * width, count: width) }
        }
    }

    public static func backward(dOut: UnsafePointer<Float>, width: Int, ids: UnsafePointer<Int32>, count n: Int,
                                dTable: UnsafeMutablePointer<Float>) {
        let w = VecF.scalarCount
        let blocks = (width + w - 1) / w
        ThreadPool.shared.parallelRanges(blocks, work: n * width, threshold: 1 << 17) { r in
            let lo = r.lowerBound * w, hi = min(width, r.upperBound * w)
            for i in 0..<n {
                let src = dOut + i * width, dst = dTable + Int(ids[i]) * width
                var j = lo
                while j + w <= hi { dst.vstore(dst.vload(j) + src.vload(j), j); j += w }
                while j < hi { dst[j] += src[j]; j += 1 }
            }
        }
    }
}

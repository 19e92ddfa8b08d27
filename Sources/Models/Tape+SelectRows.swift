import Tensor

extension Tape {
    /// Picks rows of a matrix: `out[i] = x[rows[i]]` for `x` seen as `[N, C]` → `[rows.count, C]`.
    /// Differentiable: the backward adds `dOut[i]` into `dx[rows[i]]` (repeated rows accumulate).
    /// Used for the classification head, which reads each sequence's last real position.
    ///
    /// ```swift
    /// let last = try tape.selectRows(hidden, [3, 9])   // hidden: [2·T, C] with T = 6 → [2, C]
    /// ```
    public func selectRows(_ x: Tensor, _ rows: [Int]) throws -> Tensor {
        let c = x.lastDimension, n = x.rows
        for r in rows where r < 0 || r >= n {
            throw ModelsError.invalidArgument(op: "selectRows", detail: "row \(r) outside 0..<\(n) of \(x.shape)")
        }
        guard !rows.isEmpty, c > 0 else {
            throw ModelsError.invalidArgument(op: "selectRows", detail: "nothing to select from \(x.shape)")
        }
        let out = try Tensor.zeros([rows.count, c])
        for (i, r) in rows.enumerated() { (out.data + i * c).update(from: x.data + r * c, count: c) }
        custom("selectRows", inputs: [x], output: out) { dOut, grads in
            guard let dx = grads[0] else { return }
            for (i, r) in rows.enumerated() {
                let d = dx.data + r * c, g = dOut.data + i * c
                for j in 0..<c { d[j] += g[j] }
            }
        }
        return out
    }
}

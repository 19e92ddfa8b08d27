import XCTest
@testable import Tensor

/// Layer-norm weight and bias gradients sum over rows in a fixed order whatever the width:
/// 8- and 4-vector sweeps, single vectors and a scalar tail must all give the reference sums,
/// and the same bits with 1 and 2 threads.
final class LayerNormParameterGradientTests: XCTestCase {
    func run(rows: Int, cols: Int) -> (dw: [Float], db: [Float]) {
        let x = randomTensor([rows, cols], seed: 71), dy = randomTensor([rows, cols], seed: 72)
        let mean = (0..<rows).map { i in Float((0..<cols).map { Double(x.data[i * cols + $0]) }.reduce(0, +) / Double(cols)) }
        let rstd = (0..<rows).map { i in Float(1 + 0.1 * Double(i % 7)) }
        var dw = [Float](repeating: 0.5, count: cols), db = [Float](repeating: -0.25, count: cols)
        let weight = [Float](repeating: 1, count: cols)
        dw.withUnsafeMutableBufferPointer { dwp in
            db.withUnsafeMutableBufferPointer { dbp in
                LayerNormKernels.backward(x.data, weight: weight, mean: mean, rstd: rstd, dOut: dy.data,
                                          rows: rows, cols: cols, dx: nil,
                                          dWeight: dwp.baseAddress!, dBias: dbp.baseAddress!)
            }
        }
        // Reference in double precision.
        for j in 0..<cols {
            var sw = 0.0, sb = 0.0
            for i in 0..<rows {
                let g = Double(dy.data[i * cols + j])
                sw += g * (Double(x.data[i * cols + j]) - Double(mean[i])) * Double(rstd[i])
                sb += g
            }
            XCTAssertEqual(Double(dw[j]), 0.5 + sw, accuracy: 1e-3, "cols \(cols): dWeight[\(j)]")
            XCTAssertEqual(Double(db[j]), -0.25 + sb, accuracy: 1e-3, "cols \(cols): dBias[\(j)]")
        }
        return (dw, db)
    }

    func testParameterGradientsMatchReferenceAtEveryWidthAndAreThreadIndependent() {
        // 1000 rows: enough work for two threads. 128 = 8 vectors (4 + 4 with two threads); 16·13 + 5 = 8 + 4 + 1 vectors and a 5-column tail; 3 columns: tail only.
        for cols in [128, 213, 3] {
            let one = withThreads(1) { run(rows: 1000, cols: cols) }
            let two = withThreads(2) { run(rows: 1000, cols: cols) }
            XCTAssertEqual(one.dw, two.dw, "cols \(cols)")
            XCTAssertEqual(one.db, two.db, "cols \(cols)")
        }
    }
}

import XCTest
@testable import Tensor

final class MatmulTests: XCTestCase {
    /// Double-precision reference for op(A)·op(B).
    func reference(_ a: Tensor, _ b: Tensor, _ ta: Bool, _ tb: Bool) -> [Double] {
        let (m, k) = ta ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
        let n = tb ? b.shape[0] : b.shape[1]
        var c = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    let av = ta ? a.data[p * a.shape[1] + i] : a.data[i * a.shape[1] + p]
                    let bv = tb ? b.data[j * b.shape[1] + p] : b.data[p * b.shape[1] + j]
                    s += Double(av) * Double(bv)
                }
                c[i * n + j] = s
            }
        }
        return c
    }

    func testAllLayoutsMatchDoubleReferenceOnRaggedShapes() throws {
        // Shapes straddle every edge case: below one tile, ragged M and N, narrow N (10, 16),
        // k spanning several blocks, N just above a wide panel, and M past one 16-panel chunk
        // of a transposed A.
        let shapes = [(1, 1, 1), (3, 5, 7), (9, 17, 33), (8, 300, 16), (13, 40, 10), (128, 256, 10), (50, 37, 3), (70, 513, 65), (33, 64, 100), (205, 300, 70), (12, 32, 128)]
        var seed: UInt64 = 1
        for (m, k, n) in shapes {
            for ta in [false, true] {
                for tb in [false, true] {
                    seed += 1
                    let a = randomTensor(ta ? [k, m] : [m, k], seed: seed)
                    let b = randomTensor(tb ? [n, k] : [k, n], seed: seed + 100)
                    let c = try Matmul.multiply(a, b, transposeA: ta, transposeB: tb)
                    XCTAssertEqual(c.shape, [m, n])
                    assertClose(c.scalars, reference(a, b, ta, tb), atol: 1e-4 * Double(k).squareRoot(), rtol: 1e-4,
                                "m\(m) k\(k) n\(n) ta\(ta) tb\(tb)")
                }
            }
        }
    }

    func testAccumulateAddsToExistingOutputAndBiasIsAddedOnce() throws {
        let (m, k, n) = (19, 600, 45)   // k > one block: the bias must not be added per block
        let a = randomTensor([m, k], seed: 3), b = randomTensor([n, k], seed: 4)
        let bias = randomTensor([n], seed: 5)
        let c = randomTensor([m, n], seed: 6)
        let before = c.scalars
        Matmul.gemm(m: m, n: n, k: k, a: a.data, lda: k, b: b.data, ldb: k, transposeB: true,
                    c: c.data, ldc: n, accumulate: true, bias: bias.data)
        let ref = reference(a, b, false, true)
        var expected = [Double](repeating: 0, count: m * n)
        for i in 0..<m { for j in 0..<n { expected[i * n + j] = ref[i * n + j] + Double(before[i * n + j]) + Double(bias.data[j]) } }
        assertClose(c.scalars, expected, atol: 1e-3, rtol: 1e-4)
    }

    /// Row-major A read in place (Intel) or packed (AMD): both paths match the reference, with
    /// ragged rows and bias, and give the same bits.
    func testRowMajorAInPlaceAndPackedAgree() throws {
        let saved = (Matmul.readsRowMajorAInPlace, Matmul.readsNarrowRowMajorAInPlace)
        defer { (Matmul.readsRowMajorAInPlace, Matmul.readsNarrowRowMajorAInPlace) = saved }
        for (m, k, n) in [(2048 / 16, 512, 128), (37, 300, 64), (25, 40, 96), (128, 128, 16), (37, 70, 13)] {
            let a = randomTensor([m, k], seed: 21), b = randomTensor([k, n], seed: 22)
            let bias = randomTensor([n], seed: 23)
            var results: [[Float]] = []
            for inPlace in [true, false] {
                Matmul.readsRowMajorAInPlace = inPlace
                Matmul.readsNarrowRowMajorAInPlace = inPlace
                let c = Tensor.zerosUnchecked([m, n])
                Matmul.gemm(m: m, n: n, k: k, a: a.data, lda: k, b: b.data, ldb: n, c: c.data, ldc: n, bias: bias.data)
                let ref = reference(a, b, false, false)
                assertClose(c.scalars, (0..<(m * n)).map { ref[$0] + Double(bias.data[$0 % n]) },
                            atol: 1e-4 * Double(k).squareRoot(), rtol: 1e-4, "m\(m) k\(k) n\(n) in place \(inPlace)")
                results.append(c.scalars)
            }
            XCTAssertEqual(results[0], results[1], "m\(m) k\(k) n\(n)")
        }
    }

    func testCPUVendorIsReadFromCPUInfo() {
        XCTAssertEqual(BuildInfo.vendor(cpuinfo: "processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 26\n"), "AuthenticAMD")
        XCTAssertNil(BuildInfo.vendor(cpuinfo: "processor : 0\n"))
    }

    func testResultsAreBitIdenticalForOneAndTwoThreads() throws {
        for (m, k, n) in [(256, 256, 256), (2048, 128, 16), (128, 784, 256), (300, 200, 500)] {
            let a = randomTensor([m, k], seed: 11), b = randomTensor([k, n], seed: 12)
            let one = try withThreads(1) { try Matmul.multiply(a, b).scalars }
            let two = try withThreads(2) { try Matmul.multiply(a, b).scalars }
            XCTAssertEqual(one, two, "\(m)x\(k)x\(n)")
        }
    }

    func testNarrowOutputsOfEveryWidthMatchReferenceWithBiasAccumulateAndStrides() throws {
        // N ≤ 12 with row-major A has its own kernel on AVX-512 builds: cover every width,
        // m not a multiple of the 8-row block, k not a multiple of 16, both B layouts, and a C
        // with a row stride wider than N (its extra columns must stay untouched).
        var seed: UInt64 = 500
        for n in 1...12 {
            for (m, k) in [(8, 16), (13, 33), (37, 300), (9, 1)] {
                for tb in [false, true] {
                    seed += 1
                    let ldb = tb ? k + 3 : n + 2, ldc = n + 5
                    let a = randomTensor([m, k], seed: seed)
                    let b = randomTensor([tb ? n : k, ldb], seed: seed + 1000)
                    let bias = randomTensor([n], seed: seed + 2000)
                    let c = randomTensor([m, ldc], seed: seed + 3000)
                    let before = c.scalars
                    Matmul.gemm(m: m, n: n, k: k, a: a.data, lda: k, b: b.data, ldb: ldb, transposeB: tb,
                                c: c.data, ldc: ldc, accumulate: true, bias: bias.data)
                    for i in 0..<m {
                        for j in 0..<ldc {
                            let got = Double(c.data[i * ldc + j])
                            guard j < n else {
                                XCTAssertEqual(c.data[i * ldc + j], before[i * ldc + j], "n\(n) m\(m) k\(k) tb\(tb): column \(j) past N changed")
                                continue
                            }
                            var s = Double(before[i * ldc + j]) + Double(bias.data[j])
                            for p in 0..<k {
                                s += Double(a.data[i * k + p]) * Double(tb ? b.data[j * ldb + p] : b.data[p * ldb + j])
                            }
                            XCTAssertEqual(got, s, accuracy: 1e-4 * Double(k).squareRoot() + 1e-4 * abs(s),
                                           "n\(n) m\(m) k\(k) tb\(tb) at (\(i), \(j))")
                        }
                    }
                }
            }
        }
    }

    func testNarrowOutputsAreBitIdenticalForOneAndTwoThreads() throws {
        for (m, k, n) in [(4096, 256, 10), (1000, 129, 2), (777, 300, 12)] {
            let a = randomTensor([m, k], seed: 31), b = randomTensor([n, k], seed: 32)
            let one = try withThreads(1) { try Matmul.multiply(a, b, transposeB: true).scalars }
            let two = try withThreads(2) { try Matmul.multiply(a, b, transposeB: true).scalars }
            XCTAssertEqual(one, two, "\(m)x\(k)x\(n)")
        }
        // Weight-gradient layout: A stored transposed, k the batch.
        for (m, k, n) in [(384, 2048, 128), (128, 1000, 512)] {
            let a = randomTensor([k, m], seed: 13), b = randomTensor([k, n], seed: 14)
            let one = try withThreads(1) { try Matmul.multiply(a, b, transposeA: true).scalars }
            let two = try withThreads(2) { try Matmul.multiply(a, b, transposeA: true).scalars }
            XCTAssertEqual(one, two, "\(m)x\(k)x\(n) tn")
        }
    }

    func testBatchedMultiplyMatchesPerMatrixMultiply() throws {
        let a = randomTensor([5, 7, 9], seed: 21), b = randomTensor([5, 11, 9], seed: 22)
        let tape = Tape()
        let c = try tape.batchedMatmul(a, b, transposeB: true)
        XCTAssertEqual(c.shape, [5, 7, 11])
        for i in 0..<5 {
            let ai = try Tensor(shape: [7, 9], values: Array(a.scalars[(i * 63)..<((i + 1) * 63)]))
            let bi = try Tensor(shape: [11, 9], values: Array(b.scalars[(i * 99)..<((i + 1) * 99)]))
            assertClose(Array(c.scalars[(i * 77)..<((i + 1) * 77)]), reference(ai, bi, false, true), atol: 1e-4)
        }
    }

    func testMismatchedInnerDimensionsThrowNamingTheShapes() {
        let a = randomTensor([3, 4], seed: 1), b = randomTensor([5, 6], seed: 2)
        XCTAssertThrowsError(try Matmul.multiply(a, b)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("matmul") && text.contains("[3, 4]") && text.contains("[5, 6]"), text)
        }
    }

    func testZeroInnerDimensionGivesBiasOnly() {
        var out = [Float](repeating: 7, count: 6)
        let bias: [Float] = [1, 2, 3]
        let dummy: [Float] = [0]
        out.withUnsafeMutableBufferPointer { c in
            Matmul.gemm(m: 2, n: 3, k: 0, a: dummy, lda: 1, b: dummy, ldb: 1, c: c.baseAddress!, ldc: 3, bias: bias)
        }
        XCTAssertEqual(out, [1, 2, 3, 1, 2, 3])
    }
}

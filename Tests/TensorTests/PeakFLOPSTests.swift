import XCTest
@testable import Tensor

/// `PeakFLOPS`: the measurement's structure, never its speed (a shared machine's timings say
/// nothing reliable about thread scaling).
final class PeakFLOPSTests: XCTestCase {
    func testOneIterationIsTwelveMultiplyAddsOfTheKernelVector() {
        XCTAssertEqual(PeakFLOPS.accumulators, 12)
        XCTAssertEqual(PeakFLOPS.flopsPerIteration, 12 * 2 * VecF.scalarCount)
        #if SUPERALIGN_AVX512
        XCTAssertEqual(PeakFLOPS.flopsPerIteration, 384)
        #elseif SUPERALIGN_AVX2
        XCTAssertEqual(PeakFLOPS.flopsPerIteration, 192)
        #else
        XCTAssertEqual(PeakFLOPS.flopsPerIteration, 96)
        #endif
    }

    func testRateIsPositiveFiniteAndMatchesItsOwnArithmetic() {
        for threads in [1, 2] {
            let m = PeakFLOPS.measure(threads: threads, seconds: 0.005, repetitions: 2)
            XCTAssertEqual(m.threads, threads)
            XCTAssertGreaterThan(m.iterationsPerThread, 0)
            XCTAssertTrue(m.seconds.isFinite && m.seconds > 0, "\(m)")
            XCTAssertTrue(m.flopsPerSecond.isFinite && m.flopsPerSecond > 0, "\(m)")
            let flops = Double(threads) * Double(m.iterationsPerThread) * Double(PeakFLOPS.flopsPerIteration)
            XCTAssertEqual(m.flopsPerSecond, flops / m.seconds, accuracy: m.flopsPerSecond * 1e-12)
        }
    }

    func testChecksumIsEveryThreadRunningTheSameSerialKernel() {
        for threads in [1, 2, 3] {
            let m = PeakFLOPS.measure(threads: threads, seconds: 0.002, repetitions: 2)
            let one = PeakFLOPS.kernel(iterations: m.iterationsPerThread, seed: 1)
            var expected: Float = 0
            for _ in 0..<threads { expected += one }
            XCTAssertTrue(m.checksum.isFinite)
            XCTAssertEqual(m.checksum, expected, "threads \(threads)")
        }
    }

    func testKernelStaysBoundedAndNormal() {
        // Every lane tends to 1 (a = 1 − 2⁻²⁰, b = 2⁻²⁰): a sum of 12·width lanes, each between
        // its start (0.125 … 0.235) and 1.
        let lanes = Float(PeakFLOPS.accumulators * VecF.scalarCount)
        for iterations in [0, 1, 1000, 100_000] {
            let s = PeakFLOPS.kernel(iterations: iterations, seed: 1)
            XCTAssertTrue(s.isNormal, "\(iterations): \(s)")
            XCTAssertGreaterThanOrEqual(s, 0.124 * lanes)
            XCTAssertLessThanOrEqual(s, 1.0 * lanes)
        }
        XCTAssertLessThan(PeakFLOPS.kernel(iterations: 0, seed: 1), PeakFLOPS.kernel(iterations: 100_000, seed: 1))
    }

    func testThreadCountIsRestored() {
        let pool = ThreadPool.shared
        let saved = pool.threadCount
        defer { pool.threadCount = saved }
        pool.threadCount = 1
        _ = PeakFLOPS.measure(threads: 2, seconds: 0.001, repetitions: 1)
        XCTAssertEqual(pool.threadCount, 1)
    }
}

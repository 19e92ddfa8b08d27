import XCTest
#if canImport(Glibc)
import Glibc
#endif
@testable import Tensor

/// Accuracy of the vectorized math and behaviour of the thread pool and buffer pool.
final class KernelTests: XCTestCase {
    func testGeluWithSavedCDFGivesTheSameBitsAsRecomputingIt() {
        var rng = RandomGenerator(seed: 11)
        let n = 1000   // not a multiple of the vector width: the tail path too
        let x = (0..<n).map { _ in 4 * rng.normal() }, dy = (0..<n).map { _ in rng.normal() }
        var out1 = [Float](repeating: 0, count: n), out2 = out1, cdf = out1
        var dx1 = (0..<n).map { Float($0) * 1e-3 }, dx2 = dx1, dx3 = out1, dx4 = out1
        ElementwiseKernels.gelu(x, &out1, count: n)
        ElementwiseKernels.gelu(x, &out2, cdf: &cdf, count: n)
        XCTAssertEqual(out1, out2)
        ElementwiseKernels.geluBackward(x, dy, &dx1, count: n)
        ElementwiseKernels.geluBackward(x, cdf: cdf, dy, &dx2, count: n)
        XCTAssertEqual(dx1, dx2)
        ElementwiseKernels.geluBackward(x, dy, &dx3, count: n, accumulate: false)
        ElementwiseKernels.geluBackward(x, cdf: cdf, dy, &dx4, count: n, accumulate: false)
        XCTAssertEqual(dx3, dx4)
        XCTAssertNotEqual(dx3, [Float](repeating: 0, count: n))
    }

    func testVectorSquareRootIsWithinOneUlpOfTheCorrectlyRoundedRoot() {
        // Every exponent (subnormals included), many mantissas, and the special values.
        var inputs: [Float] = [0, .leastNonzeroMagnitude, .leastNormalMagnitude, .greatestFiniteMagnitude, 1, 2, 0.25]
        var rng = RandomGenerator(seed: 7)
        for e in -149...127 {
            for _ in 0..<64 { inputs.append(Float(sign: .plus, exponent: e, significand: 1 + rng.uniform())) }
        }
        var worst = 0
        for x in inputs {
            let got = vsqrt(VecF(repeating: x))[0], want = x.squareRoot()
            guard got.isFinite, want.isFinite else { XCTFail("sqrt(\(x)) = \(got)"); continue }
            let ulps = abs(Int(got.bitPattern) - Int(want.bitPattern))
            worst = max(worst, ulps)
            if ulps > 1 { XCTFail("sqrt(\(x)): \(got) vs \(want), \(ulps) ulps"); break }
        }
        XCTAssertLessThanOrEqual(worst, 1)
        XCTAssertEqual(vsqrt(VecF(repeating: .infinity))[0], .infinity)
        XCTAssertTrue(vsqrt(VecF(repeating: .nan))[0].isNaN)
    }

    func testVectorExpIsAccurateOverTheUsefulRange() {
        var worst = 0.0
        var x: Float = -80
        while x < 80 {
            let v = vexp(VecF(repeating: x))[0]
            let e = Foundation.exp(Double(x))
            worst = max(worst, abs(Double(v) - e) / e)
            x += 0.173
        }
        XCTAssertLessThan(worst, 3e-7)
        XCTAssertTrue(vexp(VecF(repeating: .nan))[0].isNaN)
        XCTAssertEqual(vexp(VecF(repeating: -.infinity))[0], 0, accuracy: 1e-37)
    }

    func testVectorErfcMatchesLibm() {
        var worst = 0.0
        var x: Float = -6
        while x < 6 {
            let v = Double(verfc(VecF(repeating: x))[0])
            let e = Foundation.erfc(Double(x))
            worst = max(worst, abs(v - e) / max(e, 1e-30))
            x += 0.0137
        }
        // Float32 rounding of z² alone gives a relative error of ~6e-8·z² in e^{−z²}: ~2e-6 at |x| = 6.
        XCTAssertLessThan(worst, 5e-6)
    }

    func testSoftmaxHandlesLargeLogitsAndRowsOfOddLength() throws {
        let x = try Tensor(shape: [2, 3], values: [1000, 1001, 1002, -1e30, 0, 0])
        let y = try Tape().softmax(x)
        assertClose(y.scalars, [0.09003057, 0.24472847, 0.66524096, 0, 0.5, 0.5], atol: 1e-6)
    }

    func testThreadPoolRunsEveryTaskOnceAndNestedRunsDoNotDeadlock() {
        let pool = ThreadPool.shared
        var hits = [Int](repeating: 0, count: 37)
        hits.withUnsafeMutableBufferPointer { h in
            let p = h.baseAddress!
            withThreads(2) {
                pool.run(tasks: 37) { t in
                    pool.run(tasks: 2) { _ in }   // nested: runs inline
                    p[t] += 1
                }
            }
        }
        XCTAssertEqual(hits, [Int](repeating: 1, count: 37))
    }

    func testThreadCountIsSettableAndClamped() {
        withThreads(0) { XCTAssertEqual(ThreadPool.shared.threadCount, 1) }
        withThreads(3) { XCTAssertEqual(ThreadPool.shared.threadCount, 3) }
    }

    func testBufferPoolReusesFreedStorage() {
        let n = 12_345
        var first: UnsafeMutablePointer<Float>?
        do { let t = Tensor.zerosUnchecked([n]); first = t.data }
        let again = Tensor.zerosUnchecked([n])
        XCTAssertEqual(again.data, first, "a freed buffer of the same size is handed out again")
    }

    func testReshapeSharesStorageAndValidatesCounts() throws {
        let x = try Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        let y = try x.reshaped([3, -1])
        XCTAssertEqual(y.shape, [3, 2])
        y.data[0] = 9
        XCTAssertEqual(x[0, 0], 9)
        XCTAssertThrowsError(try x.reshaped([4, -1]))
        XCTAssertTrue(x[5, 5].isNaN, "out-of-range subscripts read NaN instead of trapping")
    }

    func testClipGradientNormScalesToMaxNorm() throws {
        let a = try Tensor(shape: [2], values: [0, 0], requiresGrad: true)
        let b = try Tensor(shape: [1], values: [0], requiresGrad: true)
        a.grad = try Tensor(shape: [2], values: [3, 0]); b.grad = try Tensor(shape: [1], values: [4])
        let norm = try clipGradientNorm([a, b], maxNorm: 1)
        XCTAssertEqual(norm, 5, accuracy: 1e-6)
        assertClose(a.grad!.scalars + b.grad!.scalars, [0.6, 0, 0.8], atol: 1e-6)
        b.grad!.data[0] = .infinity
        XCTAssertThrowsError(try clipGradientNorm([a, b], maxNorm: 1))
    }

    func testOptimizerRefusesNonFiniteGradientsWithoutUpdating() throws {
        let p = try Tensor(shape: [2], values: [1, 2], requiresGrad: true)
        p.grad = try Tensor(shape: [2], values: [.nan, 1])
        XCTAssertThrowsError(try AdamW(parameters: [p]).step())
        XCTAssertEqual(p.scalars, [1, 2])
    }

    func testScheduleWarmsUpLinearlyAndDecaysToMinimum() {
        let s = LearningRateSchedule.warmupCosine(peak: 1, warmupSteps: 4, totalSteps: 12, minimum: 0.1)
        XCTAssertEqual(s.learningRate(at: 0), 0.25, accuracy: 1e-7)
        XCTAssertEqual(s.learningRate(at: 3), 1, accuracy: 1e-7)
        XCTAssertEqual(s.learningRate(at: 8), 0.55, accuracy: 1e-6)
        XCTAssertEqual(s.learningRate(at: 50), 0.1, accuracy: 1e-7)
        XCTAssertEqual(LearningRateSchedule.linearWarmup(peak: 2, warmupSteps: 2).learningRate(at: 7), 2)
    }
}

import Foundation

final class AttentionForwardTests: XCTestCase {
    func testForwardMatchesDoubleReferenceForLongSequences() {
        // T = 37: 4-row blocks whose rows share a 16- or 32-wide span (softmaxed together), a
        // block straddling no boundary, and a short last block.
        let (b, t, c, h) = (2, 37, 16, 2)
        let d = c / h
        let qkv = randomTensor([b, t, 3 * c], seed: 8)
        let y = Tensor.zerosUnchecked([b, t, c]), probs = Tensor.zerosUnchecked([b, h, t, t])
        AttentionKernels.forward(qkv: qkv.data, batch: b, length: t, width: c, heads: h, out: y.data, probs: probs.data)
        for s in 0..<b {
            for head in 0..<h {
                for i in 0..<t {
                    func at(_ row: Int, _ part: Int, _ e: Int) -> Double {
                        Double(qkv.data[(s * t + row) * 3 * c + part * c + head * d + e])
                    }
                    let scores = (0...i).map { j in (0..<d).map { at(i, 0, $0) * at(j, 1, $0) }.reduce(0, +) / Double(d).squareRoot() }
                    let mx = scores.max()!
                    let ex = scores.map { Foundation.exp($0 - mx) }
                    let z = ex.reduce(0, +)
                    for j in 0..<t {
                        let p = Double(probs.data[((s * h + head) * t + i) * t + j])
                        XCTAssertEqual(p, j <= i ? ex[j] / z : 0, accuracy: 1e-6, "P[\(s), \(head), \(i), \(j)]")
                    }
                    for e in 0..<d {
                        let ref = (0...i).map { ex[$0] / z * at($0, 2, e) }.reduce(0, +)
                        XCTAssertEqual(Double(y.data[(s * t + i) * c + head * d + e]), ref, accuracy: 1e-5, "Y[\(s), \(i), \(head)·\(e)]")
                    }
                }
            }
        }
    }
}

final class AttentionDecodeTests: XCTestCase {
    func testCachedDecodeStepMatchesLastRowOfFullForward() {
        let (b, t, c, h, capacity) = (3, 7, 12, 3, 10)
        let qkv = randomTensor([b, t, 3 * c], seed: 4)
        let y = Tensor.zerosUnchecked([b, t, c]), probs = Tensor.zerosUnchecked([b, h, t, t])
        AttentionKernels.forward(qkv: qkv.data, batch: b, length: t, width: c, heads: h, out: y.data, probs: probs.data)
        let keys = Tensor.zerosUnchecked([b, capacity, c]), values = Tensor.zerosUnchecked([b, capacity, c])
        let query = Tensor.zerosUnchecked([b, c])
        for s in 0..<b {
            for j in 0..<t {
                let row = qkv.data + (s * t + j) * 3 * c
                (keys.data + (s * capacity + j) * c).update(from: row + c, count: c)
                (values.data + (s * capacity + j) * c).update(from: row + 2 * c, count: c)
            }
            (query.data + s * c).update(from: qkv.data + (s * t + t - 1) * 3 * c, count: c)
        }
        let out = Tensor.zerosUnchecked([b, c])
        AttentionKernels.decode(query: query.data, keys: keys.data, values: values.data, batch: b, length: t,
                                capacity: capacity, width: c, heads: h, out: out.data)
        var expected: [Float] = []
        for s in 0..<b { expected += Array(y.scalars[((s * t + t - 1) * c)..<((s * t + t) * c)]) }
        assertClose(out.scalars, expected, atol: 1e-5)
    }
}

final class ThreadPoolGrowthTests: XCTestCase {
    func testWorkersAddedJustBeforeARunStillJoinIt() {
        // A worker that starts after a job is posted must still run its share (regression:
        // it used to wait for the next job and the run never finished).
        for _ in 0..<5 {
            let pool = ThreadPool()
            pool.threadCount = 4
            var done = [Int](repeating: 0, count: 8)
            done.withUnsafeMutableBufferPointer { d in
                let p = d.baseAddress!
                pool.run(tasks: 8) { p[$0] += 1 }
            }
            XCTAssertEqual(done, [Int](repeating: 1, count: 8))
        }
    }

    func testRunsWithFewerTasksThanThreadsFinishWhetherIdleThreadsSpinOrSleep() {
        // Threads left out of a run must not hold on to its closure (the caller's
        // `withoutActuallyEscaping` traps if one does), and nothing may be lost or run twice,
        // whether idle threads are spinning or asleep when the job is posted.
        let saved = ThreadPool.spinSeconds
        defer { ThreadPool.spinSeconds = saved }
        for spin in [0, 2e-4] {
            ThreadPool.spinSeconds = spin
            let pool = ThreadPool()
            pool.threadCount = 4
            for round in 0..<400 {
                let tasks = 2 + round % 3
                var done = [Int](repeating: 0, count: tasks)
                done.withUnsafeMutableBufferPointer { d in
                    let p = d.baseAddress!
                    pool.run(tasks: tasks) { p[$0] += 1 }
                }
                XCTAssertEqual(done, [Int](repeating: 1, count: tasks), "spin \(spin), round \(round)")
                if round % 100 == 0 { usleep(2_000) }   // let the threads fall asleep now and then
            }
        }
    }
}

/// The machine's peak single-precision multiply-add rate, measured: each thread runs a loop of
/// independent fused multiply-adds on this build's vector (`VecF`: SIMD16 with AVX-512, SIMD8
/// with AVX2, else SIMD4, the width of the matrix-multiply kernels) and nothing else, so the
/// rate is what the FMA units can do at the clock they run at with that many threads busy.
///
/// `accumulators` (12) independent chains cover the FMA latency (4 cycles) times the FMA ports
/// (2) of current x86 cores with room to spare; one loop iteration is 12 `vfmadd` instructions.
/// A multiply-add counts as 2 flops per lane. Without `SUPERALIGN_FMA` (the portable baseline)
/// `madd` is a multiply and an add, still 2 flops per lane.
///
///     let peak = PeakFLOPS.measure(threads: 2)
///     print(peak.flopsPerSecond / 1e9)   // GFLOP/s with 2 threads busy
///
/// The threads run on `ThreadPool.shared` (its thread count is set for the measurement and
/// restored after). Every thread does the same fixed number of iterations, and the rate is the
/// total over the wall time of the whole run, so threads that share a core (or start late) lower
/// it instead of inflating it. The best of `repetitions` runs is kept.
public enum PeakFLOPS {
    /// Independent accumulator chains per thread.
    public static let accumulators = 12

    /// Flops of one loop iteration of one thread: `accumulators` multiply-adds of `VecF`.
    public static var flopsPerIteration: Int { accumulators * 2 * VecF.scalarCount }

    public struct Measurement: Sendable, Equatable {
        /// Threads asked for (the pool may run fewer if it could not start them all).
        public var threads: Int
        /// Loop iterations each thread ran per repetition.
        public var iterationsPerThread: Int
        /// Wall seconds of the fastest repetition.
        public var seconds: Double
        /// Flops per second of the fastest repetition: `threads · iterationsPerThread ·
        /// flopsPerIteration / seconds`.
        public var flopsPerSecond: Double
        /// Every accumulator of every thread folded together (the same for any thread count and
        /// repetition: all threads run the same arithmetic). Returned so the loop cannot be
        /// deleted as dead code.
        public var checksum: Float
    }

    /// Measures the peak rate on `threads` threads, each running for about `seconds` per
    /// repetition (the iteration count is calibrated on one thread first).
    public static func measure(threads: Int, seconds: Double = 0.05, repetitions: Int = 5) -> Measurement {
        let n = max(1, threads)
        let target = max(seconds, 1e-4)
        // Calibrate on the calling thread: double until a run takes an eighth of the target,
        // then scale to the target.
        var iterations = 1 << 12
        var sink: Float = 0
        while true {
            let t0 = monotonicSeconds()
            sink += kernel(iterations: iterations, seed: 1)
            let dt = monotonicSeconds() - t0
            if dt >= target / 8 || iterations >= 1 << 40 {
                iterations = max(1 << 12, Int(Double(iterations) * target / max(dt, 1e-9)))
                break
            }
            iterations *= 2
        }

        let pool = ThreadPool.shared
        let saved = pool.threadCount
        pool.threadCount = n
        defer { pool.threadCount = saved }
        let results = UnsafeMutablePointer<Float>.allocate(capacity: n)
        defer { results.deallocate() }
        var best = Double.infinity
        var checksum: Float = 0
        let iters = iterations
        for _ in 0..<max(1, repetitions) {
            results.initialize(repeating: 0, count: n)
            let t0 = monotonicSeconds()
            pool.run(tasks: n) { t in results[t] = kernel(iterations: iters, seed: 1) }
            let dt = monotonicSeconds() - t0
            best = min(best, dt)
            checksum = 0
            for t in 0..<n { checksum += results[t] }
        }
        // `sink` (the calibration runs) is folded in as 0·sink, which is 0 for the finite values
        // the loop produces but keeps those runs alive too.
        checksum += 0 * sink
        let flops = Double(n) * Double(iters) * Double(flopsPerIteration)
        return Measurement(threads: n, iterationsPerThread: iters, seconds: best,
                           flopsPerSecond: flops / best, checksum: checksum)
    }

    /// `iterations` rounds of `accumulators` independent `acc = acc·a + b` on `VecF`; returns
    /// the sum of every lane of every accumulator. With a = 1 − 2⁻²⁰ and b = 2⁻²⁰ each lane
    /// moves towards 1 and stays a normal number (no denormal slowdowns, no overflow). `seed`
    /// only comes in at run time, so the compiler cannot fold the loop to a constant.
    @inline(never)
    public static func kernel(iterations: Int, seed: Int) -> Float {
        let a = VecF(repeating: 1 - 0x1p-20), b = VecF(repeating: 0x1p-20 * Float(seed))
        let s = Float(seed) * 0.125
        var c0 = VecF(repeating: s), c1 = VecF(repeating: s + 0.01), c2 = VecF(repeating: s + 0.02)
        var c3 = VecF(repeating: s + 0.03), c4 = VecF(repeating: s + 0.04), c5 = VecF(repeating: s + 0.05)
        var c6 = VecF(repeating: s + 0.06), c7 = VecF(repeating: s + 0.07), c8 = VecF(repeating: s + 0.08)
        var c9 = VecF(repeating: s + 0.09), c10 = VecF(repeating: s + 0.10), c11 = VecF(repeating: s + 0.11)
        var i = 0
        while i < iterations {
            c0 = madd(c0, a, b); c1 = madd(c1, a, b); c2 = madd(c2, a, b); c3 = madd(c3, a, b)
            c4 = madd(c4, a, b); c5 = madd(c5, a, b); c6 = madd(c6, a, b); c7 = madd(c7, a, b)
            c8 = madd(c8, a, b); c9 = madd(c9, a, b); c10 = madd(c10, a, b); c11 = madd(c11, a, b)
            i += 1
        }
        let sum = ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7)) + ((c8 + c9) + (c10 + c11))
        return sum.sum()
    }
}

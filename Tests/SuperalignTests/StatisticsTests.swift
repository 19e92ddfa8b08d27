import Foundation
import XCTest
import Superalign

/// Statistics (DESIGN.md, "Conventions of measurement", bullet "Statistics"). Expected values
/// come from an independent source: SciPy 1.17.1 / NumPy 2.4.6, computed with the Python
/// expression quoted beside each literal (`from scipy import stats; import numpy as np`).
final class StatisticsTests: XCTestCase {

    /// `|actual − expected| ≤ relative · |expected|` (plus a tiny absolute floor for zeros).
    private func assertClose(_ actual: Double, _ expected: Double, relative: Double,
                             _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
        let tolerance = max(relative * abs(expected), 1e-15)
        XCTAssert(abs(actual - expected) <= tolerance,
                  "\(actual) is not within \(relative) (relative) of \(expected) \(message)",
                  file: file, line: line)
    }

    // MARK: - Student t

    func testTQuantileMatchesSciPy() {
        // stats.t.ppf(0.975, df) for df in [1, 2, 4, 9, 29, 200, 1000]
        let expected: [(Int, Double)] = [
            (1, 12.706204736174694),
            (2, 4.302652729749462),
            (4, 2.7764451051977934),
            (9, 2.262157162798205),
            (29, 2.045229642132703),
            (200, 1.9718962236339088),
            (1000, 1.9623390808264083),
        ]
        for (df, t) in expected {
            assertClose(Statistics.tQuantile(0.975, degreesOfFreedom: df), t, relative: 1e-9, "df \(df)")
        }
        // stats.t.ppf(0.995, 3)
        assertClose(Statistics.tQuantile(0.995, degreesOfFreedom: 3), 5.840909309733355, relative: 1e-9)
        // stats.t.ppf(0.025, 9)  (lower tail: the negative of the upper quantile)
        assertClose(Statistics.tQuantile(0.025, degreesOfFreedom: 9), -2.2621571627982053, relative: 1e-9)
        // stats.t.ppf(0.9999, 2)
        assertClose(Statistics.tQuantile(0.9999, degreesOfFreedom: 2), 70.70007107496818, relative: 1e-9)
        XCTAssertEqual(Statistics.tQuantile(0.5, degreesOfFreedom: 7), 0)
        XCTAssertEqual(Statistics.tQuantile(1, degreesOfFreedom: 7), .infinity)
        XCTAssertEqual(Statistics.tQuantile(0, degreesOfFreedom: 7), -.infinity)
        XCTAssertTrue(Statistics.tQuantile(0.975, degreesOfFreedom: 0).isNaN)
        XCTAssertTrue(Statistics.tQuantile(.nan, degreesOfFreedom: 3).isNaN)
    }

    func testTCDFMatchesSciPy() {
        // stats.t.cdf(2.0, 5)
        assertClose(Statistics.tCDF(2.0, degreesOfFreedom: 5), 0.9490302605850708, relative: 1e-10)
        // stats.t.cdf(-1.5, 3)
        assertClose(Statistics.tCDF(-1.5, degreesOfFreedom: 3), 0.11529193262241147, relative: 1e-10)
        // stats.t.cdf(0.3, 1)  (Cauchy: 1/2 + atan(0.3)/π)
        assertClose(Statistics.tCDF(0.3, degreesOfFreedom: 1), 0.5927735790777423, relative: 1e-10)
        // stats.t.sf(6.0, 12)  (a far tail, through the symmetric branch)
        assertClose(Statistics.tCDF(-6.0, degreesOfFreedom: 12), 3.108369432429282e-05, relative: 1e-9)
        XCTAssertEqual(Statistics.tCDF(0, degreesOfFreedom: 4), 0.5, accuracy: 1e-15)
        XCTAssertEqual(Statistics.tCDF(.infinity, degreesOfFreedom: 4), 1)
        XCTAssertEqual(Statistics.tCDF(-.infinity, degreesOfFreedom: 4), 0)
        // The quantile inverts the CDF.
        for df in [1, 3, 10, 100] {
            for p in [0.01, 0.2, 0.7, 0.975] {
                let t = Statistics.tQuantile(p, degreesOfFreedom: df)
                assertClose(Statistics.tCDF(t, degreesOfFreedom: df), p, relative: 1e-12, "df \(df) p \(p)")
            }
        }
    }

    func testNormalQuantileMatchesSciPy() {
        // stats.norm.ppf(0.975), stats.norm.ppf(0.995), stats.norm.ppf(0.001), stats.norm.ppf(0.3)
        assertClose(Statistics.normalQuantile(0.975), 1.959963984540054, relative: 1e-14)
        assertClose(Statistics.normalQuantile(0.995), 2.5758293035489004, relative: 1e-14)
        assertClose(Statistics.normalQuantile(0.001), -3.090232306167813, relative: 1e-14)
        assertClose(Statistics.normalQuantile(0.3), -0.5244005127080409, relative: 1e-14)
    }

    // MARK: - Means

    func testMeanIntervalUsesStudentTWithSampleStandardDeviation() throws {
        let xs: [Double] = [0.61, 0.72, 0.55, 0.80, 0.67]
        // xs = np.array([0.61, 0.72, 0.55, 0.80, 0.67])
        // stats.t.interval(0.95, 4, loc=xs.mean(), scale=stats.sem(xs))   (sem uses ddof=1)
        //   → (0.5499368054753224, 0.7900631945246777); xs.mean() → 0.67
        // (With n instead of n − 1 the low bound would be 0.5626; with z instead of t, 0.5852.)
        let interval = try XCTUnwrap(Statistics.meanInterval(xs))
        XCTAssertEqual(interval.estimate, 0.67, accuracy: 1e-9)
        XCTAssertEqual(interval.low, 0.5499368054753224, accuracy: 1e-9)
        XCTAssertEqual(interval.high, 0.7900631945246777, accuracy: 1e-9)
        XCTAssertEqual(interval.n, 5)
        // stats.t.interval(0.90, 4, loc=xs.mean(), scale=stats.sem(xs))
        let ninety = try XCTUnwrap(Statistics.meanInterval(xs, confidence: 0.90))
        XCTAssertEqual(ninety.low, 0.5778114906992511, accuracy: 1e-9)
        XCTAssertEqual(ninety.high, 0.7621885093007489, accuracy: 1e-9)
    }

    func testMeanIntervalUndefinedCases() throws {
        XCTAssertNil(Statistics.meanInterval([]))
        XCTAssertNil(Statistics.meanInterval([0.5]))
        XCTAssertNil(Statistics.meanInterval([0.5, .nan, 0.7]))
        XCTAssertNil(Statistics.meanInterval([0.5, 0.7], confidence: 1))
        // Two values: defined, very wide (t_{0.975, 1} = 12.706).
        // xs = np.array([0.4, 0.6]); stats.t.interval(0.95, 1, loc=0.5, scale=stats.sem(xs))
        //   → 0.5 ∓ 12.706204736174694 * 0.1
        let two = try XCTUnwrap(Statistics.meanInterval([0.4, 0.6]))
        XCTAssertEqual(two.low, 0.5 - 1.2706204736174694, accuracy: 1e-9)
        XCTAssertEqual(two.high, 0.5 + 1.2706204736174694, accuracy: 1e-9)
        XCTAssertEqual(two.n, 2)
    }

    func testPairedDifference() throws {
        let a: [Double] = [0.71, 0.64, 0.80, 0.59, 0.75]
        let b: [Double] = [0.65, 0.60, 0.72, 0.58, 0.70]
        // d = np.array(a) - np.array(b)
        // d.mean() → 0.04800000000000002
        // stats.t.interval(0.95, 4, loc=d.mean(), scale=stats.sem(d))
        //   → (0.015860324292680104, 0.08013967570731995)
        let interval = try XCTUnwrap(Statistics.pairedDifference(a, b))
        XCTAssertEqual(interval.estimate, 0.048, accuracy: 1e-9)
        XCTAssertEqual(interval.low, 0.015860324292680104, accuracy: 1e-9)
        XCTAssertEqual(interval.high, 0.08013967570731995, accuracy: 1e-9)
        XCTAssertEqual(interval.n, 5)

        // Pairs with a NaN on either side are dropped: same result.
        let withHoles = try XCTUnwrap(Statistics.pairedDifference(a + [Double.nan, 0.9], b + [0.5, Double.nan]))
        XCTAssertEqual(withHoles.estimate, interval.estimate, accuracy: 1e-15)
        XCTAssertEqual(withHoles.low, interval.low, accuracy: 1e-15)
        XCTAssertEqual(withHoles.high, interval.high, accuracy: 1e-15)
        XCTAssertEqual(withHoles.n, 5)

        // Fewer than 2 pairs left.
        XCTAssertNil(Statistics.pairedDifference([0.7, .nan], [0.6, 0.5]))
        XCTAssertNil(Statistics.pairedDifference([], []))
    }

    func testPairedTTestP() {
        let a: [Double] = [0.71, 0.64, 0.80, 0.59, 0.75]
        let b: [Double] = [0.65, 0.60, 0.72, 0.58, 0.70]
        // stats.ttest_rel(a, b).pvalue  (two-sided; a one-sided test would give half)
        assertClose(Statistics.pairedTTestP(a, b) ?? .nan, 0.014300043397121992, relative: 1e-9)
        // stats.ttest_rel([0.52, 0.61, 0.48, 0.55, 0.60, 0.47], [0.50, 0.63, 0.45, 0.56, 0.55, 0.47]).pvalue
        assertClose(Statistics.pairedTTestP([0.52, 0.61, 0.48, 0.55, 0.60, 0.47],
                                            [0.50, 0.63, 0.45, 0.56, 0.55, 0.47]) ?? .nan,
                    0.3283678505978111, relative: 1e-9)
        // NaN pairs are dropped.
        assertClose(Statistics.pairedTTestP(a + [Double.nan], b + [0.1]) ?? .nan, 0.014300043397121992, relative: 1e-9)
        // Undefined: fewer than 2 pairs; no variance and no effect.
        XCTAssertNil(Statistics.pairedTTestP([0.5], [0.4]))
        XCTAssertNil(Statistics.pairedTTestP([1, 2, 3], [1, 2, 3]))
        // No variance but a nonzero mean difference: p = 0.
        XCTAssertEqual(Statistics.pairedTTestP([1, 2, 3], [0, 1, 2]), 0)
    }

    // MARK: - Proportions

    func testWilson() throws {
        // z = stats.norm.ppf(0.975); p = k/n; den = 1 + z*z/n; c = (p + z*z/(2*n))/den
        // hw = z*np.sqrt(p*(1-p)/n + z*z/(4*n*n))/den; (max(0, c-hw), min(1, c+hw))
        // (agrees with stats.binomtest(k, n).proportion_ci(0.95, method="wilson") to 1e-15)
        let cases: [(Int, Int, Double, Double, Double)] = [
            (0, 10, 0.0, 0.0, 0.2775327998628892),
            (7, 10, 0.7, 0.39677814746114537, 0.8922087325936989),
            (10, 10, 1.0, 0.7224672001371107, 1.0),
            (45, 200, 0.225, 0.17262369715089126, 0.2877412323566053),
        ]
        for (k, n, estimate, low, high) in cases {
            let interval = try XCTUnwrap(Statistics.wilson(successes: k, trials: n))
            XCTAssertEqual(interval.estimate, estimate, accuracy: 1e-12, "\(k)/\(n)")
            XCTAssertEqual(interval.low, low, accuracy: 1e-12, "\(k)/\(n)")
            XCTAssertEqual(interval.high, high, accuracy: 1e-12, "\(k)/\(n)")
            XCTAssertEqual(interval.n, n)
            XCTAssertGreaterThanOrEqual(interval.low, 0)
            XCTAssertLessThanOrEqual(interval.high, 1)
        }
        XCTAssertNil(Statistics.wilson(successes: 0, trials: 0))
        XCTAssertNil(Statistics.wilson(successes: 3, trials: 2))
        XCTAssertNil(Statistics.wilson(successes: -1, trials: 2))
    }

    // MARK: - Medians

    func testMedianBootstrapMatchesReimplementation() throws {
        // An independent Python reimplementation of the documented algorithm (SplitMix64 seeded
        // with `seed`; index = (next * n) >> 64; B = 2000 medians sorted; bounds at
        // floor(q * (B - 1)) for q = 0.025, 0.975), /tmp/stats/boot.py in the authoring session:
        //   boot([0.42, 0.55, 0.61, nan, 0.48, 0.70, 0.52, 0.66, 0.58], seed=7) → (0.565, 0.48, 0.655, 8)
        //   boot([1, 4, 2, 8, 5, 7], B=500, seed=3) → (4.5, 1.5, 7.5, 6)
        // (scipy.stats.bootstrap(..., np.median, method="percentile") on the same 8 values gives
        // (0.48, 0.66) with its own generator: the same neighbourhood.)
        let xs: [Double] = [0.42, 0.55, 0.61, .nan, 0.48, 0.70, 0.52, 0.66, 0.58]
        let interval = try XCTUnwrap(Statistics.medianBootstrap(xs, seed: 7))
        XCTAssertEqual(interval.estimate, 0.565, accuracy: 1e-12)   // (0.55 + 0.58) / 2
        XCTAssertEqual(interval.low, 0.48, accuracy: 1e-12)
        XCTAssertEqual(interval.high, 0.655, accuracy: 1e-12)
        XCTAssertEqual(interval.n, 8)

        let even = try XCTUnwrap(Statistics.medianBootstrap([1, 4, 2, 8, 5, 7], resamples: 500, seed: 3))
        XCTAssertEqual(even, Statistics.Interval(estimate: 4.5, low: 1.5, high: 7.5, n: 6))
    }

    func testMedianBootstrapProperties() throws {
        let xs: [Double] = [0.42, 0.55, 0.61, 0.48, 0.70, 0.52, 0.66, 0.58, 0.39, 0.63, 0.57]
        let first = try XCTUnwrap(Statistics.medianBootstrap(xs, seed: 42))
        let second = try XCTUnwrap(Statistics.medianBootstrap(xs, seed: 42))
        XCTAssertEqual(first, second, "deterministic for a seed")
        XCTAssertEqual(first.estimate, 0.57)   // the 6th of 11 sorted values
        XCTAssertEqual(first.n, xs.count)
        XCTAssertLessThanOrEqual(first.low, first.estimate)
        XCTAssertGreaterThanOrEqual(first.high, first.estimate)
        XCTAssertLessThan(first.low, first.high)
        XCTAssertGreaterThanOrEqual(first.low, xs.min()!)
        XCTAssertLessThanOrEqual(first.high, xs.max()!)

        // Undefined values are dropped: the same interval as without them.
        let holes = try XCTUnwrap(Statistics.medianBootstrap([Double.nan] + xs + [Double.nan], seed: 42))
        XCTAssertEqual(holes, first)

        // All equal: a degenerate interval.
        let flat = try XCTUnwrap(Statistics.medianBootstrap([0.3, 0.3, 0.3, 0.3], seed: 5))
        XCTAssertEqual(flat, Statistics.Interval(estimate: 0.3, low: 0.3, high: 0.3, n: 4))

        // One value: defined and degenerate.
        XCTAssertEqual(Statistics.medianBootstrap([2.5], seed: 1),
                       Statistics.Interval(estimate: 2.5, low: 2.5, high: 2.5, n: 1))

        // Nothing defined: nil.
        XCTAssertNil(Statistics.medianBootstrap([], seed: 1))
        XCTAssertNil(Statistics.medianBootstrap([.nan, .nan], seed: 1))
    }

    // MARK: - Multiple comparisons

    func testHolm() {
        // Holm by hand (m = 4): sorted 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06,
        // 0.04·1 = 0.04 → max(0.06, 0.04) = 0.06 (monotone). Also checked with a NumPy
        // implementation: argsort, running max of min(1, (m − k)·p).
        // (Bonferroni would give [0.04, 0.16, 0.12, 0.02]; without the running max, 0.04 for the
        // second.)
        let adjusted = Statistics.holm([0.01, 0.04, 0.03, 0.005])
        XCTAssertEqual(adjusted.count, 4)
        for (got, want) in zip(adjusted, [0.03, 0.06, 0.06, 0.02]) {
            XCTAssertEqual(got, want, accuracy: 1e-15)
        }
        // Capped at 1: 0.6·2 = 1.2 → 1, then max(1, 0.7) = 1.
        XCTAssertEqual(Statistics.holm([0.6, 0.7]), [1, 1])
        // 0.02·3 = 0.06, 0.4·2 = 0.8, 0.6·1 = 0.6 → 0.8.
        let three = Statistics.holm([0.4, 0.6, 0.02])
        for (got, want) in zip(three, [0.8, 0.8, 0.06]) {
            XCTAssertEqual(got, want, accuracy: 1e-15)
        }
        XCTAssertEqual(Statistics.holm([]), [])
        // An undefined claim stays undefined and does not count in m.
        let withUndefined = Statistics.holm([0.01, .nan, 0.04])
        XCTAssertEqual(withUndefined[0], 0.02, accuracy: 1e-15)
        XCTAssertTrue(withUndefined[1].isNaN)
        XCTAssertEqual(withUndefined[2], 0.04, accuracy: 1e-15)
    }

    func testIntervalIsCodable() throws {
        let interval = Statistics.Interval(estimate: 0.5, low: 0.25, high: 0.75, n: 7)
        let data = try JSONEncoder().encode(interval)
        XCTAssertEqual(try JSONDecoder().decode(Statistics.Interval.self, from: data), interval)
    }
}

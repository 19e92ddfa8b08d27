// Statistics for reports (DESIGN.md, "Conventions of measurement", bullet "Statistics"):
// across seeds, the mean with a Student-t interval and arm differences paired by seed; within one
// run, Wilson intervals for proportions; ratios summarised by the median with a bootstrap
// interval; several claims in one table Holm-corrected. Pure functions, no tables: the t and
// normal quantiles are computed here (regularized incomplete beta by continued fractions,
// Acklam's inverse normal refined with erfc).
import Foundation

/// Pure statistical functions used by reports. Every function is deterministic; an undefined
/// result is `nil` (printed as `null` / "–"), never a number.
public enum Statistics {

    /// A point estimate with a two-sided confidence interval `[low, high]`, computed from `n`
    /// values (seeds, pairs, trials).
    public struct Interval: Codable, Equatable, Sendable {
        public var estimate: Double
        public var low: Double
        public var high: Double
        public var n: Int

        public init(estimate: Double, low: Double, high: Double, n: Int) {
            self.estimate = estimate
            self.low = low
            self.high = high
            self.n = n
        }
    }

    // MARK: - Means

    /// The mean with a Student-t interval:
    /// `x̄ ± t_{1−α/2, n−1} · s / √n`, with `s = √(Σ(xᵢ − x̄)² / (n − 1))` the sample standard
    /// deviation and `α = 1 − confidence`.
    ///
    /// `nil` when fewer than 2 values are given, when any value is non-finite (NaN or ±∞: the
    /// caller passes only defined values) or when `confidence` is not in (0, 1). Two values give
    /// a (very wide, t₁ = 12.71) interval; requiring 3 or more seeds is the caller's rule.
    ///
    /// Example: `meanInterval([0.61, 0.72, 0.55, 0.80, 0.67])` →
    /// estimate 0.67, low 0.54994, high 0.79006, n 5 (t_{0.975, 4} = 2.77645, s = 0.09670).
    public static func meanInterval(_ xs: [Double], confidence: Double = 0.95) -> Interval? {
        guard xs.count >= 2, xs.allSatisfy({ $0.isFinite }),
              confidence > 0, confidence < 1 else { return nil }
        let n = Double(xs.count)
        let mean = xs.reduce(0, +) / n
        let sumSquares = xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        let s = (sumSquares / (n - 1)).squareRoot()
        let t = tQuantile(1 - (1 - confidence) / 2, degreesOfFreedom: xs.count - 1)
        let half = t * s / n.squareRoot()
        return Interval(estimate: mean, low: mean - half, high: mean + half, n: xs.count)
    }

    /// The mean paired difference `d̄ = mean(aᵢ − bᵢ)` with its Student-t interval
    /// `d̄ ± t_{1−α/2, n−1} · s_d / √n` (see `meanInterval`), pairing `a[i]` with `b[i]` (arms
    /// compared on the same seed).
    ///
    /// Pairs where either side is NaN are dropped first. `nil` when fewer than 2 pairs remain,
    /// when the arrays differ in length, or when a remaining difference is non-finite.
    ///
    /// Example: `pairedDifference([0.71, 0.64, 0.80, 0.59, 0.75], [0.65, 0.60, 0.72, 0.58, 0.70])`
    /// → estimate 0.048, low 0.01586, high 0.08014, n 5.
    public static func pairedDifference(_ a: [Double], _ b: [Double],
                                        confidence: Double = 0.95) -> Interval? {
        guard let d = differences(a, b) else { return nil }
        return meanInterval(d, confidence: confidence)
    }

    /// Two-sided p-value of the paired t test of `H₀: mean(aᵢ − bᵢ) = 0`:
    /// `t = d̄ / (s_d / √n)`, `df = n − 1`, `p = P(|T_df| ≥ |t|) = I_{df/(df+t²)}(df/2, 1/2)`
    /// (the regularized incomplete beta function).
    ///
    /// Pairs where either side is NaN are dropped. `nil` when fewer than 2 pairs remain, when
    /// the arrays differ in length, or when every difference is the same zero (no variance, no
    /// effect); when the differences have no variance but a nonzero mean, the p-value is 0.
    ///
    /// Example: `pairedTTestP([0.71, 0.64, 0.80, 0.59, 0.75], [0.65, 0.60, 0.72, 0.58, 0.70])`
    /// → 0.014300 (t = 4.1468, df = 4).
    public static func pairedTTestP(_ a: [Double], _ b: [Double]) -> Double? {
        guard let d = differences(a, b), d.count >= 2, d.allSatisfy({ $0.isFinite }) else { return nil }
        let n = Double(d.count)
        let mean = d.reduce(0, +) / n
        let sumSquares = d.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        let s = (sumSquares / (n - 1)).squareRoot()
        if s == 0 { return mean == 0 ? nil : 0 }
        let t = mean / (s / n.squareRoot())
        let df = n - 1
        let t2 = t * t
        guard t2.isFinite else { return 0 }
        let p = regularizedIncompleteBeta(a: df / 2, b: 0.5, x: df / (df + t2), y: t2 / (df + t2))
        return min(1, max(0, p))
    }

    /// `a[i] − b[i]` for the pairs where neither side is NaN; `nil` when the lengths differ or
    /// fewer than 2 pairs remain.
    private static func differences(_ a: [Double], _ b: [Double]) -> [Double]? {
        guard a.count == b.count else { return nil }
        var d: [Double] = []
        d.reserveCapacity(a.count)
        for i in a.indices where !a[i].isNaN && !b[i].isNaN {
            d.append(a[i] - b[i])
        }
        return d.count >= 2 ? d : nil
    }

    // MARK: - Proportions

    /// The Wilson score interval for a proportion `p̂ = k / n` (`k` successes in `n` trials):
    /// `(p̂ + z²/2n ± z · √(p̂(1 − p̂)/n + z²/4n²)) / (1 + z²/n)`, with `z = Φ⁻¹(1 − α/2)`
    /// (1.959963984540054 for 95%). The estimate is `p̂` itself; the bounds are clamped to [0, 1]
    /// (they are 0 and 1 exactly for `k = 0` and `k = n` up to rounding).
    ///
    /// `nil` when `trials <= 0`, `successes` is outside `0...trials`, or `confidence` is not
    /// in (0, 1).
    ///
    /// Example: `wilson(successes: 7, trials: 10)` → estimate 0.7, low 0.39678, high 0.89221.
    public static func wilson(successes: Int, trials: Int, confidence: Double = 0.95) -> Interval? {
        guard trials > 0, successes >= 0, successes <= trials,
              confidence > 0, confidence < 1 else { return nil }
        let n = Double(trials)
        let p = Double(successes) / n
        let z = normalQuantile(1 - (1 - confidence) / 2)
        let z2 = z * z
        let denominator = 1 + z2 / n
        let center = (p + z2 / (2 * n)) / denominator
        let half = z * (p * (1 - p) / n + z2 / (4 * n * n)).squareRoot() / denominator
        return Interval(estimate: p, low: max(0, center - half), high: min(1, center + half), n: trials)
    }

    // MARK: - Medians

    /// The median with a percentile bootstrap interval.
    ///
    /// NaN values (e.g. a seed whose ratio is undefined) are dropped first; `n` is the number of
    /// values kept. The median of an even count is the mean of the two middle values. Each of
    /// the `resamples` (B) bootstrap samples draws `n` values with replacement, the index being
    /// `⌊u · n / 2⁶⁴⌋` for `u` the next output of a SplitMix64 generator seeded with `seed`
    /// (deterministic: the same inputs and seed give the same interval). With the B bootstrap
    /// medians sorted ascending, the bound for the quantile `q` is the value at index
    /// `⌊q · (B − 1)⌋`, for `q = α/2` (low) and `q = 1 − α/2` (high).
    ///
    /// `nil` when no value remains, when `resamples < 1`, or when `confidence` is not in (0, 1).
    /// A percentile interval usually, but not always, contains the sample median.
    ///
    /// Example: `medianBootstrap([0.2, 0.5, .nan, 0.4], seed: 1)` → estimate 0.4, n 3, and an
    /// interval within [0.2, 0.5]; all-equal values give `low == estimate == high`.
    public static func medianBootstrap(_ xs: [Double], resamples: Int = 2000, seed: UInt64,
                                       confidence: Double = 0.95) -> Interval? {
        let values = xs.filter { !$0.isNaN }
        guard !values.isEmpty, resamples >= 1, confidence > 0, confidence < 1 else { return nil }
        let n = values.count
        let estimate = median(ofSorted: values.sorted())

        var rng = SplitMix64(seed: seed)
        var sample = [Double](repeating: 0, count: n)
        var medians: [Double] = []
        medians.reserveCapacity(resamples)
        for _ in 0..<resamples {
            for j in 0..<n {
                let index = Int(rng.next().multipliedFullWidth(by: UInt64(n)).high)
                sample[j] = values[index]
            }
            sample.sort()
            medians.append(median(ofSorted: sample))
        }
        medians.sort()

        let alpha = 1 - confidence
        let last = Double(resamples - 1)
        let lowIndex = min(resamples - 1, max(0, Int((alpha / 2 * last).rounded(.down))))
        let highIndex = min(resamples - 1, max(0, Int(((1 - alpha / 2) * last).rounded(.down))))
        return Interval(estimate: estimate, low: medians[lowIndex], high: medians[highIndex], n: n)
    }

    /// The median of a non-empty ascending array: the middle value, or the mean of the two
    /// middle values for an even count.
    private static func median(ofSorted s: [Double]) -> Double {
        let m = s.count / 2
        return s.count % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2
    }

    /// SplitMix64 (Steele, Lea & Flood 2014): `state += 0x9E3779B97F4A7C15`, then the output is
    /// `state` mixed by xor-shifts 30, 27, 31 and multiplications by 0xBF58476D1CE4E5B9 and
    /// 0x94D049BB133111EB.
    private struct SplitMix64 {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    // MARK: - Multiple comparisons

    /// Holm's step-down adjusted p-values, in the order of the input. With the `m` p-values
    /// sorted ascending `p₍₁₎ ≤ … ≤ p₍ₘ₎`:
    /// `p̃₍ₖ₎ = min(1, max_{j ≤ k} (m − j + 1) · p₍ⱼ₎)` (monotone, capped at 1).
    ///
    /// NaN entries (undefined claims) stay NaN and are not counted in `m`.
    ///
    /// Example: `holm([0.01, 0.04, 0.03, 0.005])` → `[0.03, 0.06, 0.06, 0.02]`.
    public static func holm(_ pValues: [Double]) -> [Double] {
        var adjusted = [Double](repeating: .nan, count: pValues.count)
        let order = pValues.indices
            .filter { !pValues[$0].isNaN }
            .sorted { pValues[$0] < pValues[$1] || (pValues[$0] == pValues[$1] && $0 < $1) }
        let m = order.count
        var running = 0.0
        for (k, i) in order.enumerated() {
            running = max(running, min(1, Double(m - k) * pValues[i]))
            adjusted[i] = running
        }
        return adjusted
    }

    // MARK: - Distributions

    /// The cumulative distribution function of Student's t with `ν` degrees of freedom:
    /// `P(T ≤ t) = 1 − ½ I_{ν/(ν+t²)}(ν/2, 1/2)` for `t ≥ 0` and `½ I_{ν/(ν+t²)}(ν/2, 1/2)` for
    /// `t < 0`, with `I` the regularized incomplete beta function.
    ///
    /// NaN when `t` is NaN or `degreesOfFreedom < 1`.
    ///
    /// Example: `tCDF(2.0, degreesOfFreedom: 5)` → 0.94903026.
    public static func tCDF(_ t: Double, degreesOfFreedom: Int) -> Double {
        guard !t.isNaN, degreesOfFreedom >= 1 else { return .nan }
        let df = Double(degreesOfFreedom)
        return t >= 0 ? 1 - upperTail(t, df: df) : upperTail(-t, df: df)
    }

    /// The quantile function of Student's t with `ν` degrees of freedom: the `t` with
    /// `tCDF(t, ν) = p`. Found by bisection on the upper tail `½ I_{ν/(ν+t²)}(ν/2, 1/2) = 1 − p`
    /// (for `p > ½`; by symmetry `t_p = −t_{1−p}`) down to adjacent doubles, so its accuracy is
    /// that of the incomplete beta (checked against SciPy at p = 0.975 and 0.995: relative error
    /// below 3e-13 for ν ≤ 1000 and 1e-10 for ν ≤ 10⁶).
    ///
    /// `−∞` for `p ≤ 0`, `+∞` for `p ≥ 1`, NaN when `p` is NaN or `degreesOfFreedom < 1`.
    ///
    /// Example: `tQuantile(0.975, degreesOfFreedom: 4)` → 2.7764451052.
    public static func tQuantile(_ p: Double, degreesOfFreedom: Int) -> Double {
        guard !p.isNaN, degreesOfFreedom >= 1 else { return .nan }
        if p <= 0 { return -.infinity }
        if p >= 1 { return .infinity }
        if p == 0.5 { return 0 }
        let df = Double(degreesOfFreedom)
        // 1 − p is exact for p in [½, 1]; for p < ½ the tail is p itself.
        return p > 0.5 ? upperTailQuantile(1 - p, df: df) : -upperTailQuantile(p, df: df)
    }

    /// `P(T > t) = ½ I_{ν/(ν+t²)}(ν/2, 1/2)` for `t ≥ 0`.
    private static func upperTail(_ t: Double, df: Double) -> Double {
        let t2 = t * t
        guard t2.isFinite else { return 0 }
        return 0.5 * regularizedIncompleteBeta(a: df / 2, b: 0.5, x: df / (df + t2), y: t2 / (df + t2))
    }

    /// The `t ≥ 0` with `P(T > t) = q`, for `0 < q < ½`, by bracketing then bisection.
    private static func upperTailQuantile(_ q: Double, df: Double) -> Double {
        var low = 0.0
        var high = 1.0
        while upperTail(high, df: df) > q {
            low = high
            high *= 2
            if !high.isFinite { return .infinity }
        }
        for _ in 0..<2_000 {
            let mid = low + (high - low) / 2
            if mid <= low || mid >= high { break }
            if upperTail(mid, df: df) > q { low = mid } else { high = mid }
        }
        return low + (high - low) / 2
    }

    /// The regularized incomplete beta function `I_x(a, b) = B(x; a, b) / B(a, b)`, with
    /// `y = 1 − x` passed separately to keep its precision. Computed as
    /// `x^a y^b / (a B(a, b)) · cf(a, b, x)` with the continued fraction `cf` (Numerical Recipes'
    /// `betai`/`betacf`, modified Lentz) when `x < (a + 1)/(a + b + 2)`, else as
    /// `1 − I_y(b, a)`.
    static func regularizedIncompleteBeta(a: Double, b: Double, x: Double, y: Double) -> Double {
        if x.isNaN || y.isNaN { return .nan }
        if x <= 0 { return 0 }
        if y <= 0 { return 1 }
        let lgammaAB: Double = Foundation.lgamma(a + b)
        let lgammaA: Double = Foundation.lgamma(a)
        let lgammaB: Double = Foundation.lgamma(b)
        let logFront = lgammaAB - lgammaA - lgammaB + a * Foundation.log(x) + b * Foundation.log(y)
        let front = Foundation.exp(logFront)
        if x < (a + 1) / (a + b + 2) {
            return front * betaContinuedFraction(a: a, b: b, x: x) / a
        } else {
            return 1 - front * betaContinuedFraction(a: b, b: a, x: y) / b
        }
    }

    /// The continued fraction of the incomplete beta function (Numerical Recipes §6.4,
    /// evaluated by the modified Lentz method); converges quickly for `x < (a + 1)/(a + b + 2)`.
    private static func betaContinuedFraction(a: Double, b: Double, x: Double) -> Double {
        let tiny = 1e-300
        let epsilon = 1e-15
        let qab = a + b
        let qap = a + 1
        let qam = a - 1
        var c = 1.0
        var d = 1 - qab * x / qap
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for iteration in 1...100_000 {
            let m = Double(iteration)
            let m2 = 2 * m
            // Even step.
            var aa = m * (b - m) * x / ((qam + m2) * (a + m2))
            d = 1 + aa * d
            if abs(d) < tiny { d = tiny }
            c = 1 + aa / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            // Odd step.
            aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
            d = 1 + aa * d
            if abs(d) < tiny { d = tiny }
            c = 1 + aa / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < epsilon { break }
        }
        return h
    }

    /// The standard normal quantile `Φ⁻¹(p)`: Acklam's rational approximation (relative error
    /// 1.15e-9) refined by one Halley step on `Φ(x) − p`, with `Φ(x) = ½ erfc(−x/√2)`, giving
    /// full double precision. `−∞` for `p ≤ 0`, `+∞` for `p ≥ 1`, NaN for NaN.
    ///
    /// Example: `normalQuantile(0.975)` → 1.959963984540054.
    public static func normalQuantile(_ p: Double) -> Double {
        if p.isNaN { return .nan }
        if p <= 0 { return -.infinity }
        if p >= 1 { return .infinity }
        // 1 − p is exact for p in [½, 1]; refine in the lower tail, where erfc is accurate.
        if p > 0.5 { return -lowerNormalQuantile(1 - p) }
        return lowerNormalQuantile(p)
    }

    /// `Φ⁻¹(p)` for `0 < p ≤ ½`.
    private static func lowerNormalQuantile(_ p: Double) -> Double {
        let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
        let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                 6.680131188771972e+01, -1.328068155288572e+01]
        let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                 -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                 3.754408661907416e+00]
        var x: Double
        if p < 0.02425 {
            let q = (-2 * Foundation.log(p)).squareRoot()
            let numerator = ((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]
            let denominator = (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1
            x = numerator / denominator
        } else {
            let q = p - 0.5
            let r = q * q
            let numerator = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
            let denominator = ((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1
            x = numerator / denominator
        }
        // One Halley step: e = Φ(x) − p, u = e / φ(x).
        let e = 0.5 * Foundation.erfc(-x / 2.0.squareRoot()) - p
        let u = e * (2 * Double.pi).squareRoot() * Foundation.exp(x * x / 2)
        x -= u / (1 + x * u / 2)
        return x
    }
}

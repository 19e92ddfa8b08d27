import Models
import Tensor

/// How the strong student learns from its weak supervisor.
public enum W2SLoss: String, Codable, Sendable, CaseIterable {
    /// Cross-entropy on the weak labels: `L = CE(f, weak)`.
    case xent
    /// The auxiliary confidence loss of Burns et al. (2023):
    /// `L = (1 − α)·CE(f, weak) + α·CE(f, t̂)`, with `t̂` the student's own hardened prediction
    /// (see `ClassBalance.harden`) and `α` warmed up by `ConfidenceWarmup`. It lets a confident
    /// student disagree with its supervisor instead of imitating the supervisor's errors.
    case logconf
    /// Bootstrapping: the weak model supervises an intermediate model, whose labels supervise
    /// the next, up to the strong model (each step uses `xent`).
    case bootstrap
}

/// The linear warm-up of the confidence weight `α` in `logconf`:
///
/// ```text
/// α(step) = α_final · min(1, step / (warmupFraction · totalSteps))     (step counted from 0)
/// ```
///
/// so the student first follows its supervisor (α ≈ 0), and only trusts its own predictions once
/// they mean something. `warmupFraction = 0` gives `α_final` from the first step.
///
/// ```swift
/// let w = ConfidenceWarmup(finalAlpha: 0.5, warmupFraction: 0.2)
/// w.alpha(step: 0, totalSteps: 100)    // 0
/// w.alpha(step: 10, totalSteps: 100)   // 0.25
/// w.alpha(step: 20, totalSteps: 100)   // 0.5 (and after)
/// ```
public struct ConfidenceWarmup: Codable, Equatable, Sendable {
    public var finalAlpha: Double
    public var warmupFraction: Double

    public init(finalAlpha: Double = 0.5, warmupFraction: Double = 0.2) {
        self.finalAlpha = finalAlpha
        self.warmupFraction = warmupFraction
    }

    public func alpha(step: Int, totalSteps: Int) -> Double {
        let warm = warmupFraction * Double(totalSteps)
        guard warm > 0 else { return finalAlpha }
        return finalAlpha * min(1, max(0, Double(step)) / warm)
    }

    enum CodingKeys: String, CodingKey { case finalAlpha = "final_alpha", warmupFraction = "warmup_fraction" }
}

/// Hardening a model's predictions so that the hardened labels have a given class balance, the
/// `t̂` of the `logconf` loss. With a plain arg-max a student that leans towards one class would
/// reinforce that lean; matching the weak labels' class balance prevents the collapse.
///
/// For two classes this is Burns et al.'s threshold: class 1 goes to the `round(π₁·n)` rows with
/// the highest `p₁`, i.e. `p₁` is thresholded at its `(1 − π₁)` quantile. For K classes it is the
/// greedy generalisation: (row, class) pairs by decreasing probability, each row assigned to the
/// first class whose quota `round(πₖ·n)` (largest remainders, summing to n) is not yet full.
///
/// ```swift
/// // p₁ of four rows; the weak labels are 25% class 1 → only the most confident row is 1
/// ClassBalance.harden(probabilities: [0.9, 0.1, 0.6, 0.4, 0.3, 0.7, 0.2, 0.8], classes: 2,
///                     fractions: [0.75, 0.25])    // [0, 0, 0, 1]
/// ```
public enum ClassBalance {
    /// Class counts `round(πₖ·n)` by largest remainders (ties to the lower class), summing to n.
    public static func quotas(fractions: [Double], count n: Int) -> [Int] {
        let total = fractions.reduce(0, +)
        guard total > 0 else { return fractions.indices.map { $0 == 0 ? n : 0 } }
        let exact = fractions.map { $0 / total * Double(n) }
        var q = exact.map { Int($0.rounded(.down)) }
        let order = exact.indices.sorted { (exact[$0] - Double(q[$0]), -$0) > (exact[$1] - Double(q[$1]), -$1) }
        var left = n - q.reduce(0, +)
        for k in order where left > 0 { q[k] += 1; left -= 1 }
        return q
    }

    /// Hardened labels of `n = probabilities.count / classes` rows (row-major probabilities)
    /// whose class counts are `quotas(fractions:count:)`.
    public static func harden(probabilities: [Float], classes: Int, fractions: [Double]) -> [Int] {
        precondition(classes > 0 && probabilities.count % classes == 0 && fractions.count == classes)
        let n = probabilities.count / classes
        var quota = quotas(fractions: fractions, count: n)
        // Stable order: by probability, then row, then class, so ties resolve the same way every run.
        let pairs = (0..<probabilities.count).sorted {
            probabilities[$0] != probabilities[$1] ? probabilities[$0] > probabilities[$1] : $0 < $1
        }
        var label = [Int](repeating: -1, count: n)
        var assigned = 0
        for p in pairs where assigned < n {
            let (r, k) = (p / classes, p % classes)
            guard label[r] < 0, quota[k] > 0 else { continue }
            label[r] = k
            quota[k] -= 1
            assigned += 1
        }
        return label
    }

    /// The class balance `πₖ` of soft (or one-hot) targets: their column means.
    public static func fractions(of targets: [Float], classes: Int) -> [Double] {
        let n = targets.count / classes
        var f = [Double](repeating: 0, count: classes)
        for r in 0..<n { for k in 0..<classes { f[k] += Double(targets[r * classes + k]) } }
        return f.map { n > 0 ? $0 / Double(n) : 0 }
    }
}

extension Tape {
    /// Cross-entropy against soft targets, averaged over rows:
    /// `L = −(1/B) Σᵢ Σₖ targetᵢₖ · log softmax(logitsᵢ)ₖ`. With one-hot targets it equals
    /// `crossEntropy(logits, targets:)`; since it is linear in the target,
    /// `(1 − α)·CE(f, a) + α·CE(f, b) = CE(f, (1 − α)·a + α·b)`, which is how `logconf` is computed.
    func softCrossEntropy(_ logits: Tensor, targets: [Float]) throws -> Tensor {
        let t = try Tensor(shape: logits.shape, values: targets)
        let logp = try logSoftmax(logits)
        return try scale(sum(mul(logp, t)), -1 / Float(logits.rows))
    }
}

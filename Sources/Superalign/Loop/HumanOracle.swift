import Tensor

/// The simulated human (DESIGN.md, "The human oracle"). One label is one verdict on one sample
/// and costs 1; with `corrections` a "wrong" label also supplies the right answer for 1 more,
/// when the budget still has it. The human errs at `errorRate` (a seeded draw per label). An
/// item asked for with no budget left gets nothing and counts for nothing.
public struct HumanOracle: Sendable {
    public let total: Int
    public private(set) var spent: Int
    public let corrections: Bool
    public let errorRate: Double
    var rng: RandomGenerator

    public init(total: Int, spent: Int, corrections: Bool, errorRate: Double, seed: UInt64) {
        self.total = total
        self.spent = spent
        self.corrections = corrections
        self.errorRate = errorRate
        rng = RandomGenerator(seed: seed)
    }

    public var remaining: Int { max(0, total - spent) }

    /// Labels a response whose truth is `correct`; nil when no budget is left.
    public mutating func label(correct: Bool, reference: String) -> (label: Bool, correction: String?)? {
        guard remaining > 0 else { return nil }
        spent += 1
        // Draw for every label, so the stream does not depend on the error rate being zero.
        let err = rng.uniformDouble() < errorRate
        let verdict = err ? !correct : correct
        guard !verdict, corrections, remaining > 0 else { return (verdict, nil) }
        spent += 1
        return (verdict, reference)
    }
}

/// Learning-rate schedules: linear warm-up followed by cosine decay (nanoGPT's), or constant.
///
/// ```swift
/// let s = LearningRateSchedule.warmupCosine(peak: 3e-4, warmupSteps: 100, totalSteps: 2000, minimum: 3e-5)
/// opt.learningRate = s.learningRate(at: step)     // step counts from 0
/// ```
public enum LearningRateSchedule: Sendable, Equatable {
    /// The same rate at every step.
    case constant(Float)
    /// `peak · (step + 1) / warmupSteps` during warm-up, then constant `peak`.
    case linearWarmup(peak: Float, warmupSteps: Int)
    /// Linear warm-up to `peak`, then `minimum + ½(peak − minimum)(1 + cos(π · progress))`
    /// where progress goes 0 → 1 from the end of warm-up to `totalSteps`; `minimum` after.
    case warmupCosine(peak: Float, warmupSteps: Int, totalSteps: Int, minimum: Float)

    /// The learning rate for 0-based `step`.
    public func learningRate(at step: Int) -> Float {
        switch self {
        case let .constant(v):
            return v
        case let .linearWarmup(peak, warm):
            return step < warm ? peak * Float(step + 1) / Float(warm) : peak
        case let .warmupCosine(peak, warm, total, minimum):
            if step < warm { return peak * Float(step + 1) / Float(warm) }
            if step >= total { return minimum }
            let progress = Double(step - warm) / Double(max(1, total - warm))
            let c = 0.5 * (1 + Foundationless.cos(Double.pi * progress))
            return minimum + Float(c) * (peak - minimum)
        }
    }
}

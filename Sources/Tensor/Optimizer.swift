/// An optimizer updates parameters in place from their `.grad`.
///
/// `step()` applies one update (parameters without a gradient are skipped) and then zeroes the
/// gradients, so a loop is just forward → `tape.backward(loss)` → `optimizer.step()`.
/// `learningRate` may be changed between steps (see `LearningRateSchedule`).
public protocol Optimizer: AnyObject {
    /// The tensors updated by `step()`.
    var parameters: [Tensor] { get }
    /// The step size used by the next `step()`.
    var learningRate: Float { get set }
    /// Applies one update, then zeroes every gradient. Throws `nonFinite` (before changing any
    /// parameter) if a gradient holds NaN or infinity.
    func step() throws
}

extension Optimizer {
    /// Zeroes every parameter's gradient (keeping the buffers).
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }

    /// Throws if any gradient element is not finite, naming the parameter.
    func checkGradients(_ op: String) throws {
        for (i, p) in parameters.enumerated() {
            guard let g = p.grad else { continue }
            let s = ReductionKernels.sumOfSquares(g.data, count: g.count)
            if !s.isFinite {
                throw TensorError.nonFinite(op: op, detail: "gradient of parameter \(p.name ?? "#\(i)") \(p.shape)")
            }
        }
    }
}

/// Stochastic gradient descent with momentum, PyTorch semantics:
/// `g ← ∇ + λθ` (L2 weight decay), `b ← μ b + (1 − dampening) g` (`b = g` on the first step),
/// `θ ← θ − η (nesterov ? g + μ b : b)`.
///
/// ```swift
/// let opt = SGD(parameters: params, learningRate: 0.1, momentum: 0.9)
/// ```
public final class SGD: Optimizer {
    public let parameters: [Tensor]
    public var learningRate: Float
    public var momentum: Float
    public var dampening: Float
    public var weightDecay: Float
    public var nesterov: Bool
    private var buffers: [Tensor?]

    public init(parameters: [Tensor], learningRate: Float, momentum: Float = 0, dampening: Float = 0,
                weightDecay: Float = 0, nesterov: Bool = false) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.weightDecay = weightDecay
        self.nesterov = nesterov
        self.buffers = Array(repeating: nil, count: parameters.count)
    }

    public func step() throws {
        try checkGradients("SGD.step")
        for (i, p) in parameters.enumerated() {
            guard let grad = p.grad else { continue }
            let n = p.count
            let theta = p.data, g = grad.data
            let lr = learningRate, mu = momentum, wd = weightDecay
            if mu == 0 {
                for j in 0..<n { theta[j] -= lr * (g[j] + wd * theta[j]) }
            } else {
                let first = buffers[i] == nil
                if first { buffers[i] = Tensor.zerosUnchecked(p.shape) }
                let b = buffers[i]!.data
                for j in 0..<n {
                    let d = g[j] + wd * theta[j]
                    b[j] = first ? d : mu * b[j] + (1 - dampening) * d
                    theta[j] -= lr * (nesterov ? d + mu * b[j] : b[j])
                }
            }
            grad.fill(0)
        }
    }
}

/// AdamW with PyTorch's exact semantics (`torch.optim.AdamW`, non-amsgrad):
///
/// ```
/// θ ← θ · (1 − η λ)                        decoupled weight decay
/// m ← β₁ m + (1 − β₁) g ;  v ← β₂ v + (1 − β₂) g²
/// θ ← θ − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)   ε added after the square root
/// ```
/// Defaults match PyTorch: β = (0.9, 0.999), ε = 1e-8, λ = 0.01. Pass `decay: false` for a
/// parameter group without weight decay by listing those tensors in `noDecay`.
///
/// ```swift
/// let opt = AdamW(parameters: model.parameters, learningRate: 3e-4)
/// opt.learningRate = schedule.learningRate(at: step)
/// try opt.step()
/// ```
public final class AdamW: Optimizer {
    public let parameters: [Tensor]
    public var learningRate: Float
    public var beta1: Float
    public var beta2: Float
    public var eps: Float
    public var weightDecay: Float
    /// Updates applied so far (t in the bias corrections).
    public private(set) var stepCount = 0
    private var m: [Tensor]
    private var v: [Tensor]
    private let decays: [Bool]

    public init(parameters: [Tensor], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                eps: Float = 1e-8, weightDecay: Float = 0.01, noDecay: [Tensor] = []) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
        self.m = parameters.map { Tensor.zerosUnchecked($0.shape) }
        self.v = parameters.map { Tensor.zerosUnchecked($0.shape) }
        self.decays = parameters.map { p in !noDecay.contains { $0 === p } }
    }

    /// The optimizer state (first and second moments) of parameter `index`, e.g. to checkpoint it.
    public func moments(of index: Int) -> (m: Tensor, v: Tensor) { (m[index], v[index]) }

    /// Sets the step counter (when restoring moments from a checkpoint).
    public func restore(stepCount: Int) { self.stepCount = max(0, stepCount) }

    public func step() throws {
        try checkGradients("AdamW.step")
        stepCount += 1
        let t = Double(stepCount)
        // Bias corrections in Double, as PyTorch computes them on Python floats.
        let bc1 = 1 - Foundationless.pow(Double(beta1), t)
        let bc2 = 1 - Foundationless.pow(Double(beta2), t)
        let stepSize = Float(Double(learningRate) / bc1)
        let bc2Sqrt = Float(bc2.squareRoot())
        let b1 = beta1, b2 = beta2, eps = eps
        for (i, p) in parameters.enumerated() {
            guard let grad = p.grad else { continue }
            let n = p.count
            let theta = p.data, g = grad.data, mp = m[i].data, vp = v[i].data
            let decay: Float = decays[i] ? 1 - learningRate * weightDecay : 1
            ThreadPool.shared.parallelRanges(n, grain: 64, work: n * 8, threshold: 1 << 17) { r in
                for j in r {
                    let gj = g[j]
                    let th = theta[j] * decay
                    // PyTorch updates m with lerp: m + (1 − β₁)(g − m).
                    let mj = mp[j] + (1 - b1) * (gj - mp[j])
                    let vj = b2 * vp[j] + (1 - b2) * gj * gj
                    mp[j] = mj; vp[j] = vj
                    let denom = vj.squareRoot() / bc2Sqrt + eps
                    theta[j] = th - stepSize * (mj / denom)
                }
            }
            grad.fill(0)
        }
    }
}

/// Scales all gradients so that their global L2 norm is at most `maxNorm` (PyTorch's
/// `clip_grad_norm_`: coefficient `maxNorm / (norm + 1e-6)`, applied only when below 1).
/// Returns the norm before clipping; throws `nonFinite` if it is NaN or infinite.
@discardableResult
public func clipGradientNorm(_ parameters: [Tensor], maxNorm: Float) throws -> Float {
    var total = 0.0
    for p in parameters { if let g = p.grad { total += ReductionKernels.sumOfSquares(g.data, count: g.count) } }
    let norm = Float(total.squareRoot())
    guard norm.isFinite else { throw TensorError.nonFinite(op: "clipGradientNorm", detail: "gradient norm is \(norm)") }
    let coef = maxNorm / (norm + 1e-6)
    if coef < 1 {
        for p in parameters { if let g = p.grad { ElementwiseKernels.affine(g.data, g.data, count: g.count, alpha: coef) } }
    }
    return norm
}

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

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// libm entry points under explicit names (avoids ambiguity with the tape's `exp`/`log` ops).
enum Foundationless {
    static func pow(_ x: Double, _ y: Double) -> Double {
        #if canImport(Glibc)
        return Glibc.pow(x, y)
        #else
        return Darwin.pow(x, y)
        #endif
    }
    static func cos(_ x: Double) -> Double {
        #if canImport(Glibc)
        return Glibc.cos(x)
        #else
        return Darwin.cos(x)
        #endif
    }
}

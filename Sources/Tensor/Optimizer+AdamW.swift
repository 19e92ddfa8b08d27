/// AdamW with PyTorch's exact semantics (`torch.optim.AdamW`, non-amsgrad):
///
/// ```
/// θ ← θ · (1 − η λ)                        decoupled weight decay
/// m ← β₁ m + (1 − β₁) g ;  v ← β₂ v + (1 − β₂) g²
/// θ ← θ − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)   ε added after the square root
/// ```
/// Defaults match PyTorch: β = (0.9, 0.999), ε = 1e-8, λ = 0.01. Tensors listed in `noDecay`
/// (biases, layer-norm weights — nanoGPT's second parameter group) skip the weight decay.
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

    public func step() throws { try step(keepingPreviousIn: nil) }

    /// `step()`, and first copies each parameter's current values into the matching tensor of
    /// `previous` (same order and shapes as `parameters`) in the same pass over memory: how a
    /// trainer keeps the last good weights for less than a separate copy costs.
    public func step(keepingPreviousIn previous: [Tensor]?) throws {
        if let previous {
            guard previous.count == parameters.count, zip(previous, parameters).allSatisfy({ $0.shape == $1.shape }) else {
                throw TensorError.invalidArgument(op: "AdamW.step", detail: "`previous` must match the parameters one to one, shape for shape")
            }
        }
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
            let keep = previous?[i].data
            let decay: Float = decays[i] ? 1 - learningRate * weightDecay : 1
            ThreadPool.shared.parallelRanges(n, grain: 64, work: n * 8, threshold: 1 << 17) { r in
                // A vector at a time with the same formulas as the scalar tail; the compiler does
                // not vectorize the loop itself because the pointers might alias. The gradient is
                // zeroed in the same pass: one trip through memory instead of two, which is what
                // this memory-bound update costs. `vsqrt` is within 1 ulp of `squareRoot()`.
                typealias V = VecF
                let w = V.scalarCount
                var j = r.lowerBound
                let vb1 = V(repeating: b1), vb2 = V(repeating: b2), vdecay = V(repeating: decay)
                let vEps = V(repeating: eps), vStep = V(repeating: stepSize), vBc2 = V(repeating: bc2Sqrt)
                let one = V(repeating: 1), zero = V()
                while j + w <= r.upperBound {
                    let gj = (g + j).vload(), m0 = (mp + j).vload(), v0 = (vp + j).vload()
                    let old = (theta + j).vload()
                    keep?.vstore(old, j)
                    let th = old * vdecay
                    let mj = m0 + (one - vb1) * (gj - m0)
                    let vj = vb2 * v0 + (one - vb2) * gj * gj
                    mp.vstore(mj, j)
                    vp.vstore(vj, j)
                    g.vstore(zero, j)
                    let denom = vsqrt(vj) / vBc2 + vEps
                    theta.vstore(th - vStep * (mj / denom), j)
                    j += w
                }
                for j in j..<r.upperBound {
                    let gj = g[j]
                    keep?[j] = theta[j]
                    let th = theta[j] * decay
                    // PyTorch updates m with lerp: m + (1 − β₁)(g − m).
                    let mj = mp[j] + (1 - b1) * (gj - mp[j])
                    let vj = b2 * vp[j] + (1 - b2) * gj * gj
                    mp[j] = mj; vp[j] = vj
                    g[j] = 0
                    let denom = vsqrt(VecF(repeating: vj))[0] / bc2Sqrt + eps
                    theta[j] = th - stepSize * (mj / denom)
                }
            }
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

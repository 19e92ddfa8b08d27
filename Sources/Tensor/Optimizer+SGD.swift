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

import Tensor

/// A fully connected layer in PyTorch's layout: `y = x · Wᵀ + b`, `W: [out, in]`, `b: [out]`.
/// Initialised GPT-2 style: `W ~ N(0, std²)`, `b = 0`.
public final class Linear {
    public let weight: Tensor
    public let bias: Tensor?

    public init(inputs: Int, outputs: Int, bias: Bool = true, std: Float, rng: inout RandomGenerator) throws {
        weight = try Tensor.randn([outputs, inputs], std: std, using: &rng, requiresGrad: true)
        self.bias = bias ? try Tensor.zeros([outputs], requiresGrad: true) : nil
    }

    /// PyTorch's `nn.Linear` default: `W, b ~ U(−1/√in, 1/√in)` (used by the MLP).
    public init(inputs: Int, outputs: Int, uniformUsing rng: inout RandomGenerator) throws {
        let bound = 1 / Float(inputs).squareRoot()
        weight = try Tensor.uniform([outputs, inputs], low: -bound, high: bound, using: &rng, requiresGrad: true)
        bias = try Tensor.uniform([outputs], low: -bound, high: bound, using: &rng, requiresGrad: true)
    }

    /// `act(x · Wᵀ + b) (+ residual)` through the engine's fused linear op.
    @inline(__always)
    public func callAsFunction(_ tape: Tape, _ x: Tensor, activation: Tape.Activation = .none, residual: Tensor? = nil) throws -> Tensor {
        try tape.linear(x, weight, bias, activation: activation, residual: residual)
    }
}

/// `nn.LayerNorm(C)`: weight 1, bias 0 at initialisation, eps 1e-5.
public final class LayerNorm {
    public let weight: Tensor
    public let bias: Tensor

    public init(width: Int) throws {
        weight = try Tensor(shape: [width], repeating: 1, requiresGrad: true)
        bias = try Tensor.zeros([width], requiresGrad: true)
    }

    @inline(__always)
    public func callAsFunction(_ tape: Tape, _ x: Tensor) throws -> Tensor {
        try tape.layerNorm(x, weight: weight, bias: bias)
    }
}

/// A tensor with its state-dict name, in the order PyTorch's `state_dict()` lists them.
public struct NamedParameter {
    public let name: String
    public let tensor: Tensor
    public init(_ name: String, _ tensor: Tensor) {
        self.name = name
        self.tensor = tensor
    }
}

import Tensor

/// A multilayer perceptron classifier: `logits = L_n(act(… act(L_1 x)))`, PyTorch
/// `nn.Sequential(Linear, act, Linear, act, …, Linear)` with `nn.Linear`'s default uniform
/// initialisation. State-dict names are the Sequential's: `layers.0.weight`, `layers.0.bias`,
/// `layers.2.weight`, … (activations occupy the odd indices).
///
/// ```swift
/// let mlp = try MLP(config: MLPConfig(widths: [784, 256, 256, 10], activation: .relu), seed: 0)
/// let logits = try mlp.logits(tape, x)            // x: [B, 784] → [B, 10]
/// let loss = try tape.crossEntropy(logits, targets: labels)
/// ```
public final class MLP {
    public let config: MLPConfig
    public let layers: [Linear]

    public init(config: MLPConfig, seed: UInt64) throws {
        try config.validate()
        self.config = config
        var rng = RandomGenerator(seed: seed)
        var layers: [Linear] = []
        for (a, b) in zip(config.widths, config.widths.dropFirst()) {
            layers.append(try Linear(inputs: a, outputs: b, uniformUsing: &rng))
        }
        self.layers = layers
        for p in namedParameters { p.tensor.name = p.name }
    }

    public var namedParameters: [NamedParameter] {
        layers.enumerated().flatMap { i, l in
            [NamedParameter("layers.\(2 * i).weight", l.weight), NamedParameter("layers.\(2 * i).bias", l.bias!)]
        }
    }

    public var parameters: [Tensor] { namedParameters.map(\.tensor) }

    /// Biases (rank 1) are not weight-decayed, as in nanoGPT's grouping.
    public var noDecayParameters: [Tensor] { parameters.filter { $0.rank < 2 } }

    /// Class logits `[B, classes]` for features `[B, inputs]`; each hidden layer's activation is
    /// fused into its linear op.
    public func logits(_ tape: Tape, _ x: Tensor) throws -> Tensor {
        var h = x
        for (i, layer) in layers.enumerated() {
            h = try layer(tape, h, activation: i + 1 < layers.count ? config.activation.tapeActivation : .none)
        }
        return h
    }

    /// Mean cross-entropy of `logits(x)` against `labels`.
    public func loss(_ tape: Tape, _ x: Tensor, labels: IndexTensor) throws -> Tensor {
        try tape.crossEntropy(logits(tape, x), targets: labels)
    }

    /// Features and labels of `examples` as engine tensors.
    public func batch(_ examples: [LabeledFeatures]) throws -> (x: Tensor, labels: IndexTensor) {
        let d = config.widths[0]
        var values: [Float] = []
        values.reserveCapacity(examples.count * d)
        for (i, e) in examples.enumerated() {
            guard e.features.count == d else {
                throw ModelsError.invalidArgument(op: "MLP.batch", detail: "example \(i) has \(e.features.count) features, the model takes \(d)")
            }
            guard e.label < config.widths.last! else {
                throw ModelsError.invalidArgument(op: "MLP.batch", detail: "example \(i) has label \(e.label), the model has \(config.widths.last!) classes")
            }
            values += e.features
        }
        return (try Tensor(shape: [examples.count, d], values: values), IndexTensor(examples.map { Int32($0.label) }))
    }
}

/// Shape of an `MLP`: layer widths from input to classes, and the hidden activation.
public struct MLPConfig: Equatable, Sendable {
    public enum Activation: String, Sendable, CaseIterable {
        case relu, gelu
        var tapeActivation: Tape.Activation { self == .relu ? .relu : .gelu }
    }

    /// `[inputs, hidden…, classes]`, at least two entries.
    public var widths: [Int]
    public var activation: Activation

    public init(widths: [Int], activation: Activation = .relu) {
        self.widths = widths
        self.activation = activation
    }

    public func validate() throws {
        guard widths.count >= 2, widths.allSatisfy({ $0 > 0 }) else {
            throw ModelsError.invalidConfig(detail: "MLP widths must be ≥ 2 positive sizes, got \(widths)")
        }
    }

    /// `{"widths":[784,256,10],"activation":"relu"}` (checkpoint metadata).
    public var json: String {
        JSONText.object([("widths", JSONText.ints(widths)), ("activation", JSONText.quote(activation.rawValue))])
    }
}

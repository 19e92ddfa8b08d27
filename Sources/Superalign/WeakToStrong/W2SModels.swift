import Foundation
import Models
import Tensor

/// A weak or strong model of a weak-to-strong experiment, written as a short spec string:
///
/// ```text
/// linear              logistic regression on the features (an MLP without hidden layers)
/// mlp:16              MLP, one hidden layer of 16 ReLU units
/// mlp:256,256         two hidden layers of 256
/// mlp:128x3           three hidden layers of 128 (width x depth)
/// gpt:2x64            char-level GPT classifier, 2 blocks of width 64 (heads: width / 16, at least 1)
/// gpt:2x64x4          … with 4 heads
/// …+pretrain          pretrained self-supervised before fine-tuning (see `W2SNetwork.pretrain`)
/// ```
///
/// The spec's text is its identity in reports (`description` round-trips through `init(_:)`).
public struct W2SModelSpec: Codable, Hashable, Sendable, CustomStringConvertible {
    public enum Architecture: Hashable, Sendable {
        case mlp(hidden: [Int])
        case gpt(layers: Int, width: Int, heads: Int)
    }

    public var architecture: Architecture
    public var pretrain: Bool

    public init(architecture: Architecture, pretrain: Bool = false) {
        self.architecture = architecture
        self.pretrain = pretrain
    }

    /// Parses a spec; a bad one is an error that shows the grammar.
    public init(_ text: String) throws {
        let grammar = "model specs: linear, mlp:W[,W…], mlp:WxD, gpt:LxC[xH], each optionally +pretrain"
        var body = text.trimmingCharacters(in: .whitespaces).lowercased()
        pretrain = false
        for suffix in ["+pretrain", "+pt"] where body.hasSuffix(suffix) {
            pretrain = true
            body.removeLast(suffix.count)
        }
        func ints(_ s: Substring, _ sep: Character) throws -> [Int] {
            let parts = s.split(separator: sep, omittingEmptySubsequences: false)
            let xs = parts.compactMap { Int($0) }
            guard !parts.isEmpty, xs.count == parts.count, xs.allSatisfy({ $0 > 0 }) else {
                throw TaskError.invalidOption("bad model spec '\(text)' (\(grammar))")
            }
            return xs
        }
        if body == "linear" {
            architecture = .mlp(hidden: [])
        } else if body.hasPrefix("mlp:") {
            let rest = body.dropFirst(4)
            if rest.contains("x") {
                let wd = try ints(rest, "x")
                guard wd.count == 2 else { throw TaskError.invalidOption("bad model spec '\(text)' (\(grammar))") }
                architecture = .mlp(hidden: Array(repeating: wd[0], count: wd[1]))
            } else {
                architecture = .mlp(hidden: try ints(rest, ","))
            }
        } else if body.hasPrefix("gpt:") {
            let xs = try ints(body.dropFirst(4), "x")
            guard xs.count == 2 || xs.count == 3 else { throw TaskError.invalidOption("bad model spec '\(text)' (\(grammar))") }
            let heads = xs.count == 3 ? xs[2] : max(1, xs[1] / 16)
            guard xs[1] % heads == 0 else {
                throw TaskError.invalidOption("bad model spec '\(text)': width \(xs[1]) is not divisible by \(heads) heads")
            }
            architecture = .gpt(layers: xs[0], width: xs[1], heads: heads)
        } else {
            throw TaskError.invalidOption("bad model spec '\(text)' (\(grammar))")
        }
    }

    public var description: String {
        let base: String
        switch architecture {
        case .mlp(let hidden): base = hidden.isEmpty ? "linear" : "mlp:" + hidden.map(String.init).joined(separator: ",")
        case let .gpt(l, w, h): base = "gpt:\(l)x\(w)" + (h == max(1, w / 16) ? "" : "x\(h)")
        }
        return base + (pretrain ? "+pretrain" : "")
    }

    public var isGPT: Bool { if case .gpt = architecture { return true } else { return false } }

    /// A smaller model of the same kind for `bootstrap`: a quarter of the width (MLP hidden
    /// layers), or half the blocks and width (GPT), pretrained like this one.
    public var intermediate: W2SModelSpec {
        switch architecture {
        case .mlp(let hidden): return W2SModelSpec(architecture: .mlp(hidden: hidden.map { max(2, $0 / 4) }), pretrain: pretrain)
        case let .gpt(l, w, _):
            let width = max(16, w / 2)
            return W2SModelSpec(architecture: .gpt(layers: max(1, l / 2), width: width, heads: max(1, width / 16)), pretrain: pretrain)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    public init(from decoder: Decoder) throws {
        try self.init(try decoder.singleValueContainer().decode(String.self))
    }
}

/// What every model of one data set shares: the feature width, the tokenizer and the context.
struct W2SInputs {
    let featureWidth: Int?
    let tokenizer: CharTokenizer?
    let context: Int
    let classes: Int
    let auxiliaryClasses: Int

    init(_ data: W2SDataset) {
        featureWidth = data.hasFeatures ? data.examples[0].features!.count : nil
        if data.hasText {
            let texts = data.examples.flatMap { [$0.text!, $0.pretrainingText ?? $0.text!] }
            tokenizer = CharTokenizer(corpus: texts)
            // BOS + text (+ EOS for language modelling).
            context = texts.map { $0.unicodeScalars.count + 2 }.max()!
        } else {
            tokenizer = nil
            context = 0
        }
        classes = data.classes
        auxiliaryClasses = data.auxiliaryClasses
    }
}

/// A classifier built from a `W2SModelSpec`: an `MLP` over features or a `GPT` with a class head
/// over text, with the batched forward passes the protocol needs.
final class W2SNetwork {
    let spec: W2SModelSpec
    let inputs: W2SInputs
    let mlp: MLP?
    let gpt: GPT?

    init(spec: W2SModelSpec, inputs: W2SInputs, seed: UInt64) throws {
        self.spec = spec
        self.inputs = inputs
        switch spec.architecture {
        case .mlp(let hidden):
            guard let d = inputs.featureWidth else {
                throw TaskError.invalidOption("model \(spec) needs numeric features; this data has only text (use a gpt: spec)")
            }
            mlp = try MLP(config: MLPConfig(widths: [d] + hidden + [inputs.classes]), seed: seed)
            gpt = nil
        case let .gpt(layers, width, heads):
            guard let tok = inputs.tokenizer else {
                throw TaskError.invalidOption("model \(spec) needs text; this data has only numeric features (use an mlp: spec)")
            }
            gpt = try GPT(config: GPTConfig(layers: layers, width: width, heads: heads, context: inputs.context,
                                            vocabulary: tok.vocabularySize, classes: inputs.classes), seed: seed)
            mlp = nil
        }
    }

    var parameters: [Tensor] { mlp?.parameters ?? gpt!.parameters }
    var noDecayParameters: [Tensor] { mlp?.noDecayParameters ?? gpt!.noDecayParameters }

    /// Copies every weight of `other` (same spec) into this network.
    func copyWeights(from other: W2SNetwork) throws {
        for (p, q) in zip(parameters, other.parameters) { try p.copy(from: q) }
    }

    /// Class logits `[B, classes]` of `examples`.
    func logits(_ tape: Tape, _ examples: [W2SExample]) throws -> Tensor {
        if let mlp {
            let x = try Tensor(shape: [examples.count, inputs.featureWidth!], values: examples.flatMap { $0.features! })
            return try mlp.logits(tape, x)
        }
        let batch = try TextBatch(examples.map { LabeledText(text: $0.text!, label: $0.label) },
                                  tokenizer: inputs.tokenizer!, context: inputs.context)
        return try gpt!.classify(tape, batch.ids, lengths: batch.lengths)
    }

    /// Softmax probabilities, row-major `[examples.count × classes]`, without recording.
    func probabilities(_ examples: [W2SExample]) throws -> [Float] {
        let tape = Tape()
        tape.isRecording = false
        var out: [Float] = []
        out.reserveCapacity(examples.count * inputs.classes)
        var start = 0
        while start < examples.count {
            let chunk = Array(examples[start..<min(start + 512, examples.count)])
            out += try tape.softmax(logits(tape, chunk)).scalars
            tape.reset()
            start += chunk.count
        }
        return out
    }

    /// Self-supervised pretraining on `corpus` (inputs only; labels are never read). This is
    /// what gives a strong model latent knowledge its weak supervisor lacks — the premise of
    /// weak-to-strong generalization: a pretrained model already represents the concept, and
    /// weak labels only have to elicit it. Without it a "strong" model is merely a bigger
    /// network learning from noisy labels, and mostly learns to imitate the noise.
    ///
    /// - GPT: language modelling, `L = −(1/N) Σ log p(charᵢ | chars before it)` over
    ///   `[BOS] + pretrainingText + [EOS]`; the class head is left untouched.
    /// - MLP with auxiliary targets (built-in tasks): a temporary linear head on the last hidden
    ///   layer predicts each auxiliary target (e.g. the digit sum), mean cross-entropy over heads.
    /// - MLP without them (user data): an autoencoder, a linear decoder from the last hidden
    ///   layer reconstructing the input, `L = mean((x̂ − x)²)`.
    ///
    /// The temporary heads are discarded; fine-tuning starts from the pretrained body.
    /// Returns the mean loss of the last tenth of the steps (for the progress log).
    @discardableResult
    func pretrain(_ corpus: [W2SExample], options: TrainingOptions) throws -> Float {
        if let gpt {
            let tok = inputs.tokenizer!
            let texts = corpus.map { PromptCompletion(prompt: "", completion: $0.pretrainingText ?? $0.text!) }
            let params = gpt.parameters.filter { p in gpt.score.map { p !== $0.weight && p !== $0.bias } ?? true }
            let trainer = Trainer(parameters: params, noDecay: params.filter { $0.rank < 2 }, options: options)
            return Self.tailLoss(try trainer.run(exampleCount: texts.count) { tape, idx in
                try gpt.sftLoss(tape, SequenceBatch(idx.map { texts[$0] }, tokenizer: tok, context: gpt.config.context))
            })
        }
        let mlp = mlp!
        let body = Array(mlp.layers.dropLast())
        guard let last = body.last else {
            throw TaskError.invalidOption("model \(spec) has no hidden layer to pretrain; drop +pretrain or add hidden layers")
        }
        let hiddenWidth = last.weight.shape[0]
        let d = inputs.featureWidth!
        let heads = corpus.first?.auxiliary.count ?? 0
        let useAuxiliary = heads > 0 && inputs.auxiliaryClasses > 0 && corpus.allSatisfy { $0.auxiliary.count == heads }
        let k = inputs.auxiliaryClasses
        var rng = RandomGenerator(seed: options.seed ^ 0xA0_70E)
        let head = try Linear(inputs: hiddenWidth, outputs: useAuxiliary ? heads * k : d, uniformUsing: &rng)
        let params = body.flatMap { [$0.weight, $0.bias!] } + [head.weight, head.bias!]
        let trainer = Trainer(parameters: params, noDecay: params.filter { $0.rank < 2 }, options: options)
        return Self.tailLoss(try trainer.run(exampleCount: corpus.count) { tape, idx in
            let rows = idx.map { corpus[$0] }
            let x = try Tensor(shape: [rows.count, d], values: rows.flatMap { $0.features! })
            var h = x
            for layer in body { h = try layer(tape, h, activation: .relu) }
            let out = try head(tape, h)
            if useAuxiliary {
                let flat = try tape.reshape(out, [rows.count * heads, k])
                return try tape.crossEntropy(flat, targets: IndexTensor(rows.flatMap { $0.auxiliary.map(Int32.init) }))
            }
            let diff = try tape.sub(out, x)
            return try tape.mean(tape.mul(diff, diff))
        })
    }

    static func tailLoss(_ r: TrainingReport) -> Float {
        let tail = r.losses.suffix(max(1, r.losses.count / 10))
        return tail.isEmpty ? .nan : tail.reduce(0, +) / Float(tail.count)
    }
}

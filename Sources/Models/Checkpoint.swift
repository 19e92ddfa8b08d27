import Foundation
import Tensor

/// Checkpoint metadata keys (all values are strings, as safetensors requires).
///
/// A GPT checkpoint's `__metadata__`:
/// `{"format":"pt","superalign.model":"gpt","superalign.config":"{\"layers\":2,…}",
///   "superalign.vocabulary":"{\"special\":[…],\"characters\":[…]}"}`
public enum CheckpointKey {
    public static let model = "superalign.model"
    public static let config = "superalign.config"
    public static let vocabulary = "superalign.vocabulary"
}

/// A model read back from a checkpoint, whichever kind it is.
public enum LoadedModel {
    case gpt(GPT, CharTokenizer?)
    case mlp(MLP)

    /// Reads `url` and builds the model its metadata names.
    public static func load(from url: URL) throws -> LoadedModel {
        let file = try SafeTensors.read(from: url)
        switch file.metadata[CheckpointKey.model] {
        case "mlp": return .mlp(try MLP.load(file))
        case "gpt", nil: return try GPT.load(file)
        case let other?:
            throw ModelsError.checkpoint(path: file.source, tensor: nil, detail: "unknown model kind \"\(other)\"")
        }
    }
}

extension SafeTensors {
    /// Copies the named tensors of a model out of the file, checking every shape, and rejects
    /// tensors the model does not have (except those listed in `ignoring`).
    func assign(to parameters: [NamedParameter], ignoring: (String) -> Bool = { _ in false }) throws {
        let known = Set(parameters.map(\.name))
        for name in tensors.keys.sorted() where !known.contains(name) && !ignoring(name) {
            throw ModelsError.checkpoint(path: source, tensor: name, detail: "not a tensor of this model")
        }
        for p in parameters {
            try p.tensor.copy(from: values(p.name, shape: p.tensor.shape))
        }
    }

    /// Throws naming the first tensor that holds NaN or ±∞ (a checkpoint of a diverged run).
    func requireFinite() throws {
        for name in tensors.keys.sorted() where tensors[name]!.values.contains(where: { !$0.isFinite }) {
            throw ModelsError.checkpoint(path: source, tensor: name, detail: "holds NaN or infinite values")
        }
    }
}

extension GPT {
    /// The checkpoint document: nanoGPT names, `lm_head.weight` written beside
    /// `transformer.wte.weight` (same values, as in PyTorch's `state_dict()` of a tied model).
    public func stateDocument(tokenizer: CharTokenizer?, metadata: [String: String] = [:]) -> SafeTensors {
        var file = SafeTensors(metadata: metadata)
        file.metadata["format"] = "pt"
        file.metadata[CheckpointKey.model] = "gpt"
        file.metadata[CheckpointKey.config] = config.json
        if let tokenizer { file.metadata[CheckpointKey.vocabulary] = tokenizer.serialized }
        for p in namedParameters { file[p.name] = SafeTensor(shape: p.tensor.shape, values: p.tensor.scalars) }
        file["lm_head.weight"] = SafeTensor(shape: tokenEmbedding.shape, values: tokenEmbedding.scalars)
        return file
    }

    /// Saves weights, config and vocabulary as safetensors, atomically.
    public func save(to url: URL, tokenizer: CharTokenizer?, metadata: [String: String] = [:]) throws {
        var doc = stateDocument(tokenizer: tokenizer, metadata: metadata)
        doc.source = url.path
        try doc.write(to: url)
    }

    /// Loads a GPT checkpoint. The config comes from the metadata, or from `config` for files
    /// without it (e.g. written from PyTorch); the vocabulary, when present, is returned too.
    public static func load(from url: URL, config: GPTConfig? = nil) throws -> (GPT, CharTokenizer?) {
        guard case let .gpt(model, tokenizer) = try load(SafeTensors.read(from: url), config: config) else {
            throw ModelsError.checkpoint(path: url.path, tensor: nil, detail: "not a GPT checkpoint")
        }
        return (model, tokenizer)
    }

    static func load(_ file: SafeTensors, config override: GPTConfig? = nil) throws -> LoadedModel {
        let config: GPTConfig
        if let override {
            config = override
        } else if let json = file.metadata[CheckpointKey.config] {
            do { config = try GPTConfig(json: json) } catch {
                throw ModelsError.checkpoint(path: file.source, tensor: nil, detail: "\(error)")
            }
        } else {
            throw ModelsError.checkpoint(path: file.source, tensor: nil,
                                         detail: "no \(CheckpointKey.config) in the metadata; pass the model config explicitly")
        }
        var tokenizer: CharTokenizer?
        if let vocab = file.metadata[CheckpointKey.vocabulary] {
            do { tokenizer = try CharTokenizer(serialized: vocab) } catch {
                throw ModelsError.checkpoint(path: file.source, tensor: nil, detail: "bad vocabulary: \(error)")
            }
            if tokenizer!.vocabularySize > config.vocabulary {
                throw ModelsError.checkpoint(path: file.source, tensor: nil,
                    detail: "vocabulary has \(tokenizer!.vocabularySize) tokens but the config says \(config.vocabulary)")
            }
        }
        try file.requireFinite()
        let model = try GPT(config: config, seed: 0)
        // nanoGPT without flash attention also saves its causal-mask buffers: not weights.
        try file.assign(to: model.namedParameters) {
            $0 == "lm_head.weight" || $0.hasSuffix(".attn.bias") || $0.hasSuffix(".attn.masked_bias")
        }
        if let head = file["lm_head.weight"] {
            guard head.shape == model.tokenEmbedding.shape, head.values == model.tokenEmbedding.scalars else {
                throw ModelsError.checkpoint(path: file.source, tensor: "lm_head.weight",
                                             detail: "differs from transformer.wte.weight, but this model ties them")
            }
        }
        return .gpt(model, tokenizer)
    }
}

extension MLP {
    public func stateDocument(metadata: [String: String] = [:]) -> SafeTensors {
        var file = SafeTensors(metadata: metadata)
        file.metadata["format"] = "pt"
        file.metadata[CheckpointKey.model] = "mlp"
        file.metadata[CheckpointKey.config] = config.json
        for p in namedParameters { file[p.name] = SafeTensor(shape: p.tensor.shape, values: p.tensor.scalars) }
        return file
    }

    /// Saves weights and config as safetensors, atomically.
    public func save(to url: URL, metadata: [String: String] = [:]) throws {
        var doc = stateDocument(metadata: metadata)
        doc.source = url.path
        try doc.write(to: url)
    }

    public static func load(from url: URL) throws -> MLP { try load(SafeTensors.read(from: url)) }

    static func load(_ file: SafeTensors) throws -> MLP {
        guard let json = file.metadata[CheckpointKey.config],
              let obj = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
              let widths = obj["widths"] as? [Int],
              let act = MLPConfig.Activation(rawValue: obj["activation"] as? String ?? "") else {
            throw ModelsError.checkpoint(path: file.source, tensor: nil, detail: "no valid MLP config in the metadata")
        }
        try file.requireFinite()
        let model = try MLP(config: MLPConfig(widths: widths, activation: act), seed: 0)
        try file.assign(to: model.namedParameters)
        return model
    }
}

import Foundation

/// The shape of a `GPT` (nanoGPT's `GPTConfig`, char-level, biases always on).
///
/// Parameter count (tied head, no classifier):
/// `V·C + T·C + L·(12C² + 13C) + 2C`, e.g. the benchmark model
/// `GPTConfig(layers: 4, width: 128, heads: 4, context: 32, vocabulary: 16)` has 799,488.
///
/// ```swift
/// let config = GPTConfig(layers: 2, width: 64, heads: 4, context: 16, vocabulary: tok.vocabularySize)
/// try config.validate()
/// ```
public struct GPTConfig: Codable, Equatable, Sendable {
    /// Transformer blocks `L`.
    public var layers: Int
    /// Embedding width `C` (`n_embd`).
    public var width: Int
    /// Attention heads `H`; `C` must be divisible by `H`.
    public var heads: Int
    /// Maximum sequence length `T` (`block_size`), BOS included; at most
    /// `ModelBounds.maximumContext`.
    public var context: Int
    /// Token ids `V` (`vocab_size`), special tokens included.
    public var vocabulary: Int
    /// Classes of the optional classification head (`score.weight: [classes, C]`); 0 = none; at
    /// most `ModelBounds.maximumClasses`.
    public var classes: Int

    public init(layers: Int, width: Int, heads: Int, context: Int, vocabulary: Int, classes: Int = 0) {
        self.layers = layers
        self.width = width
        self.heads = heads
        self.context = context
        self.vocabulary = vocabulary
        self.classes = classes
    }

    /// Throws `invalidConfig` for non-positive sizes, a width not divisible by the heads, or a
    /// context or class count past `ModelBounds`.
    public func validate() throws {
        for (name, v) in [("layers", layers), ("width", width), ("heads", heads), ("context", context), ("vocabulary", vocabulary)] where v <= 0 {
            throw ModelsError.invalidConfig(detail: "\(name) must be positive, got \(v)")
        }
        guard context <= ModelBounds.maximumContext else {
            throw ModelsError.invalidConfig(detail: "context \(context) is over the maximum of \(ModelBounds.maximumContext) positions")
        }
        guard classes >= 0 else { throw ModelsError.invalidConfig(detail: "classes must be ≥ 0, got \(classes)") }
        guard classes <= ModelBounds.maximumClasses else {
            throw ModelsError.invalidConfig(detail: "\(classes) classes are over the maximum of \(ModelBounds.maximumClasses)")
        }
        guard width % heads == 0 else {
            throw ModelsError.invalidConfig(detail: "width \(width) is not divisible by heads \(heads)")
        }
    }

    /// The config as compact JSON with a fixed key order (stored in checkpoint metadata).
    public var json: String {
        JSONText.object([("layers", "\(layers)"), ("width", "\(width)"), ("heads", "\(heads)"),
                         ("context", "\(context)"), ("vocabulary", "\(vocabulary)"), ("classes", "\(classes)")])
    }

    /// Parses `json`; `classes` defaults to 0 when absent.
    public init(json: String) throws {
        guard let obj = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else {
            throw ModelsError.invalidConfig(detail: "GPT config is not a JSON object: \(json.prefix(120))")
        }
        func int(_ k: String, default d: Int? = nil) throws -> Int {
            if let n = obj[k] as? NSNumber, Double(n.int64Value) == n.doubleValue { return Int(n.int64Value) }
            if obj[k] == nil, let d { return d }
            throw ModelsError.invalidConfig(detail: "GPT config field \"\(k)\" is missing or not an integer")
        }
        self.init(layers: try int("layers"), width: try int("width"), heads: try int("heads"),
                  context: try int("context"), vocabulary: try int("vocabulary"), classes: try int("classes", default: 0))
        try validate()
    }
}

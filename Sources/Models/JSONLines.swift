import Foundation

/// One supervised fine-tuning example in TRL's prompt/completion convention: the model learns
/// to produce `completion` (then EOS) after `prompt`; the prompt tokens are not trained on.
public struct PromptCompletion: Equatable, Hashable, Sendable {
    public var prompt: String
    public var completion: String
    public init(prompt: String, completion: String) {
        self.prompt = prompt
        self.completion = completion
    }
}

/// A feature vector with a class label (`{"features":[…],"label":k}`), for MLP classifiers.
public struct LabeledFeatures: Equatable, Sendable {
    public var features: [Float]
    public var label: Int
    public init(features: [Float], label: Int) {
        self.features = features
        self.label = label
    }
}

/// A text with a class label (`{"text":"…","label":k}`, the Hugging Face datasets convention),
/// for GPT classification heads.
public struct LabeledText: Equatable, Sendable {
    public var text: String
    public var label: Int
    public init(text: String, label: Int) {
        self.text = text
        self.label = label
    }
}

/// JSON Lines loading: one JSON object per line, blank lines skipped, and every bad record
/// reported with its 1-based line number.
///
/// ```swift
/// // data.jsonl:  {"prompt": "12+34=", "completion": "46"}
/// let pairs = try JSONLines.promptCompletions(from: url)
/// // a bad line throws e.g. "data.jsonl:3: field \"completion\" is missing"
/// ```
public enum JSONLines {
    /// Prompt/completion pairs. Also accepts TRL's language-modelling form `{"text": …}` as an
    /// empty prompt with the text as completion. Extra fields are ignored.
    /// With `limits`, a line the model cannot read (a character outside its vocabulary, or
    /// longer than its context) is an error naming the line and the field.
    public static func promptCompletions(from url: URL, limits: ModelLimits? = nil) throws -> [PromptCompletion] {
        try promptCompletions(parsing: read(url), source: url.path, limits: limits)
    }

    /// Prompt/completion pairs from JSONL text; `source` names it in errors.
    public static func promptCompletions(parsing text: String, source: String = "<input>",
                                         limits: ModelLimits? = nil) throws -> [PromptCompletion] {
        try objects(text, source: source).map { line, obj in
            func fail(_ d: String) -> ModelsError { .data(path: source, line: line, detail: d) }
            let pair = try promptCompletion(obj, fail)
            // BOS + prompt + completion + EOS.
            try limits?.check([("prompt", pair.prompt), ("completion", pair.completion)], extraTokens: 2, fail)
            return pair
        }
    }

    /// The `"prompt"` field of every line (other fields, such as a completion, are ignored).
    public static func prompts(from url: URL) throws -> [String] {
        try prompts(parsing: read(url), source: url.path)
    }

    public static func prompts(parsing text: String, source: String = "<input>") throws -> [String] {
        try objects(text, source: source).map { line, obj in
            try string(obj, "prompt") { .data(path: source, line: line, detail: $0) }
        }
    }

    /// `{"features":[numbers],"label":int}` records; every row must have the same width. With
    /// `limits`, a label that is not a class of the model is an error naming the line (its
    /// tokenizer and context are not used).
    public static func labeledFeatures(from url: URL, limits: ModelLimits? = nil) throws -> [LabeledFeatures] {
        try labeledFeatures(parsing: read(url), source: url.path, limits: limits)
    }

    public static func labeledFeatures(parsing text: String, source: String = "<input>",
                                       limits: ModelLimits? = nil) throws -> [LabeledFeatures] {
        var width: Int?
        return try objects(text, source: source).map { line, obj in
            func fail(_ d: String) -> ModelsError { .data(path: source, line: line, detail: d) }
            guard let raw = obj["features"] else { throw fail("field \"features\" is missing") }
            guard let list = raw as? [Any] else { throw fail("field \"features\" is not a list of numbers") }
            var features: [Float] = []
            for v in list {
                guard let n = v as? NSNumber, !(v is String) else { throw fail("field \"features\" is not a list of numbers") }
                features.append(n.floatValue)
            }
            if let w = width, w != features.count {
                throw fail("\(features.count) features, earlier lines have \(w)")
            }
            width = features.count
            let example = LabeledFeatures(features: features, label: try label(obj, fail))
            try limits?.check(label: example.label, fail)
            return example
        }
    }

    /// `{"text":"…","label":int}` records. With `limits`, a text the model cannot read is an
    /// error naming the line.
    public static func labeledTexts(from url: URL, limits: ModelLimits? = nil) throws -> [LabeledText] {
        try labeledTexts(parsing: read(url), source: url.path, limits: limits)
    }

    public static func labeledTexts(parsing text: String, source: String = "<input>",
                                    limits: ModelLimits? = nil) throws -> [LabeledText] {
        try objects(text, source: source).map { line, obj in
            func fail(_ d: String) -> ModelsError { .data(path: source, line: line, detail: d) }
            let example = try labeledText(obj, fail)
            try limits?.check([("text", example.text)], extraTokens: 1, fail)  // BOS + text
            try limits?.check(label: example.label, fail)
            return example
        }
    }

    /// What a GPT data file holds: prompt/completion pairs (SFT) or labelled texts
    /// (classification).
    public enum GPTExamples: Equatable, Sendable {
        case completions([PromptCompletion])
        case classification([LabeledText])

        /// Number of examples, whichever kind.
        public var count: Int {
            switch self {
            case .completions(let pairs): return pairs.count
            case .classification(let texts): return texts.count
            }
        }
    }

    /// GPT training or evaluation data, its kind decided by the first record: one with a
    /// `"label"` field makes the file classification data (`{"text":…,"label":k}` on every
    /// line), otherwise it is prompt/completion data. A line of the other kind is then an
    /// error naming its line and the missing field.
    public static func gptExamples(from url: URL, limits: ModelLimits? = nil) throws -> GPTExamples {
        try gptExamples(parsing: read(url), source: url.path, limits: limits)
    }

    public static func gptExamples(parsing text: String, source: String = "<input>",
                                   limits: ModelLimits? = nil) throws -> GPTExamples {
        let records = try objects(text, source: source)
        let isClassification = records.first?.1["label"] != nil
        if isClassification {
            return .classification(try records.map { line, obj in
                func fail(_ d: String) -> ModelsError { .data(path: source, line: line, detail: d) }
                if obj["label"] == nil {
                    throw fail("field \"label\" is missing (the first record has one: a file is either text/label or prompt/completion data)")
                }
                let example = try labeledText(obj, fail)
                try limits?.check([("text", example.text)], extraTokens: 1, fail)  // BOS + text
                try limits?.check(label: example.label, fail)
                return example
            })
        }
        return .completions(try records.map { line, obj in
            func fail(_ d: String) -> ModelsError { .data(path: source, line: line, detail: d) }
            if obj["label"] != nil {
                throw fail("has a \"label\" but the first record has none: a file is either prompt/completion or text/label data")
            }
            let pair = try promptCompletion(obj, fail)
            try limits?.check([("prompt", pair.prompt), ("completion", pair.completion)], extraTokens: 2, fail)
            return pair
        })
    }

    /// What a model that will read the data can take: its vocabulary, context length and (for a
    /// classifier) class count. For a model that does not exist yet (its sizes will be derived from
    /// the data), the vocabulary is not checked and the bounds are the declared sizes or
    /// `ModelBounds`, so that a line too long or a label too large is an error naming the file,
    /// the line and the value before anything is allocated for it.
    ///
    /// ```swift
    /// // A new classifier, context and classes derived from the data but bounded:
    /// let limits = JSONLines.ModelLimits.newModel()
    /// // "data.jsonl:7: needs 200002 positions with the special tokens, more than the maximum context (1024)"
    /// ```
    public struct ModelLimits: Sendable {
        /// The model's vocabulary; nil: any character (a new model's vocabulary is built from the data).
        public var tokenizer: CharTokenizer?
        /// Positions the model reads, BOS and EOS included.
        public var context: Int
        /// Classes of the classification head: labels must be below it (nil: not checked).
        public var classes: Int?
        /// Completes "needs N positions with the special tokens, …" when a line is too long.
        public var contextNote: String
        /// Completes "label L is …" when a label is not below `classes`.
        public var classesNote: String

        /// The limits of an existing model (a checkpoint).
        public init(tokenizer: CharTokenizer?, context: Int, classes: Int? = nil) {
            self.init(tokenizer: tokenizer, context: context, classes: classes,
                      contextNote: "the model's context is \(context)",
                      classesNote: classes.map { "not a class of the model (it has \($0): 0…\($0 - 1))" } ?? "")
        }

        public init(tokenizer: CharTokenizer?, context: Int, classes: Int?, contextNote: String, classesNote: String) {
            self.tokenizer = tokenizer
            self.context = context
            self.classes = classes
            self.contextNote = contextNote
            self.classesNote = classesNote
        }

        /// The limits of a model to be built from the data: `context` and `classes` when they are
        /// declared (`option` names the setting in messages, e.g. "--context"), else
        /// `ModelBounds`. Any character is allowed.
        public static func newModel(context: Int? = nil, contextOption: String = "--context",
                                    classes: Int? = nil, classesOption: String = "--classes") -> ModelLimits {
            let maxContext = ModelBounds.maximumContext, maxClasses = ModelBounds.maximumClasses
            return ModelLimits(
                tokenizer: nil, context: context ?? maxContext, classes: classes ?? maxClasses,
                contextNote: context.map { "more than \(contextOption) \($0)" }
                    ?? "more than the maximum context (\(maxContext)); shorten or split the line",
                classesNote: classes.map { "outside the declared classes (\(classesOption) \($0): 0…\($0 - 1))" }
                    ?? "over the largest class id a classifier may have (\(maxClasses - 1)); labels are 0…\(maxClasses - 1)")
        }

        /// Throws through `fail` when `label` is not a class of the model.
        func check(label: Int, _ fail: (String) -> ModelsError) throws {
            if let classes, label >= classes {
                throw fail("label \(label) is \(classesNote)")
            }
        }

        /// Throws through `fail` when a field has a character outside the vocabulary or the
        /// fields with `extraTokens` special tokens do not fit the context.
        func check(_ fields: [(name: String, text: String)], extraTokens: Int,
                   _ fail: (String) -> ModelsError) throws {
            var tokens = extraTokens
            for field in fields {
                if let tokenizer {
                    for scalar in field.text.unicodeScalars {
                        guard tokenizer.id(of: scalar) != nil else {
                            throw fail("field \"\(field.name)\" has the character \(CharTokenizer.describe(scalar)), which is not in the model's vocabulary")
                        }
                    }
                }
                tokens += field.text.unicodeScalars.count
            }
            guard tokens <= context else {
                throw fail("needs \(tokens) positions with the special tokens, \(contextNote)")
            }
        }
    }

    // MARK: - Shared parsing

    static func read(_ url: URL) throws -> String {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ModelsError.data(path: url.path, line: 0, detail: "cannot read the file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ModelsError.data(path: url.path, line: 0, detail: "the file is not UTF-8 text")
        }
        return text
    }

    /// Each non-blank line parsed as a JSON object, with its 1-based line number.
    static func objects(_ text: String, source: String) throws -> [(Int, [String: Any])] {
        var out: [(Int, [String: Any])] = []
        var lineNumber = 0
        // Split on the byte "\n" (JSONL's separator); splitting Characters would keep "\r\n",
        // one grapheme, unsplit.
        for raw in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            // CRLF files: drop the "\r" (Foundation's JSON parser on Linux rejects it).
            let bytes = raw.last == UInt8(ascii: "\r") ? raw.dropLast() : raw
            if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            let line = String(decoding: bytes, as: UTF8.self)
            let parsed: Any
            do {
                parsed = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
            } catch {
                throw ModelsError.data(path: source, line: lineNumber, detail: "not valid JSON: \(String(line.prefix(80)))")
            }
            guard let obj = parsed as? [String: Any] else {
                throw ModelsError.data(path: source, line: lineNumber, detail: "expected a JSON object, got \(String(line.prefix(80)))")
            }
            out.append((lineNumber, obj))
        }
        return out
    }

    /// A `{"prompt","completion"}` record, or TRL's language-modelling `{"text"}` as an empty
    /// prompt with the text as completion.
    private static func promptCompletion(_ obj: [String: Any], _ fail: (String) -> ModelsError) throws -> PromptCompletion {
        if obj["prompt"] == nil, obj["completion"] == nil, obj["text"] != nil {
            return PromptCompletion(prompt: "", completion: try string(obj, "text", fail))
        }
        return PromptCompletion(prompt: try string(obj, "prompt", fail), completion: try string(obj, "completion", fail))
    }

    private static func labeledText(_ obj: [String: Any], _ fail: (String) -> ModelsError) throws -> LabeledText {
        LabeledText(text: try string(obj, "text", fail), label: try label(obj, fail))
    }

    private static func string(_ obj: [String: Any], _ key: String, _ fail: (String) -> ModelsError) throws -> String {
        guard let v = obj[key] else { throw fail("field \"\(key)\" is missing") }
        if v is [Any] {
            throw fail("field \"\(key)\" is a list (TRL's conversational format); only plain strings are supported")
        }
        guard let s = v as? String else { throw fail("field \"\(key)\" is not a string") }
        return s
    }

    private static func label(_ obj: [String: Any], _ fail: (String) -> ModelsError) throws -> Int {
        guard let v = obj["label"] else { throw fail("field \"label\" is missing") }
        guard let n = v as? NSNumber, !(v is String), Double(n.int64Value) == n.doubleValue, n.int64Value >= 0 else {
            throw fail("field \"label\" is not a non-negative integer")
        }
        return Int(n.int64Value)
    }
}

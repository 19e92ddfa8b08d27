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
    public static func promptCompletions(from url: URL) throws -> [PromptCompletion] {
        try promptCompletions(parsing: read(url), source: url.path)
    }

    /// Prompt/completion pairs from JSONL text; `source` names it in errors.
    public static func promptCompletions(parsing text: String, source: String = "<input>") throws -> [PromptCompletion] {
        try objects(text, source: source).map { line, obj in
            func fail(_ d: String) -> ModelsError { .data(path: source, line: line, detail: d) }
            if obj["prompt"] == nil, obj["completion"] == nil, obj["text"] != nil {
                return PromptCompletion(prompt: "", completion: try string(obj, "text", fail))
            }
            return PromptCompletion(prompt: try string(obj, "prompt", fail),
                                    completion: try string(obj, "completion", fail))
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

    /// `{"features":[numbers],"label":int}` records; every row must have the same width.
    public static func labeledFeatures(from url: URL) throws -> [LabeledFeatures] {
        try labeledFeatures(parsing: read(url), source: url.path)
    }

    public static func labeledFeatures(parsing text: String, source: String = "<input>") throws -> [LabeledFeatures] {
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
            return LabeledFeatures(features: features, label: try label(obj, fail))
        }
    }

    /// `{"text":"…","label":int}` records.
    public static func labeledTexts(from url: URL) throws -> [LabeledText] {
        try labeledTexts(parsing: read(url), source: url.path)
    }

    public static func labeledTexts(parsing text: String, source: String = "<input>") throws -> [LabeledText] {
        try objects(text, source: source).map { line, obj in
            func fail(_ d: String) -> ModelsError { .data(path: source, line: line, detail: d) }
            return LabeledText(text: try string(obj, "text", fail), label: try label(obj, fail))
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

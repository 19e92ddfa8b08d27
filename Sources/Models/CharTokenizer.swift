import Foundation

/// A character-level tokenizer: one token per Unicode scalar (what Python's `str` iterates, so
/// ids agree with a nanoGPT-style `sorted(set(text))` vocabulary), plus three special tokens.
///
/// Ids: `0 = <pad>`, `1 = <bos>`, `2 = <eos>`, then the characters in ascending scalar order.
/// `vocabularySize = 3 + characters.count`.
///
/// ```swift
/// let tok = CharTokenizer(corpus: ["12+34=", "46"])   // characters "+0123456=" … sorted
/// let ids = try tok.encode("12+3", bos: true)          // [1, 5, 6, 3, 7]
/// tok.decode(ids)                                     // "12+3" (special tokens dropped)
/// let restored = try CharTokenizer(serialized: tok.serialized)   // == tok
/// ```
public struct CharTokenizer: Equatable, Sendable {
    public static let pad: Int32 = 0
    public static let bos: Int32 = 1
    public static let eos: Int32 = 2
    /// Names of the special tokens in id order (as stored in checkpoints).
    public static let specialTokens = ["<pad>", "<bos>", "<eos>"]

    /// The ordinary characters, ascending by scalar value; character `i` has id `3 + i`.
    public let characters: [Unicode.Scalar]
    private let idOf: [Unicode.Scalar: Int32]

    /// Number of token ids (special tokens included): the GPT's `vocab`.
    public var vocabularySize: Int { Self.specialTokens.count + characters.count }

    /// A tokenizer over exactly the scalars in `characters` (duplicates ignored, order sorted).
    public init<S: Sequence>(characters: S) where S.Element == Unicode.Scalar {
        let sorted = Array(Set(characters)).sorted { $0.value < $1.value }
        self.characters = sorted
        var map: [Unicode.Scalar: Int32] = [:]
        for (i, c) in sorted.enumerated() { map[c] = Int32(i + Self.specialTokens.count) }
        self.idOf = map
    }

    /// A tokenizer whose vocabulary is every scalar that occurs in `corpus`.
    public init(corpus: [String]) {
        self.init(characters: corpus.lazy.flatMap { $0.unicodeScalars })
    }

    public static func == (a: CharTokenizer, b: CharTokenizer) -> Bool { a.characters == b.characters }

    /// The id of one character, or nil when it is outside the vocabulary.
    public func id(of scalar: Unicode.Scalar) -> Int32? { idOf[scalar] }

    /// Token ids of `text`, optionally framed by `<bos>` / `<eos>`. Throws naming the first
    /// character that is not in the vocabulary and its offset.
    public func encode(_ text: String, bos: Bool = false, eos: Bool = false) throws -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(text.unicodeScalars.count + 2)
        if bos { out.append(Self.bos) }
        for (offset, s) in text.unicodeScalars.enumerated() {
            guard let id = idOf[s] else {
                throw ModelsError.tokenizer(detail: "character \(Self.describe(s)) at offset \(offset) of \(Self.quote(text)) is not in the vocabulary")
            }
            out.append(id)
        }
        if eos { out.append(Self.eos) }
        return out
    }

    /// The text of `ids`: ordinary characters concatenated, special tokens dropped. Ids outside
    /// the vocabulary are dropped too (a decoder must not fail on a model's output).
    public func decode<C: Collection>(_ ids: C) -> String where C.Element == Int32 {
        var s = String.UnicodeScalarView()
        let first = Int32(Self.specialTokens.count)
        for id in ids where id >= first && Int(id - first) < characters.count {
            s.append(characters[Int(id - first)])
        }
        return String(s)
    }

    /// A readable name of a token id (`<eos>`, `'a'`, `<unk:99>`), for logs and reports.
    public func tokenName(_ id: Int32) -> String {
        if id >= 0 && Int(id) < Self.specialTokens.count { return Self.specialTokens[Int(id)] }
        let i = Int(id) - Self.specialTokens.count
        if i >= 0 && i < characters.count { return Self.quote(String(characters[i])) }
        return "<unk:\(id)>"
    }

    /// A JSON document `{"special":["<pad>","<bos>","<eos>"],"characters":["+","0",…]}`: the
    /// form stored in checkpoint metadata. Characters are listed one per string so that control
    /// characters and combining marks survive any JSON reader.
    public var serialized: String {
        let chars = characters.map { JSONText.quote(String($0)) }.joined(separator: ",")
        let special = Self.specialTokens.map { JSONText.quote($0) }.joined(separator: ",")
        return "{\"special\":[\(special)],\"characters\":[\(chars)]}"
    }

    /// Restores a tokenizer from `serialized`. Throws when the JSON is malformed, the special
    /// tokens differ from ours, or an entry is not exactly one scalar.
    public init(serialized: String) throws {
        guard let object = try? JSONSerialization.jsonObject(with: Data(serialized.utf8)) as? [String: Any] else {
            throw ModelsError.tokenizer(detail: "vocabulary is not a JSON object")
        }
        guard let special = object["special"] as? [String], special == Self.specialTokens else {
            throw ModelsError.tokenizer(detail: "vocabulary special tokens must be \(Self.specialTokens)")
        }
        guard let chars = object["characters"] as? [String] else {
            throw ModelsError.tokenizer(detail: "vocabulary has no \"characters\" list of strings")
        }
        var scalars: [Unicode.Scalar] = []
        for c in chars {
            let u = Array(c.unicodeScalars)
            guard u.count == 1 else {
                throw ModelsError.tokenizer(detail: "vocabulary entry \(Self.quote(c)) is not a single character")
            }
            scalars.append(u[0])
        }
        guard Set(scalars).count == scalars.count else {
            throw ModelsError.tokenizer(detail: "vocabulary lists a character twice")
        }
        self.init(characters: scalars)
    }

    static func describe(_ s: Unicode.Scalar) -> String {
        "\(quote(String(s))) (U+\(String(s.value, radix: 16, uppercase: true)))"
    }

    static func quote(_ s: String) -> String { JSONText.quote(s) }
}

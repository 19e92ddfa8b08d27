/// JSON for plugin values: deterministic output (object keys sorted, integers exact) and a
/// parser that keeps integers apart from floats.
///
/// A table with only a sequence part becomes an array, anything else an object whose keys are
/// the Lua keys as text; the empty table is `[]`. NaN and infinities have no JSON form and are
/// an error, as are non-UTF-8 strings.
///
/// ```swift
/// let v = try LuaValue(json: #"{"a": [1, 2.5, "x"]}"#)
/// try v.jsonText()   // {"a":[1,2.5,"x"]}
/// ```
public struct JSONError: Error, Equatable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

extension LuaValue {
    public init(json text: String) throws {
        var parser = JSONParser(bytes: Array(text.utf8))
        parser.skipSpace()
        self = try parser.value(depth: 0)
        parser.skipSpace()
        if parser.i != parser.bytes.count { throw parser.error("unexpected text after the JSON value") }
    }

    /// Compact JSON text.
    public func jsonText() throws -> String {
        var out: [UInt8] = []
        try writeJSON(to: &out, path: "$")
        return String(decoding: out, as: UTF8.self)
    }

    private func writeJSON(to out: inout [UInt8], path: String) throws {
        switch self {
        case .nil: out += Array("null".utf8)
        case .boolean(let b): out += Array((b ? "true" : "false").utf8)
        case .integer(let i): out += Array(String(i).utf8)
        case .number(let d):
            guard d.isFinite else { throw JSONError(message: "\(path): \(d) has no JSON representation") }
            out += Array("\(d)".utf8)
        case .string(let bytes):
            guard String(validatingUTF8Bytes: bytes) != nil else {
                throw JSONError(message: "\(path): string is not valid UTF-8")
            }
            Self.writeString(bytes, to: &out)
        case .table(let t):
            if t.hash.isEmpty {
                out.append(UInt8(ascii: "["))
                for (i, v) in t.array.enumerated() {
                    if i > 0 { out.append(UInt8(ascii: ",")) }
                    try v.writeJSON(to: &out, path: "\(path)[\(i + 1)]")
                }
                out.append(UInt8(ascii: "]"))
                return
            }
            var entries: [(String, LuaValue)] = t.array.enumerated().map { (String($0.offset + 1), $0.element) }
            for e in t.hash {
                let key: String
                switch e.key {
                case .string(let b): key = String(decoding: b, as: UTF8.self)
                case .integer(let i): key = String(i)
                case .number(let d): key = "\(d)"
                case .boolean(let b): key = String(b)
                default: continue
                }
                entries.append((key, e.value))
            }
            entries.sort { Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) }
            out.append(UInt8(ascii: "{"))
            for (i, (k, v)) in entries.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                Self.writeString(Array(k.utf8), to: &out)
                out.append(UInt8(ascii: ":"))
                try v.writeJSON(to: &out, path: "\(path).\(k)")
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    static func writeString(_ bytes: [UInt8], to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        let hex = Array("0123456789abcdef".utf8)
        for b in bytes {
            switch b {
            case UInt8(ascii: "\""): out += [92, 34]
            case UInt8(ascii: "\\"): out += [92, 92]
            case 0x0A: out += [92, UInt8(ascii: "n")]
            case 0x0D: out += [92, UInt8(ascii: "r")]
            case 0x09: out += [92, UInt8(ascii: "t")]
            case 0..<0x20, 0x7F:
                out += Array("\\u00".utf8) + [hex[Int(b >> 4)], hex[Int(b & 15)]]
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

extension String {
    /// Decodes UTF-8, or nil when the bytes are not valid UTF-8.
    init?(validatingUTF8Bytes bytes: [UInt8]) {
        var it = bytes.makeIterator()
        var decoder = UTF8()
        var scalars = String.UnicodeScalarView()
        loop: while true {
            switch decoder.decode(&it) {
            case .scalarValue(let s): scalars.append(s)
            case .emptyInput: break loop
            case .error: return nil
            }
        }
        self = String(scalars)
    }
}

private struct JSONParser {
    let bytes: [UInt8]
    var i = 0
    static let maxDepth = 128

    init(bytes: [UInt8]) { self.bytes = bytes }

    func error(_ message: String) -> JSONError {
        var line = 1, column = 1
        for b in bytes[..<min(i, bytes.count)] { if b == 10 { line += 1; column = 1 } else { column += 1 } }
        return JSONError(message: "JSON line \(line), column \(column): \(message)")
    }

    mutating func skipSpace() {
        while i < bytes.count, [32, 9, 10, 13].contains(bytes[i]) { i += 1 }
    }

    mutating func value(depth: Int) throws -> LuaValue {
        guard depth < Self.maxDepth else { throw error("nesting deeper than \(Self.maxDepth)") }
        guard i < bytes.count else { throw error("unexpected end of input") }
        switch bytes[i] {
        case UInt8(ascii: "{"):
            i += 1
            var hash: [LuaTable.Entry] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .table(LuaTable()) }
            while true {
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw error("expected a string key") }
                let key = try string()
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw error("expected ':'") }
                i += 1
                skipSpace()
                let v = try value(depth: depth + 1)
                hash.removeAll { $0.key == .string(key) }
                if !v.isNil { hash.append(LuaTable.Entry(key: .string(key), value: v)) }
                skipSpace()
                guard i < bytes.count else { throw error("unterminated object") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "}") { i += 1; break }
                throw error("expected ',' or '}'")
            }
            return .table(LuaTable(hash: hash))
        case UInt8(ascii: "["):
            i += 1
            var array: [LuaValue] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .table(LuaTable()) }
            while true {
                skipSpace()
                let v = try value(depth: depth + 1)
                if v.isNil { throw error("null inside an array cannot be represented in a Lua sequence") }
                array.append(v)
                skipSpace()
                guard i < bytes.count else { throw error("unterminated array") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "]") { i += 1; break }
                throw error("expected ',' or ']'")
            }
            return .table(LuaTable(array: array))
        case UInt8(ascii: "\""):
            return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .boolean(true)
        case UInt8(ascii: "f"): try literal("false"); return .boolean(false)
        case UInt8(ascii: "n"): try literal("null"); return .nil
        default:
            return try number()
        }
    }

    mutating func literal(_ word: String) throws {
        let w = Array(word.utf8)
        guard i + w.count <= bytes.count, Array(bytes[i..<i + w.count]) == w else { throw error("invalid literal") }
        i += w.count
    }

    mutating func number() throws -> LuaValue {
        let start = i
        var isFloat = false
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
        while i < bytes.count {
            let c = bytes[i]
            if c >= 48 && c <= 57 { i += 1 }
            else if c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E")
                || c == UInt8(ascii: "+") || (c == UInt8(ascii: "-") && i > start) { isFloat = true; i += 1 }
            else { break }
        }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        if text.isEmpty || text == "-" { throw error("unexpected character") }
        if !isFloat, let v = Int64(text) { return .integer(v) }
        guard let d = Double(text), d.isFinite else { throw error("invalid number '\(text)'") }
        return .number(d)
    }

    mutating func string() throws -> [UInt8] {
        i += 1
        var out: [UInt8] = []
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") { i += 1; return out }
            if c < 0x20 { throw error("control character in string") }
            if c == UInt8(ascii: "\\") {
                i += 1
                guard i < bytes.count else { break }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "n"): out.append(10)
                case UInt8(ascii: "t"): out.append(9)
                case UInt8(ascii: "r"): out.append(13)
                case UInt8(ascii: "b"): out.append(8)
                case UInt8(ascii: "f"): out.append(12)
                case UInt8(ascii: "/"), UInt8(ascii: "\\"), UInt8(ascii: "\""): out.append(e)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                            throw error("unpaired surrogate")
                        }
                        i += 2
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw error("invalid surrogate pair") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let u = Unicode.Scalar(scalar) else { throw error("invalid \\u escape") }
                    out += Array(String(Character(u)).utf8)
                default: throw error("invalid escape")
                }
            } else {
                out.append(c)
                i += 1
            }
        }
        throw error("unterminated string")
    }

    mutating func hex4() throws -> UInt32 {
        guard i + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[i..<i + 4], as: UTF8.self), radix: 16) else {
            throw error("invalid \\u escape")
        }
        i += 4
        return v
    }
}

/// `LuaValue` is the one JSON value model of the domain: Codable through the same mapping as
/// `jsonText()` / `init(json:)` (null, booleans, integers kept apart from floats, strings,
/// arrays, objects), so a config record can hold plugin values as they are.
extension LuaValue: Codable {
    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .nil }
        else if let b = try? c.decode(Bool.self) { self = .boolean(b) }
        else if let i = try? c.decode(Int64.self) { self = .integer(i) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .text(s) }
        else if let a = try? c.decode([LuaValue].self) { self = .table(LuaTable(array: a)) }
        else { self = .table(LuaTable(fields: try c.decode([String: LuaValue].self))) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .nil: try c.encodeNil()
        case .boolean(let b): try c.encode(b)
        case .integer(let i): try c.encode(i)
        case .number(let d):
            guard d.isFinite else {
                throw EncodingError.invalidValue(d, .init(codingPath: encoder.codingPath, debugDescription: "\(d) has no JSON form"))
            }
            try c.encode(d)
        case .string: try c.encode(text ?? "")
        case .table(let t):
            if t.hash.isEmpty { try c.encode(t.array) } else { try c.encode(t.fields) }
        }
    }
}

/// Minimal JSON text writing with a stable byte layout (key order as given, no whitespace),
/// used where files must be byte-identical for identical inputs (checkpoint headers, metadata).
/// Foundation's `JSONSerialization` does not promise key order or number formatting.
public enum JSONText {
    /// `s` as a JSON string literal (RFC 8259 escaping; non-ASCII kept as UTF-8).
    public static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20:
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    /// A JSON object from ordered key/value pairs whose values are already JSON text.
    public static func object(_ pairs: [(String, String)]) -> String {
        "{" + pairs.map { quote($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }

    /// A JSON array of integers.
    public static func ints(_ values: [Int]) -> String {
        "[" + values.map(String.init).joined(separator: ",") + "]"
    }
}

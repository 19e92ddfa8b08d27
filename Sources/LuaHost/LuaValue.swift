/// A Lua value that has crossed the plugin boundary: plain data only.
///
/// Tables are read raw (no metamethod runs) into an array part (keys `1...n`, no holes) and a
/// hash part sorted by key, so the same Lua table always gives the same `LuaValue`. Strings are
/// bytes, kept exactly (embedded zeros and invalid UTF-8 included); `text` decodes them.
///
/// ```swift
/// let v: LuaValue = .table(LuaTable(array: [.integer(1), .text("two")]))
/// v.table?.array.count   // 2
/// ```
public enum LuaValue: Equatable, Hashable, Sendable {
    case `nil`
    case boolean(Bool)
    case integer(Int64)
    case number(Double)
    case string([UInt8])
    case table(LuaTable)

    /// A string value from Swift text (stored as its UTF-8 bytes).
    public static func text(_ s: String) -> LuaValue { .string(Array(s.utf8)) }

    /// Lua's name for the value's type.
    public var typeName: String {
        switch self {
        case .nil: return "nil"
        case .boolean: return "boolean"
        case .integer, .number: return "number"
        case .string: return "string"
        case .table: return "table"
        }
    }

    public var isNil: Bool { if case .nil = self { return true } else { return false } }

    /// The string's bytes decoded as UTF-8 (invalid sequences replaced), or nil if not a string.
    public var text: String? {
        if case .string(let b) = self { return String(decoding: b, as: UTF8.self) }
        return nil
    }

    public var bool: Bool? { if case .boolean(let b) = self { return b } else { return nil } }
    public var table: LuaTable? { if case .table(let t) = self { return t } else { return nil } }

    /// The value as a Double when it is a number (integer or float), else nil.
    public var double: Double? {
        switch self {
        case .integer(let i): return Double(i)
        case .number(let d): return d
        default: return nil
        }
    }

    /// The value as an Int when it is an integer, or a float with an exact integer value in
    /// range. Never traps: NaN, infinities and out-of-range floats give nil.
    public var int: Int? {
        switch self {
        case .integer(let i): return Int(exactly: i)
        case .number(let d):
            guard d.isFinite, d == d.rounded(), d >= -9.223_372_036_854_775_808e18, d < 9.223_372_036_854_775_808e18
            else { return nil }
            return Int(d)
        default: return nil
        }
    }

    /// Field `key` of a table value (string keys), or `.nil`.
    public subscript(key: String) -> LuaValue {
        table?[.text(key)] ?? .nil
    }

    /// Lua truthiness: everything but nil and false.
    public var isTruthy: Bool {
        switch self {
        case .nil: return false
        case .boolean(let b): return b
        default: return true
        }
    }
}

/// A table read from Lua: the sequence part and the rest, sorted by key.
public struct LuaTable: Equatable, Hashable, Sendable {
    /// Values at keys 1...n, where n is the first integer key whose value is nil, minus one.
    public var array: [LuaValue]
    /// Every other entry, sorted by `LuaValue.keyOrder` (booleans, numbers, then strings).
    public var hash: [Entry]

    public struct Entry: Equatable, Hashable, Sendable {
        public var key: LuaValue
        public var value: LuaValue
        public init(key: LuaValue, value: LuaValue) { self.key = key; self.value = value }
    }

    public init(array: [LuaValue] = [], hash: [Entry] = []) {
        self.array = array
        self.hash = hash.sorted { LuaValue.keyOrder($0.key, $1.key) }
    }

    /// A table with string keys (a Lua "record").
    public init(fields: [String: LuaValue]) {
        self.init(hash: fields.map { Entry(key: .text($0.key), value: $0.value) })
    }

    public var isEmpty: Bool { array.isEmpty && hash.isEmpty }

    /// Raw lookup; integer keys 1...n read the array part.
    public subscript(key: LuaValue) -> LuaValue? {
        if case .integer(let i) = key, i >= 1, i <= Int64(array.count) { return array[Int(i) - 1] }
        return hash.first(where: { $0.key == key })?.value
    }

    /// The string-keyed fields, for record-like tables.
    public var fields: [String: LuaValue] {
        var out: [String: LuaValue] = [:]
        for e in hash { if let k = e.key.text, case .string = e.key { out[k] = e.value } }
        return out
    }
}

extension LuaValue {
    /// The deterministic order of table keys: booleans (false first), then numbers by value,
    /// then strings by bytes.
    public static func keyOrder(_ a: LuaValue, _ b: LuaValue) -> Bool {
        func rank(_ v: LuaValue) -> Int {
            switch v {
            case .nil: return 0
            case .boolean: return 1
            case .integer, .number: return 2
            case .string: return 3
            case .table: return 4
            }
        }
        let ra = rank(a), rb = rank(b)
        if ra != rb { return ra < rb }
        switch (a, b) {
        case (.boolean(let x), .boolean(let y)): return !x && y
        case (.integer(let x), .integer(let y)): return x < y
        case (.string(let x), .string(let y)): return x.lexicographicallyPrecedes(y)
        default:
            if let x = a.double, let y = b.double { return x < y }
            return false
        }
    }
}

extension LuaValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByFloatLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(booleanLiteral value: Bool) { self = .boolean(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(nilLiteral: ()) { self = .nil }
}

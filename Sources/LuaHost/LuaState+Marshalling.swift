import CLua
import CLuaShim

/// Caps on a value crossing from Lua to Swift: a plugin cannot make the host build an
/// unbounded structure.
public struct LuaMarshalLimits: Sendable, Equatable {
    /// Nested tables deeper than this are refused.
    public var maxDepth: Int
    /// Table entries in one value, all levels together.
    public var maxElements: Int
    /// String bytes in one value, all strings together.
    public var maxStringBytes: Int

    public init(maxDepth: Int = 64, maxElements: Int = 1 << 20, maxStringBytes: Int = 64 << 20) {
        self.maxDepth = maxDepth
        self.maxElements = maxElements
        self.maxStringBytes = maxStringBytes
    }

    public static let `default` = LuaMarshalLimits()
}

/// A value that cannot cross the boundary, with the path to it ("result.items[3].name").
public struct MarshalError: Error, Equatable, CustomStringConvertible {
    public var path: String
    public var message: String
    public var description: String { "\(path): \(message)" }
}

extension LuaState {
    /// Reads the value at stack index `index` raw (no metamethod runs), detecting cycles and
    /// enforcing `limits`. `path` names the value in errors ("result #1").
    public func readValue(at index: Int32, path: @autoclosure () -> String) throws -> LuaValue {
        var reader = ValueReader(L: L, limits: limits)
        do {
            return try reader.read(lua_absindex(L, index), depth: 0)
        } catch let failure as ValueReader.Failure {
            throw MarshalError(path: path() + reader.renderPath(), message: failure.message)
        }
    }

    /// Reads `count` values from stack index `first` on, with one set of limits for them all (many
    /// results that each stay under the caps must not add up to an unbounded copy).
    public func readValues(from first: Int32, count: Int32, path: (Int) -> String) throws -> [LuaValue] {
        var reader = ValueReader(L: L, limits: limits)
        var values: [LuaValue] = []
        values.reserveCapacity(Int(max(count, 0)))
        for i in 0..<max(count, 0) {
            do {
                values.append(try reader.read(lua_absindex(L, first + i), depth: 0))
            } catch let failure as ValueReader.Failure {
                throw MarshalError(path: path(Int(i) + 1) + reader.renderPath(), message: failure.message)
            }
        }
        return values
    }

    /// Pushes a value onto the Lua stack.
    public func push(_ value: LuaValue) {
        switch value {
        case .nil: lua_pushnil(L)
        case .boolean(let b): lua_pushboolean(L, b ? 1 : 0)
        case .integer(let i): lua_pushinteger(L, i)
        case .number(let d): lua_pushnumber(L, d)
        case .string(let bytes):
            bytes.withUnsafeBufferPointer { buf in
                buf.withMemoryRebound(to: CChar.self) { _ = lua_pushlstring(L, $0.baseAddress, $0.count) }
            }
        case .table(let t):
            _ = lua_checkstack(L, 4)
            lua_createtable(L, Int32(clamping: t.array.count), Int32(clamping: t.hash.count))
            for (i, v) in t.array.enumerated() {
                push(v)
                lua_rawseti(L, -2, Int64(i + 1))
            }
            for e in t.hash where !e.key.isNil && !(e.key.double?.isNaN ?? false) {
                push(e.key)
                push(e.value)
                lua_rawset(L, -3)
            }
        }
    }
}

/// Reads Lua values into `LuaValue`s. The path to the value being read is kept as a stack of
/// segments and only rendered into text when something fails (reading is on the hot path of
/// every plugin call).
private struct ValueReader {
    struct Failure: Error { var message: String }
    enum Segment { case index(Int64), key(LuaValue), keyOf }

    let L: OpaquePointer
    let limits: LuaMarshalLimits
    var elements = 0
    var bytes = 0
    var onPath: [UnsafeRawPointer] = []
    var segments: [Segment] = []

    func renderPath() -> String {
        var out = ""
        for s in segments {
            switch s {
            case .index(let i): out += "[\(i)]"
            case .key(let k):
                switch k {
                case .string: out += "." + (k.text ?? "?")
                case .integer(let i): out += "[\(i)]"
                case .number(let d): out += "[\(d)]"
                case .boolean(let b): out += "[\(b)]"
                default: out += "[?]"
                }
            case .keyOf: out += "<key>"
            }
        }
        return out
    }

    mutating func read(_ idx: Int32, depth: Int) throws -> LuaValue {
        switch lua_type(L, idx) {
        case LUA_TNIL, LUA_TNONE: return .nil
        case LUA_TBOOLEAN: return .boolean(lua_toboolean(L, idx) != 0)
        case LUA_TNUMBER:
            if lua_isinteger(L, idx) != 0 { return .integer(lua_tointegerx(L, idx, nil)) }
            return .number(lua_tonumberx(L, idx, nil))
        case LUA_TSTRING:
            var len = 0
            guard let p = sa_tolstring(L, idx, &len) else { return .string([]) }
            bytes += len
            if bytes > limits.maxStringBytes {
                throw Failure(message: "strings exceed the limit of \(limits.maxStringBytes) bytes")
            }
            return .string(p.withMemoryRebound(to: UInt8.self, capacity: max(len, 1)) {
                Array(UnsafeBufferPointer(start: $0, count: len))
            })
        case LUA_TTABLE:
            return try readTable(idx, depth: depth)
        default:
            let name = String(cString: lua_typename(L, lua_type(L, idx)))
            throw Failure(message: "a \(name) value cannot cross the plugin boundary")
        }
    }

    mutating func readTable(_ idx: Int32, depth: Int) throws -> LuaValue {
        if depth >= limits.maxDepth {
            throw Failure(message: "tables nested deeper than \(limits.maxDepth) levels")
        }
        guard let id = lua_topointer(L, idx) else { return .nil }
        if onPath.contains(id) { throw Failure(message: "the table contains itself (a cycle)") }
        guard lua_checkstack(L, 4) != 0 else { throw Failure(message: "Lua stack exhausted") }
        onPath.append(id)

        var array: [LuaValue] = []
        var i: Int64 = 1
        while lua_rawgeti(L, idx, i) != LUA_TNIL {
            try count()
            segments.append(.index(i))
            array.append(try read(lua_gettop(L), depth: depth + 1))
            segments.removeLast()
            lua_settop(L, -2)
            i += 1
        }
        lua_settop(L, -2)

        var hash: [LuaTable.Entry] = []
        lua_pushnil(L)
        while lua_next(L, idx) != 0 {
            let keyIdx = lua_gettop(L) - 1
            let key: LuaValue
            switch lua_type(L, keyIdx) {
            case LUA_TNUMBER:
                if lua_isinteger(L, keyIdx) != 0 {
                    let k = lua_tointegerx(L, keyIdx, nil)
                    if k >= 1 && k <= Int64(array.count) { lua_settop(L, -2); continue }
                    key = .integer(k)
                } else {
                    key = .number(lua_tonumberx(L, keyIdx, nil))
                }
            case LUA_TSTRING, LUA_TBOOLEAN:
                segments.append(.keyOf)
                key = try read(keyIdx, depth: depth + 1)
                segments.removeLast()
            default:
                let name = String(cString: lua_typename(L, lua_type(L, keyIdx)))
                lua_settop(L, -3)
                throw Failure(message: "a \(name) key cannot cross the plugin boundary")
            }
            try count()
            segments.append(.key(key))
            let value = try read(lua_gettop(L), depth: depth + 1)
            segments.removeLast()
            hash.append(LuaTable.Entry(key: key, value: value))
            lua_settop(L, -2)
        }
        onPath.removeLast()
        return .table(LuaTable(array: array, hash: hash))
    }

    mutating func count() throws {
        elements += 1
        if elements > limits.maxElements {
            throw Failure(message: "more than \(limits.maxElements) table entries")
        }
    }
}

import CLua
import CLuaShim

/// A Swift function callable from Lua.
///
/// The body reads its arguments and pushes its results through `HostCall`, and returns the
/// number of results. Throwing is how it reports an error: the C trampoline raises it in Lua
/// after the Swift frame has returned (a Lua error never unwinds through Swift).
///
/// ```swift
/// let double = HostFunction("double") { call in
///     call.push(.integer(try call.integer(1) * 2)); return 1
/// }
/// ```
public final class HostFunction {
    public let name: String
    let body: (HostCall) throws -> Int32

    public init(_ name: String, _ body: @escaping (HostCall) throws -> Int32) {
        self.name = name
        self.body = body
    }
}

/// Errors a host function reports to Lua.
public enum HostCallError: Error, Equatable {
    /// A bad argument: Lua's "bad argument #n to 'f' (message)".
    case argument(Int32, String)
    /// Any other failure; the message is raised as is.
    case message(String)
    /// A sandbox refusal (reported with kind `forbidden`).
    case forbidden(String)
    /// The budget ran out inside the host function.
    case budgetExceeded
}

/// The view a host function has of its call: arguments in, results out.
public struct HostCall {
    public let L: OpaquePointer
    public let state: LuaState
    let function: HostFunction

    /// Number of arguments passed.
    public var argumentCount: Int32 { lua_gettop(L) }

    /// Argument `i` (1-based) as a `LuaValue`, read raw with the state's marshalling limits.
    public func value(_ i: Int32) throws -> LuaValue {
        do { return try state.readValue(at: i, path: "argument #\(i)") }
        catch let e as MarshalError { throw HostCallError.argument(i, e.message) }
    }

    /// Argument `i` as an integer (floats with an exact integer value are accepted).
    public func integer(_ i: Int32) throws -> Int64 {
        var isNum: Int32 = 0
        let v = lua_tointegerx(L, i, &isNum)
        if isNum == 0 {
            let t = lua_type(L, i)
            throw HostCallError.argument(i, t == LUA_TNUMBER ? "number has no integer representation"
                                                          : "number expected, got \(typeName(i))")
        }
        return v
    }

    /// Argument `i` as an integer, or `default` when absent or nil.
    public func integer(_ i: Int32, default value: Int64) throws -> Int64 {
        sa_isnoneornil(L, i) != 0 ? value : try integer(i)
    }

    /// Argument `i` as a number.
    public func number(_ i: Int32) throws -> Double {
        var isNum: Int32 = 0
        let v = lua_tonumberx(L, i, &isNum)
        if isNum == 0 { throw HostCallError.argument(i, "number expected, got \(typeName(i))") }
        return v
    }

    /// Argument `i` as a boolean (Lua truthiness).
    public func boolean(_ i: Int32) -> Bool { lua_toboolean(L, i) != 0 }

    public func isNil(_ i: Int32) -> Bool { sa_isnoneornil(L, i) != 0 }

    /// Runs `body` on the bytes of string argument `i` without copying. Numbers are accepted
    /// and converted, as Lua's string functions do.
    public func withBytes<R>(_ i: Int32, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) throws -> R {
        let t = lua_type(L, i)
        guard t == LUA_TSTRING || t == LUA_TNUMBER else {
            throw HostCallError.argument(i, "string expected, got \(typeName(i))")
        }
        var len = 0
        guard let p = sa_tolstring(L, i, &len) else { throw HostCallError.argument(i, "string expected") }
        return try p.withMemoryRebound(to: UInt8.self, capacity: max(len, 1)) {
            try body(UnsafeBufferPointer(start: $0, count: len))
        }
    }

    /// Argument `i` as Swift text (invalid UTF-8 replaced).
    public func string(_ i: Int32) throws -> String {
        try withBytes(i) { String(decoding: $0, as: UTF8.self) }
    }

    /// Lua's type name of argument `i`.
    public func typeName(_ i: Int32) -> String {
        let t = lua_type(L, i)
        return t == LUA_TNONE ? "no value" : String(cString: lua_typename(L, t))
    }

    /// Pushes one result.
    public func push(_ value: LuaValue) { state.push(value) }
    public func push(integer: Int64) { lua_pushinteger(L, integer) }
    public func push(number: Double) { lua_pushnumber(L, number) }
    public func push(bytes: UnsafeBufferPointer<UInt8>) {
        bytes.withMemoryRebound(to: CChar.self) { _ = lua_pushlstring(L, $0.baseAddress, $0.count) }
    }
    public func pushNil() { lua_pushnil(L) }

    /// Makes room for `n` more results; false when the Lua stack cannot grow.
    public func reserve(_ n: Int32) -> Bool { lua_checkstack(L, n) != 0 }

    /// Charges `steps` units of host work to the call's budget; throws when it has run out.
    public func charge(_ steps: Int) throws {
        if sa_charge(state.raw, Int64(steps)) != 0 { throw HostCallError.budgetExceeded }
    }

    /// The Lua source location calling this function, skipping the sandbox's own wrappers:
    /// "file:line:" or "" when unknown.
    public var callerLocation: String {
        var ar = lua_Debug()
        var level: Int32 = 1
        while lua_getstack(L, level, &ar) != 0 {
            if lua_getinfo(L, "Sl", &ar) != 0, ar.currentline > 0 {
                let src = withUnsafePointer(to: &ar.short_src) {
                    $0.withMemoryRebound(to: CChar.self, capacity: Int(LUA_IDSIZE)) { String(cString: $0) }
                }
                if src != Sandbox.chunkLabel { return "\(src):\(ar.currentline):" }
            }
            level += 1
        }
        return ""
    }
}

/// The one entry point from the C trampoline into Swift. Returns the result count, or -1 / -2
/// (error / sandbox refusal) with the error message pushed.
let luaHostDispatch: sa_dispatch_fn = { L, fn, host in
    guard let L, let fn, let host else { return -1 }
    let state = Unmanaged<LuaState>.fromOpaque(host).takeUnretainedValue()
    let function = Unmanaged<HostFunction>.fromOpaque(fn).takeUnretainedValue()
    let call = HostCall(L: L, state: state, function: function)
    do {
        return try function.body(call)
    } catch let error as HostCallError {
        let location = call.callerLocation
        switch error {
        case .argument(let i, let message):
            lua_pushstring(L, "\(location) bad argument #\(i) to '\(function.name)' (\(message))".trimmingLeadingSpace())
            return -1
        case .message(let message):
            lua_pushstring(L, "\(location) \(message)".trimmingLeadingSpace())
            return -1
        case .forbidden(let message):
            let text = "\(location) \(message)".trimmingLeadingSpace()
            state.refusal = (.forbidden, text)
            lua_pushstring(L, text)
            return -2
        case .budgetExceeded:
            lua_pushstring(L, String(cString: sa_exceeded_message(state.raw.pointee.exceeded)))
            return -1
        }
    } catch {
        lua_pushstring(L, "\(call.callerLocation) \(function.name): \(error)".trimmingLeadingSpace())
        return -1
    }
}

extension String {
    func trimmingLeadingSpace() -> String {
        first == " " ? String(dropFirst()) : self
    }
}

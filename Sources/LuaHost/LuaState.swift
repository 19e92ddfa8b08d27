import CLua
import CLuaShim

/// One sandboxed Lua 5.4 state: the unit of isolation (one per plugin instance).
///
/// The state owns its budget (instructions, time, memory) and its host functions. Every call
/// into Lua is protected; a Lua error never unwinds through a Swift frame (see `CLuaShim/shim.c`).
/// Not thread-safe: use a state from one thread at a time.
///
/// ```swift
/// let lua = try LuaState(name: "demo")
/// let out = try lua.run(source: "return 1 + 2", chunkName: "=demo")
/// out  // [.integer(3)]
/// ```
public final class LuaState {
    /// The raw `lua_State *`; valid until the state is deinitialized.
    public let L: OpaquePointer
    let raw: UnsafeMutablePointer<sa_state>
    /// Names the state in errors and logs (the plugin's name once known).
    public var name: String
    public var budget: LuaBudget {
        didSet {
            raw.pointee.mem_limit = budget.memoryBytes
            raw.pointee.host_depth_limit = Int32(clamping: budget.hostCallDepth)
            callNanoseconds = budget.callTime.saturatingNanoseconds
        }
    }
    /// `budget.callTime` in nanoseconds, kept ready for the hot path of every call.
    private(set) var callNanoseconds: UInt64
    public let logger: HostLogger
    public var limits: LuaMarshalLimits = .default
    private var functions: [HostFunction] = []
    /// The last sandbox refusal raised during the current call (kind and exact message), so the
    /// failure is classified by the error that actually reached the host, not by an earlier
    /// refusal the plugin caught with pcall.
    var refusal: (kind: PluginError.Kind, message: String)?
    private var clockBox: ClockBox?

    /// Creates a sandboxed state: the allow-listed libraries only (see `Sandbox`), `math.random`
    /// seeded with `seed`, and the budget in force for every later call.
    public init(name: String, budget: LuaBudget = .default, seed: UInt64 = 0,
                logger: HostLogger = HostLogger(), clock: LuaClock? = nil) throws {
        self.name = name
        self.budget = budget
        self.callNanoseconds = budget.callTime.saturatingNanoseconds
        self.logger = logger
        raw = .allocate(capacity: 1)
        raw.initialize(to: sa_state())
        raw.pointee.mem_limit = budget.memoryBytes
        raw.pointee.host_depth_limit = Int32(clamping: budget.hostCallDepth)
        raw.pointee.dispatch = luaHostDispatch
        if let clock {
            let box = ClockBox(clock)
            clockBox = box
            raw.pointee.clock = { ctx in Unmanaged<ClockBox>.fromOpaque(ctx!).takeUnretainedValue().clock.now() }
            raw.pointee.clock_context = Unmanaged.passUnretained(box).toOpaque()
        }
        guard let L = sa_newstate(raw) else {
            raw.deallocate()
            throw PluginError(plugin: name, phase: .load, kind: .memory, message: "cannot create a Lua state")
        }
        self.L = L
        raw.pointee.host = Unmanaged.passUnretained(self).toOpaque()
        try Sandbox.install(into: self, seed: seed)
    }

    deinit {
        // Shutdown runs under its own budget so nothing in a closing state can hang the host.
        sa_begin(L, raw, budget.instructions, budget.shutdownTime.saturatingNanoseconds)
        raw.pointee.enforcing = 0
        lua_close(L)
        raw.deallocate()
    }

    // MARK: Accounting

    /// Bytes the state holds now.
    public var memoryUsed: Int { raw.pointee.mem_used }
    /// The most bytes the state has held.
    public var memoryPeak: Int { raw.pointee.mem_peak }
    /// VM instructions (and host steps) charged to the last call, rounded to the hook interval.
    public var instructionsUsed: Int64 { raw.pointee.instr_used }

    // MARK: Host functions

    /// Pushes a Swift function as a Lua function. The function stays alive with the state.
    func push(_ function: HostFunction) {
        functions.append(function)
        sa_pushhostfunction(L, Unmanaged.passUnretained(function).toOpaque())
    }

    /// Sets global `name` to a host function.
    public func register(_ name: String, _ function: HostFunction) {
        push(function)
        lua_setglobal(L, name)
    }

    // MARK: Values

    /// Sets a global variable.
    public func setGlobal(_ name: String, _ value: LuaValue) {
        push(value)
        lua_setglobal(L, name)
    }

    /// Reads a global variable (raw, without running metamethods).
    public func global(_ name: String) throws -> LuaValue {
        sa_pushglobaltable(L)
        lua_pushstring(L, name)
        lua_rawget(L, -2)
        defer { lua_settop(L, -3) }
        return try readValue(at: -1, path: name)
    }

    // MARK: Running code

    /// Compiles and runs `source` (text only) under the load budget and returns its results.
    @discardableResult
    public func run(source: String, chunkName: String) throws -> [LuaValue] {
        try run(bytes: Array(source.utf8), chunkName: chunkName, phase: .load)
    }

    @discardableResult
    public func run(bytes: [UInt8], chunkName: String, phase: PluginError.Phase = .load) throws -> [LuaValue] {
        let base = lua_gettop(L)
        defer { lua_settop(L, base) }
        let n = try runKeepingResults(bytes: bytes, chunkName: chunkName, phase: phase)
        do { return try readValues(from: base + 1, count: n) { "result #\($0)" } }
        catch let e as MarshalError {
            throw PluginError(plugin: name, phase: phase, kind: .validation, message: e.description,
                              file: Self.fileName(chunkName))
        }
    }

    /// The file a chunk name stands for ("@path" or "=label"), or nil for a string chunk.
    static func fileName(_ chunkName: String) -> String? {
        guard let first = chunkName.first, first == "@" || first == "=" else { return nil }
        return String(chunkName.dropFirst())
    }

    /// Compiles and runs a chunk; on success its results are left on the stack (count returned).
    func runKeepingResults(bytes: [UInt8], chunkName: String, phase: PluginError.Phase) throws -> Int32 {
        let base = lua_gettop(L)
        sa_pushmsghandler(L)
        let status = bytes.withUnsafeBufferPointer { buf in
            buf.withMemoryRebound(to: CChar.self) { sa_loadbuffer(L, $0.baseAddress, $0.count, chunkName, "t") }
        }
        if status != LUA_OK {
            let message = sa_tolstring(L, -1, nil).map { String(cString: $0) } ?? "cannot load chunk"
            lua_settop(L, base)
            var (file, line, text) = Self.splitLocation(message)
            // The message names the chunk by its short form (at most LUA_IDSIZE bytes); keep the whole name.
            if file != nil { file = Self.fileName(chunkName) ?? file }
            throw PluginError(plugin: name, phase: phase, kind: status == LUA_ERRSYNTAX ? .syntax : .memory,
                              message: text, file: file, line: line)
        }
        let time = phase == .load ? budget.loadTime.saturatingNanoseconds : callNanoseconds
        return try protectedCall(base: base, nargs: 0, nanoseconds: time, phase: phase)
    }

    /// Calls the function at `base + 2` (the message handler sits at `base + 1`) with `nargs`
    /// arguments above it, under the budget. On success the results replace them, starting at
    /// `base + 1` (the handler is removed), and their count is returned; on failure the stack is
    /// reset to `base` and a `PluginError` is thrown.
    func protectedCall(base: Int32, nargs: Int32, nanoseconds: UInt64, phase: PluginError.Phase) throws -> Int32 {
        sa_begin(L, raw, budget.instructions, nanoseconds)
        refusal = nil
        let status = sa_pcall(L, nargs, LUA_MULTRET, base + 1)
        sa_end(raw)
        if status == LUA_OK && raw.pointee.exceeded == SA_EXCEEDED_NONE {
            lua_rotate(L, base + 1, -1)
            lua_settop(L, -2)
            return lua_gettop(L) - base
        }
        if status == LUA_OK {
            // The budget ran out, but the error was swallowed on its way out (a coroutine.resume
            // returned it as a value, and the caller returned before its own hook fired): the
            // call still failed.
            lua_settop(L, base)
            lua_pushstring(L, sa_exceeded_message(raw.pointee.exceeded))
        }
        let error = describeFailure(status: status == LUA_OK ? LUA_ERRRUN : status, at: -1, phase: phase)
        lua_settop(L, base)
        throw error
    }

    /// Turns the error value left by a failed protected call into a `PluginError`.
    private func describeFailure(status: Int32, at index: Int32, phase: PluginError.Phase) -> PluginError {
        var message = "unknown error", file: String?, line: Int?, traceback: String?
        let idx = lua_absindex(L, index)
        if lua_type(L, idx) == LUA_TTABLE {
            if let m = rawStringField(idx, "message") { message = m }
            file = rawStringField(idx, "source")
            if lua_getfield(L, idx, "line") == LUA_TNUMBER { line = Int(exactly: lua_tointegerx(L, -1, nil)) }
            lua_settop(L, -2)
            traceback = rawStringField(idx, "traceback").map(Self.trimTraceback)
        } else if let s = sa_tolstring(L, idx, nil), lua_type(L, idx) == LUA_TSTRING {
            message = String(cString: s)
        }
        // A refusal or a refused allocation earlier in the call decides the kind only when it is
        // the error that reached the host (the plugin may have caught it and failed otherwise).
        let bare = Self.withoutLocations(message)
        let kind: PluginError.Kind
        switch Int32(raw.pointee.exceeded) {
        case Int32(SA_EXCEEDED_INSTRUCTIONS), Int32(SA_EXCEEDED_TIME): kind = .timeout
        default:
            if status == LUA_ERRMEM { kind = .memory }
            else if let r = refusal, raw.pointee.forbidden != 0 || raw.pointee.mem_refused != 0,
                    bare == Self.withoutLocations(r.message) { kind = r.kind }
            else if raw.pointee.mem_refused != 0 && bare == "not enough memory" { kind = .memory }
            else { kind = .runtime }
        }
        if kind == .memory {
            message = "memory limit of \(budget.memoryBytes >> 20) MiB exceeded (\(bare))"
        } else if kind == .timeout {
            let why = raw.pointee.exceeded == SA_EXCEEDED_TIME
                ? "time budget of \(budget.describe(phase == .load ? budget.loadTime : budget.callTime)) exceeded"
                : "instruction budget of \(budget.instructions) exceeded"
            message = why
        }
        let (prefixFile, prefixLine, text) = Self.splitLocation(message)
        message = text
        if file == nil { (file, line) = (prefixFile, prefixLine) }
        return PluginError(plugin: name, phase: phase, kind: kind, message: message, file: file, line: line,
                           traceback: traceback)
    }

    private func rawStringField(_ idx: Int32, _ key: String) -> String? {
        lua_pushstring(L, key)
        defer { lua_settop(L, -2) }
        guard lua_rawget(L, idx) == LUA_TSTRING, let s = sa_tolstring(L, -1, nil) else { return nil }
        return String(cString: s)
    }

    /// The message without the "file:line: " prefixes Lua puts in front (one per re-raise).
    static func withoutLocations(_ message: String) -> String {
        var text = message
        while true {
            let (file, _, rest) = splitLocation(text)
            if file == nil || rest == text { return text }
            text = rest
        }
    }

    /// Keeps the first lines of a traceback, without the host's own frames.
    static func trimTraceback(_ text: String) -> String {
        let lines = text.split(separator: "\n").filter { line in
            !line.contains("[C]: in ?") && !line.contains(Sandbox.chunkLabel)
                && !Sandbox.primitiveNames.contains { line.contains("[C]: in upvalue '\($0)'") }
        }
        return lines.prefix(8).joined(separator: "\n")
    }

    /// Splits "file:line: message" as Lua formats runtime and syntax errors, so the location is
    /// kept in fields rather than twice in the text.
    static func splitLocation(_ message: String) -> (file: String?, line: Int?, message: String) {
        let parts = message.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let line = Int(parts[1]), !parts[0].isEmpty, !parts[0].contains(" ") || parts[0].hasPrefix("[string")
        else { return (nil, nil, message) }
        return (String(parts[0]), line, String(parts[2]).trimmingLeadingSpace())
    }
}

extension LuaBudget {
    func describe(_ d: Duration) -> String {
        let ms = d.saturatingNanoseconds / 1_000_000
        return ms % 1000 == 0 ? "\(ms / 1000) s" : "\(ms) ms"
    }
}

private final class ClockBox {
    let clock: LuaClock
    init(_ clock: LuaClock) { self.clock = clock }
}

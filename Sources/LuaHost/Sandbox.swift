import CLua
import CLuaShim

/// The plugin sandbox, as data: what a plugin's Lua state may reach.
///
/// Nothing outside these lists exists in a plugin state: no `io`, `os`, `debug`, `package` or
/// `require`, and `luaL_openlibs` is never called. Each library is opened on its own and copied
/// entry by entry into a fresh table.
///
/// How a plugin is kept from hanging the host: a count hook checks the instruction and
/// wall-clock budget every 1,000 VM instructions in every coroutine (the hook is installed once
/// for the state's whole life, and coroutines inherit it); C functions that could run for long
/// without executing a VM instruction are replaced by bounded versions (the pattern functions
/// run on a budgeted matcher, `string.rep` and `table.move` are bounded, and `table.insert`,
/// `remove`, `sort` and `concat` run as Lua code on tables with a metatable, whose `__len` and
/// `__index` could otherwise drive their C loops for hours); `__gc` metamethods are refused, so
/// no finalizer ever runs at collection or shutdown; `__close` handlers run as ordinary Lua code
/// under the budget; shutdown itself runs under a budget. Once the budget is exceeded no
/// coroutine is entered and no `xpcall` message handler runs (Lua runs those without hooks after
/// an error raised by the hook), and a coroutine the budget stopped is never closed (see
/// "Coroutines" in `CLuaShim/shim.c`).
public enum Sandbox {
    /// How an entry is provided.
    public enum Rule: Equatable, Sendable {
        /// The standard function, as is.
        case allowed
        /// Replaced by a restricted or bounded version; the reason says how.
        case restricted(String)
    }

    /// Base functions and values, by global name.
    public static let base: [(String, Rule)] = [
        ("assert", .allowed), ("error", .allowed), ("getmetatable", .allowed), ("ipairs", .allowed),
        ("next", .allowed), ("pairs", .allowed), ("pcall", .allowed), ("rawequal", .allowed),
        ("rawget", .allowed), ("rawlen", .allowed), ("rawset", .allowed), ("select", .allowed),
        ("tonumber", .allowed), ("tostring", .allowed), ("type", .allowed),
        ("_VERSION", .allowed), ("_G", .allowed),
        ("setmetatable", .restricted("refuses metatables with __gc (no finalizers)")),
        ("xpcall", .restricted("the message handler does not run once the budget is exceeded")),
        ("load", .restricted("text chunks only; environment is the plugin's globals unless a table is given")),
        ("collectgarbage", .restricted("only the \"count\" option")),
        ("print", .restricted("goes to the host logger (capped)")),
        ("warn", .restricted("goes to the host logger (capped)")),
    ]

    /// Standard libraries and their entries.
    public static let libraries: [(String, [(String, Rule)])] = [
        ("string", [
            ("byte", .allowed), ("char", .allowed), ("format", .allowed), ("len", .allowed),
            ("lower", .allowed), ("pack", .allowed), ("packsize", .allowed), ("reverse", .allowed),
            ("sub", .allowed), ("unpack", .allowed), ("upper", .allowed),
            ("rep", .restricted("result capped at the memory budget")),
            ("find", .restricted("budgeted pattern matcher")),
            ("match", .restricted("budgeted pattern matcher")),
            ("gmatch", .restricted("budgeted pattern matcher")),
            ("gsub", .restricted("budgeted pattern matcher")),
        ]),
        ("table", [
            ("pack", .allowed), ("unpack", .allowed),
            ("insert", .restricted("runs as Lua code under the budget on a table with a metatable")),
            ("remove", .restricted("runs as Lua code under the budget on a table with a metatable")),
            ("sort", .restricted("runs as Lua code under the budget on a table with a metatable")),
            ("concat", .restricted("runs as Lua code under the budget on a table with a metatable")),
            ("move", .restricted("runs as Lua code under the budget")),
        ]),
        ("math", [
            ("abs", .allowed), ("acos", .allowed), ("asin", .allowed), ("atan", .allowed),
            ("ceil", .allowed), ("cos", .allowed), ("deg", .allowed), ("exp", .allowed),
            ("floor", .allowed), ("fmod", .allowed), ("huge", .allowed), ("log", .allowed),
            ("max", .allowed), ("maxinteger", .allowed), ("min", .allowed), ("mininteger", .allowed),
            ("modf", .allowed), ("pi", .allowed), ("rad", .allowed), ("sin", .allowed),
            ("sqrt", .allowed), ("tan", .allowed), ("tointeger", .allowed), ("type", .allowed),
            ("ult", .allowed), ("random", .allowed),
            ("randomseed", .restricted("needs an explicit seed (the host seeds the generator)")),
        ]),
        ("utf8", [
            ("char", .allowed), ("charpattern", .allowed), ("codes", .allowed),
            ("codepoint", .allowed), ("len", .allowed), ("offset", .allowed),
        ]),
        ("coroutine", [
            ("create", .allowed), ("isyieldable", .allowed), ("running", .allowed), ("status", .allowed),
            ("yield", .allowed),
            ("resume", .restricted("refused once the budget is exceeded")),
            ("wrap", .restricted("its function is refused once the budget is exceeded")),
            ("close", .restricted("refused once the budget is exceeded; a coroutine the budget stopped is not closed")),
        ]),
    ]

    /// Names that do not exist in the sandbox; reaching for one is a `forbidden` error that says
    /// so (rather than a puzzling "attempt to index a nil value").
    public static let forbiddenGlobals: [String] = [
        "io", "os", "debug", "package", "require", "dofile", "loadfile", "loadstring", "module",
        "setfenv", "getfenv", "newproxy", "unpack",
    ]

    /// Library entries that do not exist; `string.dump` would hand out bytecode.
    public static let forbiddenEntries: [(String, String)] = [("string", "dump")]

    /// The chunk name of the sandbox's own Lua code (frames with it are hidden from locations).
    static let chunkLabel = "(sandbox)"

    static func install(into state: LuaState, seed: UInt64) throws {
        let L = state.L
        // Open each allowed library; base goes into _G, the others stay in the registry's
        // loaded table until the prelude copies their allowed entries.
        for name in ["_G"] + libraries.map(\.0) {
            sa_openlib(L, name)
            lua_settop(L, 0)
        }
        // Host primitives for the prelude.
        let primitives = LuaValue.table(LuaTable(fields: [:]))
        state.setGlobal("__sandbox_host", primitives)
        lua_getglobal(L, "__sandbox_host")
        for function in hostPrimitives(state) {
            state.push(function)
            lua_setfield(L, -2, function.name)
        }
        sa_pushguardfactory(L)
        lua_setfield(L, -2, "guard")
        sa_pushcowrap(L)
        lua_setfield(L, -2, "cowrap")
        lua_settop(L, 0)
        state.setGlobal("__sandbox_spec", specValue(seed: seed, memoryBytes: state.budget.memoryBytes))
        let saved = state.budget
        state.budget.loadTime = .seconds(5)
        defer { state.budget = saved }
        do {
            try state.run(source: prelude, chunkName: "=" + chunkLabel)
        } catch {
            throw PluginError(plugin: state.name, phase: .load, kind: .runtime,
                              message: "sandbox setup failed: \(error)")
        }
    }

    /// The lists above as a Lua table for the prelude.
    static func specValue(seed: UInt64, memoryBytes: Int) -> LuaValue {
        func names(_ entries: [(String, Rule)]) -> LuaValue {
            .table(LuaTable(array: entries.map { .text($0.0) }))
        }
        var libs: [String: LuaValue] = [:]
        for (lib, entries) in libraries { libs[lib] = names(entries) }
        return .table(LuaTable(fields: [
            "base": names(base),
            "libraries": .table(LuaTable(fields: libs)),
            "forbidden": .table(LuaTable(array: forbiddenGlobals.map { .text($0) })),
            "forbidden_entries": .table(LuaTable(array: forbiddenEntries.map { .table(LuaTable(array: [.text($0.0), .text($0.1)])) })),
            "seed": .integer(Int64(bitPattern: seed)),
            "max_string": .integer(Int64(memoryBytes)),
        ]))
    }

    /// Names of the host primitives the sandbox's wrappers call (hidden from tracebacks).
    static let primitiveNames = ["forbid", "raise", "nomem", "log", "pmatch", "pfind_plain"]

    static func hostPrimitives(_ state: LuaState) -> [HostFunction] {
        let logger = state.logger
        return [
            HostFunction("forbid") { call in throw HostCallError.forbidden(try call.string(1)) },
            HostFunction("raise") { call in throw HostCallError.message(try call.string(1)) },
            // A request the memory budget can never grant (string.rep of 1e15 bytes): a memory error.
            HostFunction("nomem") { call in
                let message = try call.string(1)
                call.state.raw.pointee.mem_refused = 1
                call.state.refusal = (.memory, message)
                throw HostCallError.message(message)
            },
            HostFunction("log") { call in
                let level = HostLogger.Level(rawValue: try call.string(1)) ?? .info
                logger.log(level, source: call.state.name, try call.string(2))
                return 0
            },
            HostFunction("pmatch", PatternPrimitive.match),
            HostFunction("pfind_plain", PatternPrimitive.findPlain),
        ]
    }

    /// Builds the sandbox from the spec: runs once per state, before any plugin code. The source
    /// is `Sources/LuaHost/Lua/prelude.lua` (linted by luacheck), compiled in by
    /// `Scripts/embed-lua.py`.
    static var prelude: String { EmbeddedLua.prelude }
}

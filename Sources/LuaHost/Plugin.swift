import CLua
import CLuaShim
import Foundation

/// What a plugin of one kind must provide, as data. LuaHost knows no kinds of its own: the
/// application that loads plugins passes its list in `Plugin.Options.kinds` (Superalign's is
/// `SuperalignPlugins.kinds`).
public struct PluginKind: Sendable, Equatable {
    public var name: String
    /// Functions the plugin table must have.
    public var required: [String]
    /// Functions it may have; when present they must be functions.
    public var optional: [String]

    public init(name: String, required: [String], optional: [String] = []) {
        self.name = name
        self.required = required
        self.optional = optional
    }

    /// Checks that `plugin` has every required function and that each optional one present is a
    /// function (the check `Plugin.load` makes for the kind it finds). Reads the table raw: a
    /// function offered through `__index` does not count.
    public func validate(_ plugin: Plugin) throws {
        for fn in required {
            let t = plugin.rawFieldType(fn)
            if t == LUA_TNIL { throw plugin.loadError("a \(name) plugin must define function '\(fn)'") }
            if t != LUA_TFUNCTION {
                throw plugin.loadError("'\(fn)' must be a function (got \(plugin.typeName(t)))")
            }
        }
        for fn in optional {
            let t = plugin.rawFieldType(fn)
            if t != LUA_TNIL && t != LUA_TFUNCTION {
                throw plugin.loadError("'\(fn)' must be a function when present (got \(plugin.typeName(t)))")
            }
        }
    }
}

/// A loaded, validated plugin: a Lua file that returns a table with `kind`, `name`, `params`
/// (defaults) and its functions, living in a sandboxed state of its own.
///
/// ```swift
/// let critic = try Plugin.load(file: URL(fileURLWithPath: "Plugins/critics/exact_verifier.lua"))
/// let verdict = try critic.call("score", [item])   // calls critic.score(critic, item)
/// ```
public final class Plugin {
    public let file: String
    public let kind: String
    public let name: String
    public let state: LuaState
    /// Registry reference to the plugin's table (`self` in its functions).
    private let tableRef: Int32
    /// Set by `hideFields`: table arguments (and the tables listed in them) get the metatable
    /// that turns reading a hidden field into an error.
    private var hidesFields = false
    static let hiddenMetatableKey = "superalign.hidden_fields"

    /// Options for loading.
    public struct Options {
        public var budget: LuaBudget
        public var seed: UInt64
        /// The kinds a plugin may declare, with the functions each must define. Empty (the
        /// default): no kind check — any non-empty `kind` string is accepted and no function is
        /// required; the caller validates the plugin itself (`PluginKind.validate`).
        public var kinds: [PluginKind]
        public var logger: HostLogger
        public var clock: LuaClock?
        /// Installs extra globals (the host API) before the plugin's file runs.
        public var prepare: ((LuaState) throws -> Void)?

        public init(budget: LuaBudget = .default, seed: UInt64 = 0, kinds: [PluginKind] = [],
                    logger: HostLogger = HostLogger(), clock: LuaClock? = nil,
                    prepare: ((LuaState) throws -> Void)? = nil) {
            self.budget = budget
            self.seed = seed
            self.kinds = kinds
            self.logger = logger
            self.clock = clock
            self.prepare = prepare
        }
    }

    /// Loads a plugin file in a fresh sandboxed state and validates its table.
    public static func load(file url: URL, options: Options = Options()) throws -> Plugin {
        let label = url.lastPathComponent
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw PluginError(plugin: label, phase: .load, kind: .validation,
                              message: "cannot read \(url.path): \(error.localizedDescription)", file: url.path)
        }
        return try load(source: [UInt8](data), file: url.path, options: options)
    }

    /// Loads a plugin from source text; `file` names it in errors.
    public static func load(source: [UInt8], file: String, options: Options = Options()) throws -> Plugin {
        let label = (file as NSString).lastPathComponent
        let state = try LuaState(name: label, budget: options.budget, seed: options.seed,
                                 logger: options.logger, clock: options.clock)
        try options.prepare?(state)
        let L = state.L
        let base = lua_gettop(L)
        let n: Int32
        do { n = try state.runKeepingResults(bytes: source, chunkName: "@" + file, phase: .load) }
        catch var error as PluginError {
            if error.file == nil { error.file = file }
            throw error
        }
        defer { lua_settop(L, base) }
        func invalid(_ message: String) -> PluginError {
            PluginError(plugin: state.name, phase: .load, kind: .validation, message: message, file: file)
        }
        guard n >= 1, lua_type(L, base + 1) == LUA_TTABLE else {
            let got = n >= 1 ? String(cString: lua_typename(L, lua_type(L, base + 1))) : "nothing"
            throw invalid("the plugin file must return a table (got \(got))")
        }
        let table = base + 1
        func field(_ key: String) -> Int32 {
            lua_pushstring(L, key)
            return lua_rawget(L, table)
        }
        let kindNames = options.kinds.isEmpty ? "" : ": one of \(options.kinds.map(\.name).joined(separator: ", "))"
        guard field("kind") == LUA_TSTRING, let kindName = try? state.readValue(at: -1, path: "kind").text, !kindName.isEmpty else {
            throw invalid("missing 'kind' (a string\(kindNames))")
        }
        lua_settop(L, table)
        let kind = options.kinds.first(where: { $0.name == kindName })
        if kind == nil && !options.kinds.isEmpty {
            throw invalid("unknown kind '\(kindName)' (expected one of \(options.kinds.map(\.name).joined(separator: ", ")))")
        }
        guard field("name") == LUA_TSTRING, let name = try? state.readValue(at: -1, path: "name").text, !name.isEmpty else {
            throw invalid("missing 'name' (a non-empty string)")
        }
        lua_settop(L, table)
        state.name = name
        let paramsType = field("params")
        if paramsType == LUA_TNIL {
            lua_settop(L, table)
            lua_pushstring(L, "params")
            lua_createtable(L, 0, 0)
            lua_rawset(L, table)
        } else if paramsType != LUA_TTABLE {
            throw invalid("'params' must be a table of defaults (got \(String(cString: lua_typename(L, paramsType))))")
        }
        lua_settop(L, table)
        lua_pushvalue(L, table)
        let ref = sa_ref(L)
        let plugin = Plugin(file: file, kind: kindName, name: name, state: state, tableRef: ref)
        try kind?.validate(plugin)
        return plugin
    }

    /// The type of `table[key]`, read raw (for `PluginKind.validate`).
    fileprivate func rawFieldType(_ key: String) -> Int32 {
        let L = state.L
        let base = lua_gettop(L)
        defer { lua_settop(L, base) }
        _ = sa_getref(L, tableRef)
        lua_pushstring(L, key)
        return lua_rawget(L, -2)
    }

    fileprivate func typeName(_ type: Int32) -> String { String(cString: lua_typename(state.L, type)) }

    fileprivate func loadError(_ message: String) -> PluginError {
        PluginError(plugin: name, phase: .load, kind: .validation, message: message, file: file)
    }

    private init(file: String, kind: String, name: String, state: LuaState, tableRef: Int32) {
        self.file = file
        self.kind = kind
        self.name = name
        self.state = state
        self.tableRef = tableRef
    }

    /// True when the plugin table has a function named `function`.
    public func has(_ function: String) -> Bool {
        let L = state.L
        let base = lua_gettop(L)
        defer { lua_settop(L, base) }
        _ = sa_getref(L, tableRef)
        lua_pushstring(L, function)
        return lua_rawget(L, -2) == LUA_TFUNCTION
    }

    /// The plugin's `params` table as a value.
    public var params: LuaValue {
        get throws {
            let L = state.L
            let base = lua_gettop(L)
            defer { lua_settop(L, base) }
            _ = sa_getref(L, tableRef)
            lua_pushstring(L, "params")
            lua_rawget(L, -2)
            return try state.readValue(at: -1, path: "params")
        }
    }

    /// Overrides entries of `self.params` (a campaign's settings over the plugin's defaults).
    public func setParams(_ overrides: [String: LuaValue]) {
        let L = state.L
        let base = lua_gettop(L)
        defer { lua_settop(L, base) }
        _ = sa_getref(L, tableRef)
        lua_pushstring(L, "params")
        if lua_rawget(L, -2) != LUA_TTABLE {
            // The plugin replaced its params with something else: start a fresh table (rawset on
            // a non-table would corrupt the state).
            lua_settop(L, -2)
            lua_createtable(L, 0, Int32(clamping: overrides.count))
            lua_pushstring(L, "params")
            lua_pushvalue(L, -2)
            lua_rawset(L, -4)
        }
        for key in overrides.keys.sorted() {
            lua_pushstring(L, key)
            state.push(overrides[key]!)
            lua_rawset(L, -3)
        }
    }

    /// Calls `plugin[function](plugin, args...)` under the call budget and returns its results.
    /// Errors (including a missing function) are `PluginError`s; the plugin stays usable.
    public func call(_ function: String, _ args: [LuaValue]) throws -> [LuaValue] {
        let L = state.L
        let base = lua_gettop(L)
        defer { lua_settop(L, base) }
        guard lua_checkstack(L, Int32(args.count) + 4) != 0 else {
            throw PluginError(plugin: name, phase: .call, kind: .runtime, message: "too many arguments", file: file)
        }
        sa_pushmsghandler(L)
        _ = sa_getref(L, tableRef)
        function.withCString { _ = lua_pushstring(L, $0) }
        if lua_rawget(L, -2) != LUA_TFUNCTION {
            throw PluginError(plugin: name, phase: .call, kind: .validation,
                              message: "the plugin has no function '\(function)'", file: file)
        }
        lua_rotate(L, -2, 1) // function, self
        for a in args {
            state.push(a)
            if hidesFields, case .table(let t) = a { guardTable(at: lua_gettop(L), listed: t.array.count) }
        }
        let n: Int32
        do {
            n = try state.protectedCall(base: base, nargs: Int32(args.count) + 1, nanoseconds: state.callNanoseconds,
                                            phase: .call)
        } catch var error as PluginError {
            // No Lua frame to point at (the plugin tail-called a sandbox function that failed):
            // the plugin's file is still the place to look.
            if error.file == nil { error.file = file }
            throw error
        }
        do { return try state.readValues(from: base + 1, count: n) { "\(function) result #\($0)" } }
        catch let e as MarshalError {
            throw PluginError(plugin: name, phase: .call, kind: .validation, message: e.description, file: file)
        }
    }
}

extension Plugin {
    /// Makes reading any of `fields` on a record passed to this plugin an error with the given
    /// message (absent fields only: a field the host does pass, such as a declared critic's
    /// `reference`, reads normally). Records are the table arguments of `call` and the tables
    /// in their list part (a batch of items). `getmetatable` on them returns false.
    ///
    /// ```swift
    /// try critic.hideFields(["answer": "item.answer is hidden: …"])
    /// ```
    public func hideFields(_ fields: [String: String]) throws {
        let L = state.L
        let base = lua_gettop(L)
        defer { lua_settop(L, base) }
        let source = EmbeddedLua.hiddenFields  // Sources/LuaHost/Lua/hidden_fields.lua
        let status = source.withCString { sa_loadbuffer(L, $0, strlen($0), "=(hidden fields)", "t") }
        guard status == LUA_OK else {
            throw PluginError(plugin: name, phase: .load, kind: .runtime, message: "cannot build the hidden-field guard", file: file)
        }
        state.push(.table(LuaTable(fields: fields.mapValues { .text($0) })))
        guard sa_pcall(L, 1, 1, 0) == LUA_OK, lua_type(L, -1) == LUA_TTABLE else {
            throw PluginError(plugin: name, phase: .load, kind: .runtime, message: "cannot build the hidden-field guard", file: file)
        }
        lua_setfield(L, sa_registryindex(), Self.hiddenMetatableKey)
        hidesFields = true
    }

    /// Sets the hidden-field metatable on the table at `index` and on the first `listed`
    /// elements of its list part that are tables.
    private func guardTable(at index: Int32, listed: Int) {
        let L = state.L
        _ = lua_checkstack(L, 3)
        lua_getfield(L, sa_registryindex(), Self.hiddenMetatableKey)
        _ = lua_setmetatable(L, index)
        for i in 0..<listed {
            if lua_rawgeti(L, index, Int64(i + 1)) == LUA_TTABLE {
                lua_getfield(L, sa_registryindex(), Self.hiddenMetatableKey)
                _ = lua_setmetatable(L, -2)
            }
            sa_pop(L, 1)
        }
    }

    /// The plugin's data: every field of its table that is not a function (its `params` and
    /// whatever it keeps on `self` between calls, such as an attacker's pool of failures).
    /// Campaigns store it after each iteration so a resumed run continues from the same state.
    public func snapshot() throws -> LuaValue {
        let L = state.L
        let base = lua_gettop(L)
        defer { lua_settop(L, base) }
        _ = sa_getref(L, tableRef)
        let table = lua_gettop(L)
        var fields: [LuaTable.Entry] = []
        lua_pushnil(L)
        while lua_next(L, table) != 0 {
            let valueType = lua_type(L, -1)
            if lua_type(L, -2) == LUA_TSTRING && valueType != LUA_TFUNCTION {
                let key = try state.readValue(at: -2, path: "self")
                do { fields.append(LuaTable.Entry(key: key, value: try state.readValue(at: -1, path: "self.\(key.text ?? "?")"))) }
                catch let e as MarshalError {
                    throw PluginError(plugin: name, phase: .call, kind: .validation,
                                      message: "cannot save the plugin's state: \(e)", file: file)
                }
            }
            lua_settop(L, -2)
        }
        return .table(LuaTable(hash: fields))
    }

    /// Restores data fields saved by `snapshot()` (functions are left as loaded).
    public func restore(_ snapshot: LuaValue) {
        guard let t = snapshot.table else { return }
        let L = state.L
        let base = lua_gettop(L)
        defer { lua_settop(L, base) }
        _ = sa_getref(L, tableRef)
        for e in t.hash {
            state.push(e.key)
            state.push(e.value)
            lua_rawset(L, -3)
        }
    }
}

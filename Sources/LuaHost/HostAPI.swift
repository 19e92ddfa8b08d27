import CLua
import CLuaShim

/// A host API: one read-only global table of documented Swift functions and constants,
/// registered from one description, which also produces the LuaLS `---@meta` stubs plugin
/// authors use (so the docs cannot drift from what is registered).
///
/// Every namespace is a full userdata whose metatable indexes the real table: plugins can read
/// it but not assign, `rawset` or replace its metatable.
///
/// ```swift
/// var api = HostAPI(name: "sa", summary: "The Superalign host API.")
/// api.add("text.reverse", summary: "Reverses a string.",
///         params: [.init("s", "string", "the text")], returns: [.init("string", "reversed")]) { call in
///     call.push(.text(String(try call.string(1).reversed()))); return 1
/// }
/// api.install(into: state)
/// ```
public struct HostAPI {
    public struct Param: Sendable, Equatable {
        public var name: String
        public var type: String
        public var doc: String
        public var optional: Bool
        public init(_ name: String, _ type: String, _ doc: String, optional: Bool = false) {
            self.name = name
            self.type = type
            self.doc = doc
            self.optional = optional
        }
    }

    public struct Return: Sendable, Equatable {
        public var type: String
        public var doc: String
        public init(_ type: String, _ doc: String) {
            self.type = type
            self.doc = doc
        }
    }

    public struct Function {
        public var path: String
        public var summary: String
        public var params: [Param]
        public var returns: [Return]
        public var body: (HostCall) throws -> Int32
    }

    public struct Constant {
        public var path: String
        public var type: String
        public var summary: String
        public var value: LuaValue
    }

    /// A table shape documented for the stubs (`---@class`).
    public struct Shape: Sendable, Equatable {
        public var name: String
        public var summary: String
        public var fields: [Param]
        public init(_ name: String, _ summary: String, fields: [Param]) {
            self.name = name
            self.summary = summary
            self.fields = fields
        }
    }

    public let name: String
    public let summary: String
    public private(set) var namespaces: [(path: String, summary: String)] = []
    public private(set) var functions: [Function] = []
    public private(set) var constants: [Constant] = []
    public private(set) var shapes: [Shape] = []

    public init(name: String, summary: String) {
        self.name = name
        self.summary = summary
    }

    /// Declares a namespace (`"task"` for `sa.task`).
    public mutating func namespace(_ path: String, summary: String) {
        namespaces.append((path, summary))
    }

    /// Adds a function at `path` ("task.sample").
    /// The host API's work (a batched generation, a learner's log-probabilities) is the
    /// engine's time, not the plugin's: the call's wall-clock deadline moves by the time spent
    /// inside it. Instruction budgets are unaffected.
    static func offTheClock(_ body: @escaping (HostCall) throws -> Int32) -> (HostCall) throws -> Int32 {
        { call in
            let raw = call.state.raw
            guard raw.pointee.deadline_ns != 0, let clock = raw.pointee.clock else { return try body(call) }
            let t0 = clock(raw.pointee.clock_context)
            defer {
                let spent = clock(raw.pointee.clock_context) &- t0
                if raw.pointee.deadline_ns != 0 { raw.pointee.deadline_ns &+= spent }
            }
            return try body(call)
        }
    }

    public mutating func add(_ path: String, summary: String, params: [Param] = [], returns: [Return] = [],
                             _ body: @escaping (HostCall) throws -> Int32) {
        functions.append(Function(path: path, summary: summary, params: params, returns: returns, body: body))
    }

    public mutating func constant(_ path: String, type: String, summary: String, _ value: LuaValue) {
        constants.append(Constant(path: path, type: type, summary: summary, value: value))
    }

    public mutating func shape(_ shape: Shape) { shapes.append(shape) }

    // MARK: Registration

    /// Installs the API as the read-only global `name` in `state`.
    public func install(into state: LuaState) {
        let L = state.L
        let top = lua_gettop(L)
        defer { lua_settop(L, top) }
        // Real tables by namespace path ("" is the root).
        var tables: [String: Int32] = [:]
        func realTable(_ path: String) -> Int32 {
            if let ref = tables[path] { return ref }
            lua_createtable(L, 0, 8)
            let ref = sa_ref(L)
            tables[path] = ref
            return ref
        }
        _ = realTable("")
        for ns in namespaces { _ = realTable(ns.path) }
        for f in functions {
            _ = sa_getref(L, realTable(parent(of: f.path)))
            state.push(HostFunction("\(name).\(f.path)", Self.offTheClock(f.body)))
            lua_setfield(L, -2, leaf(of: f.path))
            lua_settop(L, top)
        }
        for c in constants {
            _ = sa_getref(L, realTable(parent(of: c.path)))
            state.push(c.value)
            lua_setfield(L, -2, leaf(of: c.path))
            lua_settop(L, top)
        }
        // Read-only proxies, deepest namespaces first so parents can hold them.
        let refuse = HostFunction("\(name) (read-only)") { call in
            let key = (try? call.string(2)) ?? "?"
            throw HostCallError.forbidden("'\(key)' cannot be assigned: the host API table is read-only")
        }
        var proxies: [String: Int32] = [:]
        for path in tables.keys.sorted(by: { depth($0) > depth($1) || (depth($0) == depth($1) && $0 < $1) }) {
            // Children proxies go into this real table first.
            for (child, proxyRef) in proxies where parent(of: child) == path && !child.isEmpty {
                _ = sa_getref(L, tables[path]!)
                _ = sa_getref(L, proxyRef)
                lua_setfield(L, -2, leaf(of: child))
                lua_settop(L, top)
            }
            _ = lua_newuserdatauv(L, 0, 0)
            lua_createtable(L, 0, 4)
            _ = sa_getref(L, tables[path]!)
            lua_setfield(L, -2, "__index")
            state.push(refuse)
            lua_setfield(L, -2, "__newindex")
            lua_pushstring(L, "locked")
            lua_setfield(L, -2, "__metatable")
            lua_pushstring(L, path.isEmpty ? name : "\(name).\(path)")
            lua_setfield(L, -2, "__name")
            _ = sa_getref(L, tables[path]!)
            sa_push_proxy_pairs(L)
            lua_setfield(L, -2, "__pairs")
            _ = lua_setmetatable(L, -2)
            proxies[path] = sa_ref(L)
        }
        _ = sa_getref(L, proxies[""]!)
        lua_setglobal(L, name)
    }

    private func parent(of path: String) -> String {
        guard let dot = path.lastIndex(of: ".") else { return "" }
        return String(path[..<dot])
    }

    private func leaf(of path: String) -> String {
        guard let dot = path.lastIndex(of: ".") else { return path }
        return String(path[path.index(after: dot)...])
    }

    private func depth(_ path: String) -> Int { path.isEmpty ? 0 : path.split(separator: ".").count }

    // MARK: Stubs

    /// LuaLS annotation stubs (`---@meta`) for the whole API.
    public func luaLSStubs(generator: String) -> String {
        var out = "---@meta\n-- \(summary)\n-- Generated by `\(generator)` from the table that registers the API. Do not edit.\n\n"
        for shape in shapes {
            out += "---\(shape.summary)\n---@class \(shape.name)\n"
            for f in shape.fields {
                out += "---@field \(f.name)\(f.optional ? "?" : "") \(f.type) \(f.doc)\n"
            }
            out += "\n"
        }
        out += "---\(summary)\n---@class \(name)\n\(name) = {}\n\n"
        for ns in namespaces {
            let cls = "\(name).\(ns.path)"
            out += "---\(ns.summary)\n---@class \(cls)\n\(cls) = {}\n\n"
        }
        for c in constants {
            out += "---\(c.summary)\n---@type \(c.type)\n\(name).\(c.path) = nil\n\n"
        }
        for f in functions {
            out += "---\(f.summary)\n"
            for p in f.params { out += "---@param \(p.name)\(p.optional ? "?" : "") \(p.type) \(p.doc)\n" }
            for r in f.returns { out += "---@return \(r.type) # \(r.doc)\n" }
            out += "function \(name).\(f.path)(\(f.params.map(\.name).joined(separator: ", "))) end\n\n"
        }
        return out
    }
}

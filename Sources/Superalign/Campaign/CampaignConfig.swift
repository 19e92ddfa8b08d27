import LuaHost

/// A campaign, as its Lua script declares it with `campaign{…}`, resolved and validated.
///
/// ```lua
/// return campaign{
///   name = "quickstart", seed = 1, iterations = 4,
///   task = { name = "addition", digits = 2 },
///   learner = { layers = 2, width = 64, heads = 4, pretrain_steps = 400 },
///   attacker = { plugin = "carry_chain" },
///   critic = { plugin = "digit_rubric" },
///   oversight = { plugin = "uncertainty_budget", budget = 40 },
///   refine = { method = "sft", steps = 60 },
/// }
/// ```
public struct CampaignConfig: Codable, Equatable, Sendable {
    public struct PluginRef: Codable, Equatable, Sendable {
        public var plugin: String
        public var params: [String: JSONValue]
    }

    public struct Learner: Codable, Equatable, Sendable {
        public var layers: Int
        public var width: Int
        public var heads: Int
        public var pretrainSteps: Int
        public var pretrainBatch: Int
        public var learningRate: Double
    }

    public struct Refine: Codable, Equatable, Sendable {
        /// `sft` or `rft`.
        public var method: String
        public var steps: Int
        public var batch: Int
        public var learningRate: Double
        /// Samples per query (K) for `rft`; 1 for `sft`.
        public var samples: Int
        public var temperature: Double
        /// Mix of fresh task problems replayed with the refinement data (guards against forgetting).
        public var replay: Int
    }

    public var name: String
    public var seed: UInt64
    public var iterations: Int
    public var queriesPerIteration: Int
    public var task: [String: String]
    public var learner: Learner
    public var attacker: PluginRef
    public var critic: PluginRef
    public var oversight: PluginRef
    public var humanBudget: Int
    public var refine: Refine
    public var evalClean: Int
    public var evalOOD: Int
}

/// A JSON-compatible value for configs (plugin params), Codable so config.json is plain JSON.
public enum JSONValue: Codable, Equatable, Sendable {
    case null, bool(Bool), int(Int64), double(Double), string(String), array([JSONValue]), object([String: JSONValue])

    public init(_ v: LuaValue) throws {
        switch v {
        case .nil: self = .null
        case .boolean(let b): self = .bool(b)
        case .integer(let i): self = .int(i)
        case .number(let d):
            guard d.isFinite else { throw CampaignError.invalid("a parameter is \(d), which has no JSON form") }
            self = .double(d)
        case .string: self = .string(v.text!)
        case .table(let t):
            if t.hash.isEmpty { self = .array(try t.array.map(JSONValue.init)); return }
            var o: [String: JSONValue] = [:]
            for (k, x) in t.fields { o[k] = try JSONValue(x) }
            if o.count != t.hash.count + t.array.count { throw CampaignError.invalid("parameter tables need string keys") }
            self = .object(o)
        }
    }

    public var luaValue: LuaValue {
        switch self {
        case .null: return .nil
        case .bool(let b): return .boolean(b)
        case .int(let i): return .integer(i)
        case .double(let d): return .number(d)
        case .string(let s): return .text(s)
        case .array(let a): return .table(LuaTable(array: a.map(\.luaValue)))
        case .object(let o): return .table(LuaTable(fields: o.mapValues(\.luaValue)))
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int64.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .int(let i): try c.encode(i)
        case .double(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }
}

public enum CampaignError: Error, Equatable, CustomStringConvertible {
    case invalid(String)
    case script(PluginError)

    public var description: String {
        switch self {
        case .invalid(let m): return m
        case .script(let e): return "\(e)"
        }
    }
}

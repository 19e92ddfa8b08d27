import Foundation
import LuaHost

/// Superalign's plugin protocol, described once as data: the kinds of plugin, the functions of
/// each with their parameters and results, and the shapes of the tables that cross the
/// boundary. From it come the kinds `Plugin.load` checks (`SuperalignPlugins.kinds`), the LuaLS
/// stubs `Plugins/meta/protocol.lua` (`superalign plugins stubs`), and the rules the adapters
/// in `Loop/LuaPlugins.swift` validate a critic's verdict with.
///
/// Types are written as LuaLS spells them (`string`, `integer`, `sa.Item[]`, `"critic"|"human"`);
/// `PluginProtocol.mismatches(_:type:)` checks a value against one, so tests can hold the
/// arguments the engine builds to what is documented here.
public enum PluginProtocol {
    /// How the host validates a field of a plugin's result.
    public enum Rule: Sendable, Equatable {
        /// A finite number in [0, 1].
        case unitInterval
        case boolean
        case string
    }

    /// One field of a shape, or one parameter of a function.
    public struct Field: Sendable, Equatable {
        public var name: String
        public var type: String
        public var doc: String
        public var optional: Bool
        /// For a result's fields: how the host checks the value.
        public var rule: Rule?
        /// For an optional result field: the value the host uses when it is absent.
        public var defaultValue: LuaValue?

        public init(_ name: String, _ type: String, _ doc: String, optional: Bool = false, rule: Rule? = nil,
                    default defaultValue: LuaValue? = nil) {
            self.name = name
            self.type = type
            self.doc = doc
            self.optional = optional
            self.rule = rule
            self.defaultValue = defaultValue
        }
    }

    /// A table that crosses the boundary (`---@class sa.Item`).
    public struct Shape: Sendable, Equatable {
        public var name: String
        public var summary: String
        public var fields: [Field]

        public init(_ name: String, _ summary: String, fields: [Field]) {
            self.name = name
            self.summary = summary
            self.fields = fields
        }

        public func field(_ name: String) -> Field? { fields.first { $0.name == name } }
    }

    /// A function of a plugin kind. `self` (the plugin table) comes first and is not listed.
    public struct Function: Sendable, Equatable {
        public var name: String
        public var summary: String
        public var params: [Field]
        /// The result's type, or nil when the host ignores what the function returns.
        public var returns: String?
        public var returnDoc: String
        public var optional: Bool

        public init(_ name: String, _ summary: String, params: [Field], returns: String? = nil, _ returnDoc: String = "",
                    optional: Bool = false) {
            self.name = name
            self.summary = summary
            self.params = params
            self.returns = returns
            self.returnDoc = returnDoc
            self.optional = optional
        }
    }

    /// A kind of plugin and its functions.
    public struct Kind: Sendable, Equatable {
        public var name: String
        /// The stubs' class for a plugin table of this kind (`sa.Critic`).
        public var className: String
        public var summary: String
        public var functions: [Function]

        public init(_ name: String, className: String, _ summary: String, functions: [Function]) {
            self.name = name
            self.className = className
            self.summary = summary
            self.functions = functions
        }

        /// The kind as `Plugin.load` checks it.
        public var pluginKind: PluginKind {
            PluginKind(name: name, required: functions.filter { !$0.optional }.map(\.name),
                       optional: functions.filter(\.optional).map(\.name))
        }

        public func function(_ name: String) -> Function? { functions.first { $0.name == name } }
    }

    // MARK: Shapes

    /// A response as a critic or oversight policy receives it (`IterationItem.pluginView`).
    public static let item = Shape("sa.Item", "A response to judge, as critics and oversight policies receive it: never the reference answer (reading item.answer, item.correct or, outside a reference-based critic, item.reference is an error).", fields: [
        Field("prompt", "string", "the prompt the learner answered"),
        Field("response", "string", "the learner's response"),
        Field("logprob", "number", "the learner's total log-probability of the response (absent when unknown)", optional: true),
        Field("confidence", "number", "exp(logprob) clamped to [0, 1] (absent when unknown)", optional: true),
        Field("features", "table<string, number>", "difficulty features of the prompt (for addition: carries, longest_carry_chain, digits)"),
        Field("reference", "string", "the reference answer: only for a critic the campaign declares with reference = true", optional: true),
    ])

    /// What a critic returns for one item; the host validates every field.
    public static let verdictResult = Shape("sa.VerdictResult", "A critic's verdict on one response, as the critic returns it (every field is validated: a score of NaN, 1.5 or \"0.5\" is an error naming the field).", fields: [
        Field("score", "number", "in [0, 1]: how good the response is", rule: .unitInterval),
        Field("label", "boolean", "true: accept the response as right", rule: .boolean),
        Field("confidence", "number", "in [0, 1]: how sure the critic is (default 1)", optional: true, rule: .unitInterval,
              default: .number(1)),
        Field("critique", "string", "why, in a few words (default \"\")", optional: true, rule: .string, default: .text("")),
    ])

    /// A verdict as an oversight policy receives it (`LuaOversight.verdictValue`).
    public static let verdict = Shape("sa.Verdict", "The critics' verdict on an item, as oversight policies receive it (validated; with several critics, aggregated by the campaign's rule).", fields: [
        Field("score", "number", "in [0, 1]"),
        Field("label", "boolean", "true: the critics accept the response"),
        Field("confidence", "number", "in [0, 1]"),
        Field("critique", "string", "the critique (aggregated: \"critic: critique; …\")"),
        Field("critic", "string", "the critic's name, or the aggregation rule (\"mean\", \"majority\", \"all\")"),
        Field("others", "sa.Verdict[]", "the verdicts of the campaign's second and later critics on the same response (empty with one critic; absent on these verdicts themselves)", optional: true),
    ])

    /// The human budget as a policy sees it (`LuaOversight.budgetValue`).
    public static let budget = Shape("sa.Budget", "The human-label budget as an oversight policy sees it.", fields: [
        Field("remaining", "integer", "labels left"),
        Field("spent", "integer", "labels bought so far in the campaign"),
        Field("total", "integer", "the campaign's budget"),
        Field("iteration", "integer", "the current iteration (from 1)"),
        Field("iterations", "integer", "the campaign's number of iterations"),
    ])

    /// What an attacker is told when asked for prompts (`LuaAttacker.contextValue`).
    public static let attackContext = Shape("sa.AttackContext", "What an attacker is told when asked for prompts.", fields: [
        Field("iteration", "integer", "the current iteration (from 1)"),
        Field("iterations", "integer", "the campaign's number of iterations"),
        Field("human_budget_remaining", "integer", "human labels left in the campaign"),
    ])

    /// A proposal as a table.
    public static let query = Shape("sa.Query", "A proposed query as a table: a prompt and nothing of the answer (an 'answer' field is an error: the task computes the truth).", fields: [
        Field("prompt", "string", "the prompt, e.g. \"99+1=\""),
    ])

    /// What became of one query (`LuaAttacker.observationValue`).
    public static let observation = Shape("sa.Observation", "What became of one of the attacker's queries in the last iteration.", fields: [
        Field("prompt", "string", "the prompt"),
        Field("response", "string", "the learner's response"),
        Field("label", "boolean", "the label refinement used: the human's when bought, else the critics'"),
        Field("source", "\"critic\"|\"human\"", "where the label came from"),
        Field("score", "number", "the critics' score in [0, 1]"),
        Field("critique", "string", "the critics' critique"),
        Field("human", "boolean", "the human's label, when one was bought", optional: true),
    ])

    public static let shapes: [Shape] = [item, verdictResult, verdict, budget, attackContext, query, observation]

    public static func shape(_ name: String) -> Shape? { shapes.first { $0.name == name } }

    // MARK: Kinds

    public static let attacker = Kind("attacker", className: "sa.Attacker",
                                      "An attacker plugin: proposes prompts where the learner may fail (prompts only: the task computes every answer).",
                                      functions: [
        Function("propose", "Up to `n` prompts. Prompts the task does not accept, and any past `n`, are counted as invalid.",
                 params: [Field("ctx", "sa.AttackContext", "the iteration and the budget left"),
                          Field("n", "integer", "how many queries the campaign wants")],
                 returns: "(string|sa.Query)[]", "the prompts, as strings or {prompt = ...} tables"),
        Function("observe", "What became of the last iteration's queries (called after each iteration).",
                 params: [Field("results", "sa.Observation[]", "one per query the task accepted")], optional: true),
    ])

    public static let critic = Kind("critic", className: "sa.Critic",
                                    "A critic plugin: scores the learner's responses without seeing the answer (unless declared reference-based).",
                                    functions: [
        Function("score", "Scores one response (called per item when the critic has no score_batch).",
                 params: [Field("item", "sa.Item", "the response to score")],
                 returns: "sa.VerdictResult", "the verdict"),
        Function("score_batch", "Scores a batch of responses in one call; preferred over score when present.",
                 params: [Field("items", "sa.Item[]", "the responses to score")],
                 returns: "sa.VerdictResult[]", "one verdict per item, in order", optional: true),
    ])

    public static let oversight = Kind("oversight", className: "sa.Oversight",
                                       "An oversight policy plugin: picks the items worth a human label within the budget.",
                                       functions: [
        Function("decide", "Whether to buy a human label for one item (called per item, in order, when the policy has no decide_batch; the budget is as it stands after the labels bought so far).",
                 params: [Field("item", "sa.Item", "the response"), Field("verdict", "sa.Verdict", "the critics' verdict on it"),
                          Field("budget", "sa.Budget", "the human budget")],
                 returns: "boolean", "true: ask the human"),
        Function("decide_batch", "The items to label, most wanted first, in one call; preferred over decide when present. Labels are bought in order while the budget lasts.",
                 params: [Field("items", "sa.Item[]", "the iteration's responses"),
                          Field("verdicts", "sa.Verdict[]", "the critics' verdict on each item"),
                          Field("budget", "sa.Budget", "the human budget")],
                 returns: "integer[]", "distinct 1-based item indices", optional: true),
    ])

    public static let kinds: [Kind] = [attacker, critic, oversight]

    public static func kind(_ name: String) -> Kind? { kinds.first { $0.name == name } }

    /// The fields every plugin table has, whatever its kind.
    static func commonFields(kind: String) -> [Field] {
        [Field("kind", "\"\(kind)\"", "the plugin's kind"),
         Field("name", "string", "the plugin's name: its file name without .lua (plugins are found by file name)"),
         Field("params", "table<string, any>", "named defaults a campaign may override (a value of another type than the default is an error)")]
    }

    // MARK: Validation

    /// A value that breaks the protocol; `message` names the field.
    public struct Violation: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Checks `value` against `field`'s rule; returns the value to use (the default when an
    /// optional field is absent). Fields without a rule pass as they are.
    public static func validate(_ value: LuaValue, _ field: Field) throws -> LuaValue {
        if value.isNil, field.optional, let d = field.defaultValue { return d }
        guard let rule = field.rule else { return value }
        let key = field.name
        switch rule {
        case .unitInterval:
            guard let d = value.double else {
                throw Violation(message: "'\(key)' must be a number in [0, 1] (got \(value.typeName)\(value.text.map { " \"\($0)\"" } ?? ""))")
            }
            guard d.isFinite, (0...1).contains(d) else { throw Violation(message: "'\(key)' must be in [0, 1] (got \(d))") }
            return .number(d)
        case .boolean:
            guard value.bool != nil else { throw Violation(message: "'\(key)' must be a boolean (got \(value.typeName))") }
            return value
        case .string:
            guard case .string = value else { throw Violation(message: "'\(key)' must be a string (got \(value.typeName))") }
            return value
        }
    }

    /// Where `value` departs from `type` (a LuaLS type of this protocol): one line per
    /// mismatch, each with its path; empty when it conforms. Unknown type names pass.
    public static func mismatches(_ value: LuaValue, type: String, path: String = "value") -> [String] {
        let t = type.trimmingCharacters(in: .whitespaces)
        if t.hasSuffix("[]") {
            var element = String(t.dropLast(2))
            if element.hasPrefix("("), element.hasSuffix(")") { element = String(element.dropFirst().dropLast()) }
            guard let list = value.table else { return ["\(path): expected \(type), got \(value.typeName)"] }
            guard list.hash.isEmpty else { return ["\(path): expected a list (\(type)), got a table with named fields"] }
            return list.array.enumerated().flatMap { mismatches($1, type: element, path: "\(path)[\($0 + 1)]") }
        }
        let alternatives = splitUnion(t)
        if alternatives.count > 1 {
            let each = alternatives.map { mismatches(value, type: $0, path: path) }
            return each.contains { $0.isEmpty } ? [] : ["\(path): expected \(type), got \(describe(value))"]
        }
        func expect(_ ok: Bool) -> [String] { ok ? [] : ["\(path): expected \(type), got \(describe(value))"] }
        switch t {
        case "string": if case .string = value { return [] } else { return expect(false) }
        case "number": return expect(value.double != nil)
        case "integer": if case .integer = value { return [] } else { return expect(false) }
        case "boolean": return expect(value.bool != nil)
        case "any": return []
        default: break
        }
        if t.hasPrefix("\""), t.hasSuffix("\""), t.count >= 2 { return expect(value.text == String(t.dropFirst().dropLast())) }
        if t.hasPrefix("table<") {
            guard let table = value.table else { return expect(false) }
            let inner = t.dropFirst("table<".count).dropLast()
            let parts = inner.split(separator: ",", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { return [] }
            var out: [String] = []
            if parts[0] == "string" && !table.array.isEmpty { out.append("\(path): expected \(type), got a list") }
            for e in table.hash {
                out += mismatches(e.key, type: parts[0], path: "\(path) key")
                out += mismatches(e.value, type: parts[1], path: "\(path).\(e.key.text ?? "?")")
            }
            return out
        }
        if let shape = shape(t) {
            guard let table = value.table else { return expect(false) }
            var out: [String] = []
            for f in shape.fields {
                let v = table[.text(f.name)] ?? .nil
                if v.isNil { if !f.optional { out.append("\(path).\(f.name): missing (\(f.type))") }; continue }
                out += mismatches(v, type: f.type, path: "\(path).\(f.name)")
            }
            let known = Set(shape.fields.map(\.name))
            for (k, _) in table.fields where !known.contains(k) { out.append("\(path).\(k): not a field of \(shape.name)") }
            if !table.array.isEmpty { out.append("\(path): \(shape.name) has no list part") }
            return out.sorted()
        }
        return []
    }

    private static func describe(_ v: LuaValue) -> String {
        switch v {
        case .integer(let i): return "integer \(i)"
        case .number(let d): return "number \(d)"
        case .string: return "string \"\(v.text ?? "")\""
        default: return v.typeName
        }
    }

    /// `a|b|c` at the top level (not inside parentheses, angle brackets or quotes).
    private static func splitUnion(_ t: String) -> [String] {
        var parts: [String] = [], current = "", depth = 0, quoted = false
        for c in t {
            if c == "\"" { quoted.toggle() }
            if !quoted {
                if c == "(" || c == "<" { depth += 1 }
                if c == ")" || c == ">" { depth -= 1 }
                if c == "|" && depth == 0 { parts.append(current); current = ""; continue }
            }
            current.append(c)
        }
        parts.append(current)
        return parts.map { $0.trimmingCharacters(in: .whitespaces) }
    }

    // MARK: Stubs

    /// The LuaLS `---@meta` stubs of the protocol (`Plugins/meta/protocol.lua`).
    public static func stubs(generator: String) -> String {
        var out = "---@meta\n-- The Superalign plugin protocol: the functions each kind of plugin defines and the tables they\n"
            + "-- receive and return. Annotate a plugin's table with `---@type sa.Critic` (or sa.Attacker, sa.Oversight).\n"
            + "-- Generated by `\(generator)` from Sources/Superalign/Plugins/PluginProtocol.swift. Do not edit.\n\n"
        for shape in shapes {
            out += "---\(shape.summary)\n---@class \(shape.name)\n"
            for f in shape.fields { out += "---@field \(f.name)\(f.optional ? "?" : "") \(f.type) \(f.doc)\n" }
            out += "\n"
        }
        for kind in kinds {
            out += "---\(kind.summary)\n---@class \(kind.className)\n"
            for f in commonFields(kind: kind.name) { out += "---@field \(f.name) \(f.type) \(f.doc)\n" }
            for fn in kind.functions {
                let params = (["self: \(kind.className)"] + fn.params.map { "\($0.name): \($0.type)" }).joined(separator: ", ")
                let result = fn.returns.map { ": \($0)" } ?? ""
                let doc = fn.returns == nil ? fn.summary : "\(fn.summary) Returns \(fn.returnDoc)."
                out += "---@field \(fn.name)\(fn.optional ? "?" : "") fun(\(params))\(result) \(doc)\n"
            }
            out += "\n"
        }
        return out
    }
}

/// Superalign's plugin kinds, for `Plugin.Options(kinds:)`.
public enum SuperalignPlugins {
    public static let kinds: [PluginKind] = PluginProtocol.kinds.map(\.pluginKind)

    /// Checks that `plugin` is a known kind (`expected`, when given) with the functions the
    /// protocol requires: what `Plugin.load` checks with `kinds`, for a plugin loaded without.
    public static func validate(_ plugin: Plugin, as expected: String? = nil) throws {
        guard let kind = PluginProtocol.kind(plugin.kind) else {
            throw PluginError(plugin: plugin.name, phase: .load, kind: .validation,
                              message: "unknown kind '\(plugin.kind)' (expected one of \(kinds.map(\.name).joined(separator: ", ")))",
                              file: plugin.file)
        }
        if let expected, expected != plugin.kind {
            throw PluginError(plugin: plugin.name, phase: .load, kind: .validation,
                              message: "a \(plugin.kind) plugin cannot serve as the \(expected)", file: plugin.file)
        }
        try kind.pluginKind.validate(plugin)
    }
}

import LuaHost

/// A query from the attacker, resolved against the task: the ground truth is the task's
/// answer when the prompt is a problem of the task, else the answer the attacker supplied.
public struct AttackQuery: Equatable, Sendable {
    public var prompt: String
    public var answer: String
}

/// The critic's verdict on one response, validated.
public struct CriticVerdict: Equatable, Sendable {
    public var score: Double
    public var label: Bool
    public var confidence: Double
    public var critique: String

    var luaValue: LuaValue {
        .table(LuaTable(fields: ["score": .number(score), "label": .boolean(label), "confidence": .number(confidence),
                                 "critique": .text(critique)]))
    }
}

/// The three plugins of a campaign, with their returned values validated: a score of NaN, 1.5
/// or "0.5" is a clear plugin error naming the field.
public final class CampaignPlugins {
    public let attacker: Plugin
    public let critic: Plugin
    public let oversight: Plugin
    public let contexts: [PluginContext]

    init(attacker: Plugin, critic: Plugin, oversight: Plugin, contexts: [PluginContext]) {
        self.attacker = attacker
        self.critic = critic
        self.oversight = oversight
        self.contexts = contexts
    }

    var all: [Plugin] { [attacker, critic, oversight] }

    static func invalid(_ plugin: Plugin, _ function: String, _ message: String) -> PluginError {
        PluginError(plugin: plugin.name, phase: .call, kind: .validation, message: "\(function): \(message)", file: plugin.file)
    }

    /// `propose(self, ctx, n)`; queries that are neither problems of the task nor carry an
    /// answer are counted as invalid and skipped.
    func propose(context: LuaValue, count: Int, task: any ProblemTask) throws -> (queries: [AttackQuery], invalid: Int) {
        let out = try attacker.call("propose", [context, .integer(Int64(count))])
        guard let list = out.first?.table, list.hash.isEmpty else {
            throw Self.invalid(attacker, "propose", "must return a list of queries (got \(out.first?.typeName ?? "nothing"))")
        }
        var queries: [AttackQuery] = [], invalid = 0
        for (i, v) in list.array.enumerated() {
            let prompt: String, supplied: String?
            switch v {
            case .string: prompt = v.text!; supplied = nil
            case .table:
                guard case .string = v["prompt"], let p = v["prompt"].text else {
                    throw Self.invalid(attacker, "propose", "query \(i + 1): 'prompt' must be a string (got \(v["prompt"].typeName))")
                }
                prompt = p
                switch v["answer"] {
                case .nil: supplied = nil
                case .string: supplied = v["answer"].text
                case .integer(let n): supplied = String(n)
                default: throw Self.invalid(attacker, "propose", "query \(i + 1): 'answer' must be a string or integer (got \(v["answer"].typeName))")
                }
            default:
                throw Self.invalid(attacker, "propose", "query \(i + 1) must be a string or a table with 'prompt' (got \(v.typeName))")
            }
            if let truth = task.problem(forPrompt: prompt)?.answer ?? supplied, !prompt.isEmpty,
               prompt.count + truth.count <= task.maxLength + 2 {
                queries.append(AttackQuery(prompt: prompt, answer: truth))
            } else {
                invalid += 1
            }
        }
        return (Array(queries.prefix(count)), invalid + max(0, queries.count - count))
    }

    func observe(_ results: LuaValue) throws {
        if attacker.has("observe") { _ = try attacker.call("observe", [results]) }
    }

    /// Scores every item with `score_batch` when the critic has it, else `score` per item.
    func score(_ items: [LuaValue]) throws -> [CriticVerdict] {
        if critic.has("score_batch") {
            let out = try critic.call("score_batch", [.table(LuaTable(array: items))])
            guard let list = out.first?.table, list.hash.isEmpty, list.array.count == items.count else {
                throw Self.invalid(critic, "score_batch", "must return a list of \(items.count) verdicts")
            }
            return try list.array.enumerated().map { try verdict($1, "score_batch", index: $0 + 1) }
        }
        return try items.map { try verdict(try critic.call("score", [$0]).first ?? .nil, "score", index: nil) }
    }

    private func verdict(_ v: LuaValue, _ function: String, index: Int?) throws -> CriticVerdict {
        let at = index.map { "verdict \($0): " } ?? ""
        guard v.table != nil else { throw Self.invalid(critic, function, "\(at)must return a table (got \(v.typeName))") }
        func unit(_ key: String) throws -> Double {
            let x = v[key]
            guard case .integer = x, let d = x.double else {
                guard case .number(let d) = x else {
                    throw Self.invalid(critic, function, "\(at)'\(key)' must be a number in [0, 1] (got \(x.typeName)\(x.text.map { " \"\($0)\"" } ?? ""))")
                }
                guard d.isFinite, (0...1).contains(d) else { throw Self.invalid(critic, function, "\(at)'\(key)' must be in [0, 1] (got \(d))") }
                return d
            }
            guard (0...1).contains(d) else { throw Self.invalid(critic, function, "\(at)'\(key)' must be in [0, 1] (got \(d))") }
            return d
        }
        let score = try unit("score")
        guard let label = v["label"].bool else {
            throw Self.invalid(critic, function, "\(at)'label' must be a boolean (got \(v["label"].typeName))")
        }
        let confidence = v["confidence"].isNil ? 1 : try unit("confidence")
        let critique: String
        switch v["critique"] {
        case .nil: critique = ""
        case .string: critique = v["critique"].text!
        default: throw Self.invalid(critic, function, "\(at)'critique' must be a string (got \(v["critique"].typeName))")
        }
        return CriticVerdict(score: score, label: label, confidence: confidence, critique: critique)
    }

    func decide(item: LuaValue, verdict: CriticVerdict, budget: LuaValue) throws -> Bool {
        let out = try oversight.call("decide", [item, verdict.luaValue, budget])
        guard let b = out.first?.bool else {
            throw Self.invalid(oversight, "decide", "must return a boolean (got \(out.first?.typeName ?? "nothing"))")
        }
        return b
    }
}

import LuaHost

/// What reading a hidden field on an item tells a plugin author.
let hiddenFieldMessages: [String: String] = [
    "answer": "item.answer is hidden: plugins never see the reference answer (DESIGN.md, information boundary); "
        + "a critic that needs it is declared with critic = { plugin = ..., reference = true } and reads item.reference",
    "reference": "item.reference is hidden: only a critic the campaign declares with reference = true receives it",
    "correct": "item.correct is hidden: whether a response is right is known only to the engine and the human oracle",
]

/// A Lua plugin with the state a campaign saves and restores between iterations.
protocol LuaBacked: AnyObject {
    var plugin: Plugin { get }
}

func validation(_ plugin: Plugin, _ function: String, _ message: String) -> PluginError {
    PluginError(plugin: plugin.name, phase: .call, kind: .validation, message: "\(function): \(message)", file: plugin.file)
}

/// An attacker written in Lua: `propose(self, ctx, n)` and optionally `observe(self, results)`
/// (`PluginProtocol.attacker`).
final class LuaAttacker: Attacker, LuaBacked {
    let plugin: Plugin

    init(_ plugin: Plugin) throws {
        self.plugin = plugin
        try SuperalignPlugins.validate(plugin, as: "attacker")
        try plugin.hideFields(hiddenFieldMessages)
    }

    /// `sa.AttackContext`.
    static func contextValue(_ context: AttackContext) -> LuaValue {
        .table(LuaTable(fields: [
            "iteration": .integer(Int64(context.iteration)), "iterations": .integer(Int64(context.iterations)),
            "human_budget_remaining": .integer(Int64(context.humanBudgetRemaining)),
        ]))
    }

    /// `sa.Observation`.
    static func observationValue(_ it: IterationItem) -> LuaValue {
        var f: [String: LuaValue] = [
            "prompt": .text(it.prompt), "response": .text(it.response), "label": .boolean(it.finalLabel),
            "source": .text(it.labelSource), "score": .number(it.verdict.score), "critique": .text(it.verdict.critique),
        ]
        if let h = it.humanLabel { f["human"] = .boolean(h) }
        return .table(LuaTable(fields: f))
    }

    func propose(_ context: AttackContext, count: Int) throws -> [String] {
        let out = try plugin.call("propose", [Self.contextValue(context), .integer(Int64(count))])
        return try Self.prompts(out.first, plugin: plugin)
    }

    /// Validates what `propose` returned: a list of prompts, each a string or a table with a
    /// string `prompt` and no `answer`.
    static func prompts(_ value: LuaValue?, plugin: Plugin) throws -> [String] {
        guard let list = value?.table, list.hash.isEmpty else {
            throw validation(plugin, "propose", "must return a list of prompts (got \(value?.typeName ?? "nothing"))")
        }
        return try list.array.enumerated().map { i, v in
            switch v {
            case .string: return v.text!
            case .table:
                guard case .string = v["prompt"], let p = v["prompt"].text else {
                    throw validation(plugin, "propose", "query \(i + 1): 'prompt' must be a string (got \(v["prompt"].typeName))")
                }
                if !v["answer"].isNil {
                    throw validation(plugin, "propose", "query \(i + 1) has an 'answer': attackers propose prompts only; "
                                     + "the task computes the answer")
                }
                return p
            default:
                throw validation(plugin, "propose", "query \(i + 1) must be a string or a table with 'prompt' (got \(v.typeName))")
            }
        }
    }

    func observe(_ items: [IterationItem]) throws {
        guard plugin.has("observe") else { return }
        _ = try plugin.call("observe", [.table(LuaTable(array: items.map(Self.observationValue)))])
    }
}

/// A critic written in Lua: `score_batch(self, items)` when it has one, else `score(self, item)`
/// (`PluginProtocol.critic`).
final class LuaCritic: Critic, LuaBacked {
    let plugin: Plugin
    let usesReference: Bool
    var name: String { plugin.name }

    init(_ plugin: Plugin, reference: Bool) throws {
        self.plugin = plugin
        usesReference = reference
        try SuperalignPlugins.validate(plugin, as: "critic")
        try plugin.hideFields(reference ? hiddenFieldMessages.filter { $0.key != "reference" } : hiddenFieldMessages)
    }

    func score(_ items: [IterationItem], samples: [(item: Int, sample: Int)]) throws -> [CriticVerdict] {
        let views = samples.map { items[$0.item].pluginView(sample: $0.sample, reference: usesReference) }
        return plugin.has("score_batch") ? try scoreBatch(views) : try scoreEach(views)
    }

    /// `score_batch` on all the views in one call.
    func scoreBatch(_ views: [LuaValue]) throws -> [CriticVerdict] {
        let out = try plugin.call("score_batch", [.table(LuaTable(array: views))])
        return try Self.verdicts(out.first, count: views.count, plugin: plugin)
    }

    /// `score` on each view.
    func scoreEach(_ views: [LuaValue]) throws -> [CriticVerdict] {
        try views.map { try Self.verdict(try plugin.call("score", [$0]).first ?? .nil, plugin: plugin, function: "score", index: nil) }
    }

    /// Validates what `score_batch` returned: a list of `count` verdicts (any length when nil).
    static func verdicts(_ value: LuaValue?, count: Int?, plugin: Plugin) throws -> [CriticVerdict] {
        guard let list = value?.table, list.hash.isEmpty, count == nil || list.array.count == count else {
            throw validation(plugin, "score_batch", count.map { "must return a list of \($0) verdicts" } ?? "must return a list of verdicts")
        }
        return try list.array.enumerated().map { try verdict($1, plugin: plugin, function: "score_batch", index: $0 + 1) }
    }

    /// Validates one verdict by the rules of `PluginProtocol.verdictResult`.
    static func verdict(_ v: LuaValue, plugin: Plugin, function: String, index: Int?) throws -> CriticVerdict {
        let at = index.map { "verdict \($0): " } ?? ""
        guard v.table != nil else { throw validation(plugin, function, "\(at)must return a table (got \(v.typeName))") }
        var fields: [String: LuaValue] = [:]
        for field in PluginProtocol.verdictResult.fields {
            do { fields[field.name] = try PluginProtocol.validate(v[field.name], field) } catch let e as PluginProtocol.Violation {
                throw validation(plugin, function, at + e.message)
            }
        }
        return CriticVerdict(score: fields["score"]!.double!, label: fields["label"]!.bool!,
                             confidence: fields["confidence"]!.double!, critique: fields["critique"]!.text!, critic: plugin.name)
    }
}

/// An oversight policy written in Lua: `decide_batch(self, items, verdicts, budget)` → indices
/// when it has one, else `decide(self, item, verdict, budget)` per item (`PluginProtocol.oversight`).
final class LuaOversight: OversightPolicy, LuaBacked {
    let plugin: Plugin

    init(_ plugin: Plugin) throws {
        self.plugin = plugin
        try SuperalignPlugins.validate(plugin, as: "oversight")
        try plugin.hideFields(hiddenFieldMessages)
    }

    /// `sa.Verdict`: the item's verdict with the second and later critics' as `others`.
    static func verdictValue(_ item: IterationItem) -> LuaValue {
        guard case .table(var t) = item.verdict.luaValue else { return .nil }
        let others = item.sampleVerdicts[item.chosen].dropFirst().map(\.luaValue)
        t = LuaTable(fields: t.fields.merging(["others": .table(LuaTable(array: Array(others)))]) { $1 })
        return .table(t)
    }

    /// `sa.Budget`.
    static func budgetValue(_ b: BudgetView) -> LuaValue {
        .table(LuaTable(fields: [
            "remaining": .integer(Int64(b.remaining)), "spent": .integer(Int64(b.spent)), "total": .integer(Int64(b.total)),
            "iteration": .integer(Int64(b.iteration)), "iterations": .integer(Int64(b.iterations)),
        ]))
    }

    func select(_ items: [IterationItem], budget: BudgetView, buy: (Int) throws -> BudgetView?) throws {
        if plugin.has("decide_batch") {
            for i in try decideBatch(items, budget: budget) where try buy(i) == nil { break }
            return
        }
        // Per item, in order: the policy sees the budget as it stands after the labels bought so far.
        var view = budget
        for (i, item) in items.enumerated() {
            if try decide(item, budget: view), let after = try buy(i) { view = after }
        }
    }

    /// `decide_batch` on all the items: the 0-based indices to label, most wanted first.
    func decideBatch(_ items: [IterationItem], budget: BudgetView) throws -> [Int] {
        let views = items.map { $0.pluginView(sample: $0.chosen, reference: false) }
        let out = try plugin.call("decide_batch", [.table(LuaTable(array: views)),
                                                   .table(LuaTable(array: items.map(Self.verdictValue))), Self.budgetValue(budget)])
        return try Self.indices(out.first, count: items.count, plugin: plugin)
    }

    /// `decide` on one item.
    func decide(_ item: IterationItem, budget: BudgetView) throws -> Bool {
        let out = try plugin.call("decide", [item.pluginView(sample: item.chosen, reference: false), Self.verdictValue(item),
                                             Self.budgetValue(budget)])
        return try Self.decision(out.first, plugin: plugin)
    }

    /// Validates what `decide_batch` returned: distinct indices in 1...count (returned 0-based).
    static func indices(_ value: LuaValue?, count: Int, plugin: Plugin) throws -> [Int] {
        guard let list = value?.table, list.hash.isEmpty else {
            throw validation(plugin, "decide_batch", "must return a list of item indices (got \(value?.typeName ?? "nothing"))")
        }
        var seen = Set<Int>()
        return try list.array.enumerated().map { k, v in
            guard let i = v.int, (1...max(1, count)).contains(i), count > 0 else {
                throw validation(plugin, "decide_batch", "entry \(k + 1) must be an item index in 1...\(count) (got \(v.typeName))")
            }
            guard seen.insert(i).inserted else { throw validation(plugin, "decide_batch", "item \(i) is listed twice") }
            return i - 1
        }
    }

    /// Validates what `decide` returned: a boolean.
    static func decision(_ value: LuaValue?, plugin: Plugin) throws -> Bool {
        guard let ask = value?.bool else {
            throw validation(plugin, "decide", "must return a boolean (got \(value?.typeName ?? "nothing"))")
        }
        return ask
    }
}

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

/// An attacker written in Lua: `propose(self, ctx, n)` and optionally `observe(self, results)`.
final class LuaAttacker: Attacker, LuaBacked {
    let plugin: Plugin

    init(_ plugin: Plugin) throws {
        self.plugin = plugin
        try plugin.hideFields(hiddenFieldMessages)
    }

    func propose(_ context: AttackContext, count: Int) throws -> [String] {
        let ctx = LuaValue.table(LuaTable(fields: [
            "iteration": .integer(Int64(context.iteration)), "iterations": .integer(Int64(context.iterations)),
            "human_budget_remaining": .integer(Int64(context.humanBudgetRemaining)),
        ]))
        let out = try plugin.call("propose", [ctx, .integer(Int64(count))])
        guard let list = out.first?.table, list.hash.isEmpty else {
            throw validation(plugin, "propose", "must return a list of prompts (got \(out.first?.typeName ?? "nothing"))")
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
        let results = LuaValue.table(LuaTable(array: items.map { it in
            var f: [String: LuaValue] = [
                "prompt": .text(it.prompt), "response": .text(it.response), "label": .boolean(it.finalLabel),
                "source": .text(it.labelSource), "score": .number(it.verdict.score), "critique": .text(it.verdict.critique),
            ]
            if let h = it.humanLabel { f["human"] = .boolean(h) }
            return .table(LuaTable(fields: f))
        }))
        _ = try plugin.call("observe", [results])
    }
}

/// A critic written in Lua: `score_batch(self, items)` when it has one, else `score(self, item)`.
final class LuaCritic: Critic, LuaBacked {
    let plugin: Plugin
    let usesReference: Bool
    var name: String { plugin.name }

    init(_ plugin: Plugin, reference: Bool) throws {
        self.plugin = plugin
        usesReference = reference
        try plugin.hideFields(reference ? hiddenFieldMessages.filter { $0.key != "reference" } : hiddenFieldMessages)
    }

    func score(_ items: [IterationItem], samples: [(item: Int, sample: Int)]) throws -> [CriticVerdict] {
        let views = samples.map { items[$0.item].pluginView(sample: $0.sample, reference: usesReference) }
        if plugin.has("score_batch") {
            let out = try plugin.call("score_batch", [.table(LuaTable(array: views))])
            guard let list = out.first?.table, list.hash.isEmpty, list.array.count == views.count else {
                throw validation(plugin, "score_batch", "must return a list of \(views.count) verdicts")
            }
            return try list.array.enumerated().map { try verdict($1, "score_batch", index: $0 + 1) }
        }
        return try views.map { try verdict(try plugin.call("score", [$0]).first ?? .nil, "score", index: nil) }
    }

    private func verdict(_ v: LuaValue, _ function: String, index: Int?) throws -> CriticVerdict {
        let at = index.map { "verdict \($0): " } ?? ""
        guard v.table != nil else { throw validation(plugin, function, "\(at)must return a table (got \(v.typeName))") }
        func unit(_ key: String) throws -> Double {
            let x = v[key]
            let d: Double
            switch x {
            case .integer(let i): d = Double(i)
            case .number(let n): d = n
            default:
                throw validation(plugin, function, "\(at)'\(key)' must be a number in [0, 1] (got \(x.typeName)\(x.text.map { " \"\($0)\"" } ?? ""))")
            }
            guard d.isFinite, (0...1).contains(d) else { throw validation(plugin, function, "\(at)'\(key)' must be in [0, 1] (got \(d))") }
            return d
        }
        let score = try unit("score")
        guard let label = v["label"].bool else {
            throw validation(plugin, function, "\(at)'label' must be a boolean (got \(v["label"].typeName))")
        }
        let confidence = v["confidence"].isNil ? 1 : try unit("confidence")
        let critique: String
        switch v["critique"] {
        case .nil: critique = ""
        case .string: critique = v["critique"].text!
        default: throw validation(plugin, function, "\(at)'critique' must be a string (got \(v["critique"].typeName))")
        }
        return CriticVerdict(score: score, label: label, confidence: confidence, critique: critique, critic: plugin.name)
    }
}

/// An oversight policy written in Lua: `decide_batch(self, items, verdicts, budget)` → indices
/// when it has one, else `decide(self, item, verdict, budget)` per item.
final class LuaOversight: OversightPolicy, LuaBacked {
    let plugin: Plugin

    init(_ plugin: Plugin) throws {
        self.plugin = plugin
        try plugin.hideFields(hiddenFieldMessages)
    }

    static func verdictValue(_ item: IterationItem) -> LuaValue {
        guard case .table(var t) = item.verdict.luaValue else { return .nil }
        let others = item.sampleVerdicts[item.chosen].dropFirst().map(\.luaValue)
        t = LuaTable(fields: t.fields.merging(["others": .table(LuaTable(array: Array(others)))]) { $1 })
        return .table(t)
    }

    static func budgetValue(_ b: BudgetView) -> LuaValue {
        .table(LuaTable(fields: [
            "remaining": .integer(Int64(b.remaining)), "spent": .integer(Int64(b.spent)), "total": .integer(Int64(b.total)),
            "iteration": .integer(Int64(b.iteration)), "iterations": .integer(Int64(b.iterations)),
        ]))
    }

    func select(_ items: [IterationItem], budget: BudgetView, buy: (Int) throws -> BudgetView?) throws {
        if plugin.has("decide_batch") {
            let views = items.map { $0.pluginView(sample: $0.chosen, reference: false) }
            let out = try plugin.call("decide_batch", [.table(LuaTable(array: views)),
                                                       .table(LuaTable(array: items.map(Self.verdictValue))), Self.budgetValue(budget)])
            guard let list = out.first?.table, list.hash.isEmpty else {
                throw validation(plugin, "decide_batch", "must return a list of item indices (got \(out.first?.typeName ?? "nothing"))")
            }
            var seen = Set<Int>()
            let indices: [Int] = try list.array.enumerated().map { k, v in
                guard let i = v.int, (1...max(1, items.count)).contains(i), !items.isEmpty else {
                    throw validation(plugin, "decide_batch", "entry \(k + 1) must be an item index in 1...\(items.count) (got \(v.typeName))")
                }
                guard seen.insert(i).inserted else { throw validation(plugin, "decide_batch", "item \(i) is listed twice") }
                return i - 1
            }
            for i in indices where try buy(i) == nil { break }
            return
        }
        // Per item, in order: the policy sees the budget as it stands after the labels bought so far.
        var view = budget
        for (i, item) in items.enumerated() {
            let out = try plugin.call("decide", [item.pluginView(sample: item.chosen, reference: false), Self.verdictValue(item),
                                                 Self.budgetValue(view)])
            guard let ask = out.first?.bool else {
                throw validation(plugin, "decide", "must return a boolean (got \(out.first?.typeName ?? "nothing"))")
            }
            if ask, let after = try buy(i) { view = after }
        }
    }
}

import Foundation
import LuaHost
import Tensor

/// Exercises one plugin outside a campaign with the campaign's own adapters, so that
/// `superalign plugins check`, `exec` and `test` accept and refuse exactly what `run` does.
///
/// ```swift
/// let context = PluginContext(task: task, seed: 1, learner: PluginHarness.StandInLearner(task: task, seed: 1))
/// let plugin = try Plugin.load(file: url, options: Plugin.Options(seed: 1, kinds: SuperalignPlugins.kinds,
///                              prepare: { SuperalignAPI.make(context: context).install(into: $0) }))
/// try PluginHarness.check(plugin)
/// let report = PluginHarness.test(plugin, task: task, seed: 1)
/// ```
public enum PluginHarness {
    // MARK: check

    /// What a campaign checks of a loaded plugin beyond its kind's functions: `params` is a table
    /// of named values, and `name` is the file's name (plugins are found by file name).
    public static func check(_ plugin: Plugin) throws {
        try SuperalignPlugins.validate(plugin)
        func invalid(_ message: String) -> PluginError {
            PluginError(plugin: plugin.name, phase: .load, kind: .validation, message: message, file: plugin.file)
        }
        let params: LuaValue
        do { params = try plugin.params } catch {
            throw invalid("'params' must be a table of named values (\(error))")
        }
        guard let table = params.table else { throw invalid("'params' must be a table of named values (got \(params.typeName))") }
        if !table.array.isEmpty {
            throw invalid("'params' must be a table of named values (got \(table.array.count) list entries)")
        }
        if let bad = table.hash.first(where: { if case .string = $0.key { return false } else { return true } }) {
            throw invalid("'params' must be a table of named values (got a \(bad.key.typeName) key)")
        }
        let leaf = (plugin.file as NSString).lastPathComponent
        let expected = leaf.hasSuffix(".lua") ? String(leaf.dropLast(4)) : leaf
        if expected != plugin.name {
            throw invalid("the plugin's name is '\(plugin.name)' but its file is \(expected).lua; "
                          + "a plugin is found by its file name, so they must match")
        }
    }

    // MARK: exec

    /// Makes reading `answer`, `correct` or `reference` on a record passed to the plugin an error,
    /// as in a campaign (`reference`: a reference-based critic reads it when it is passed).
    public static func guardBoundary(_ plugin: Plugin) throws {
        try plugin.hideFields(hiddenFieldMessages)
    }

    /// Validates what `plugin[function]` returned for `input` as a campaign would: a critic's
    /// verdicts, an oversight policy's decision or indices, an attacker's prompts. Functions
    /// the protocol does not define, and `observe`, are not checked.
    public static func validate(_ results: [LuaValue], of function: String, plugin: Plugin, input: LuaValue) throws {
        let value = results.first
        switch (plugin.kind, function) {
        case ("attacker", "propose"):
            _ = try LuaAttacker.prompts(value, plugin: plugin)
        case ("critic", "score"):
            _ = try LuaCritic.verdict(value ?? .nil, plugin: plugin, function: "score", index: nil)
        case ("critic", "score_batch"):
            let count = input.table.flatMap { $0.hash.isEmpty ? $0.array.count : nil }
            _ = try LuaCritic.verdicts(value, count: count, plugin: plugin)
        case ("oversight", "decide"):
            _ = try LuaOversight.decision(value, plugin: plugin)
        case ("oversight", "decide_batch"):
            _ = try LuaOversight.indices(value, count: input.table?.array.count ?? 0, plugin: plugin)
        default:
            break
        }
    }

    // MARK: test

    /// One call the harness made.
    public struct Call: Sendable {
        public var function: String
        /// The arguments, in short.
        public var arguments: String
        /// The validated result, in short.
        public var result: String
        /// What the function returned (its first result).
        public var value: LuaValue
    }

    /// What `test` did: the calls in order, notes on them, and the first error (after which it stops).
    public struct Report: Sendable {
        public var kind: String
        public var name: String
        public var calls: [Call] = []
        public var notes: [String] = []
        public var failure: PluginError?
        public var ok: Bool { failure == nil }
    }

    /// How many queries, items and human labels the harness uses.
    public static let queries = 8
    public static let humanBudget = 3

    /// Calls each function of `plugin`'s kind with arguments built from `task`, through the
    /// adapters a campaign uses (so results are validated the same way): an attacker's
    /// `propose(ctx, 8)` then `observe` with made-up results; a critic's `score` on 8 responses
    /// (right and wrong in turn) and `score_batch`; an oversight policy's `decide` on 8 items
    /// and `decide_batch`, with a human budget of 3. `reference`: pass the reference answer to
    /// a critic (a critic the campaign declares with `reference = true`).
    public static func test(_ plugin: Plugin, task: any ProblemTask, seed: UInt64, reference: Bool = false) -> Report {
        var report = Report(kind: plugin.kind, name: plugin.name)
        do {
            try check(plugin)
            var rng = RandomGenerator(seed: mixSeed(seed, 0x7e57, 0))
            switch plugin.kind {
            case "attacker": try testAttacker(plugin, task: task, rng: &rng, into: &report)
            case "critic": try testCritic(plugin, task: task, rng: &rng, reference: reference, into: &report)
            default: try testOversight(plugin, task: task, rng: &rng, into: &report)
            }
        } catch let error as PluginError {
            report.failure = error
            if plugin.kind == "critic", !reference, error.phase == .call, error.kind == .runtime {
                report.notes.append("a reference-based critic fails without the reference: try --reference")
            }
        } catch {
            report.failure = PluginError(plugin: plugin.name, phase: .call, kind: .runtime, message: "\(error)", file: plugin.file)
        }
        return report
    }

    static func testAttacker(_ plugin: Plugin, task: any ProblemTask, rng: inout RandomGenerator, into report: inout Report) throws {
        _ = try LuaAttacker(plugin) // checks the kind and guards the boundary
        let context = AttackContext(iteration: 1, iterations: 4, humanBudgetRemaining: humanBudget)
        let args = "ctx (iteration 1 of 4, \(humanBudget) human labels left), n = \(queries)"
        let raw = try plugin.call("propose", [LuaAttacker.contextValue(context), .integer(Int64(queries))])
        let prompts = try LuaAttacker.prompts(raw.first, plugin: plugin)
        var problems: [Problem] = []
        for prompt in prompts {
            guard problems.count < queries, !prompt.isEmpty, let p = task.problem(forPrompt: prompt),
                  p.prompt.count + p.answer.count <= task.maxLength + 2 else { continue }
            problems.append(p)
        }
        let shown = prompts.prefix(3).map { "\"\($0)\"" }.joined(separator: ", ") + (prompts.count > 3 ? ", …" : "")
        report.calls.append(Call(function: "propose", arguments: args,
                                 result: "\(prompts.count) prompts (\(problems.count) accepted): \(shown)",
                                 value: raw.first ?? .nil))
        report.notes.append("\(problems.count) of \(prompts.count) proposed prompts are problems of the task '\(task.name)'"
                            + (prompts.count > queries ? " (a campaign ignores those past n = \(queries))" : ""))
        guard !problems.isEmpty else {
            throw validation(plugin, "propose", "none of the \(prompts.count) prompts is a problem of the task '\(task.name)' "
                             + "(a campaign stops: the attacker proposed no usable query)")
        }
        guard plugin.has("observe") else {
            report.notes.append("no observe function: the attacker does not learn from results")
            return
        }
        // Made-up results: right and wrong answers in turn; the critic is wrong on the fourth;
        // the first is labelled by a human.
        var items = makeItems(problems, rng: &rng)
        for j in items.indices {
            let right = items[j].greedyCorrect
            let mistaken = j == 3
            let label = mistaken ? !right : right
            let v = CriticVerdict(score: label ? 0.9 : 0.2, label: label, confidence: 0.8, critique: label ? "looks right" : "looks wrong",
                                  critic: "harness")
            items[j].sampleVerdicts = [[v]]
            items[j].sampleAggregates = [v]
            if j == 0 { items[j].escalated = true; items[j].humanLabel = right }
        }
        let results = LuaValue.table(LuaTable(array: items.map(LuaAttacker.observationValue)))
        let out = try plugin.call("observe", [results])
        report.calls.append(Call(function: "observe", arguments: "\(items.count) results (\(items.filter(\.greedyCorrect).count) right, 1 human label)",
                                 result: out.isEmpty ? "returned nothing" : "returned \(short(out[0]))", value: out.first ?? .nil))
    }

    static func testCritic(_ plugin: Plugin, task: any ProblemTask, rng: inout RandomGenerator, reference: Bool,
                           into report: inout Report) throws {
        _ = try LuaCritic(plugin, reference: reference) // checks the kind and guards the boundary
        let items = makeItems(task.sample(queries, &rng, from: .standard), rng: &rng)
        let views = items.map { $0.pluginView(sample: 0, reference: reference) }
        var agree = 0
        for (item, view) in zip(items, views) {
            let raw = try plugin.call("score", [view])
            let v = try LuaCritic.verdict(raw.first ?? .nil, plugin: plugin, function: "score", index: nil)
            if v.label == item.greedyCorrect { agree += 1 }
            report.calls.append(Call(function: "score", arguments: "\(item.prompt) \(item.greedy.text) (\(item.greedyCorrect ? "right" : "wrong"))",
                                     result: describe(v), value: raw.first ?? .nil))
        }
        report.notes.append("score: labels agree with the truth on \(agree) of \(items.count) responses"
                            + (reference ? " (reference passed)" : " (no reference; --reference passes it)"))
        guard plugin.has("score_batch") else { return }
        let raw = try plugin.call("score_batch", [.table(LuaTable(array: views))])
        let batch = try LuaCritic.verdicts(raw.first, count: views.count, plugin: plugin)
        let batchAgree = zip(items, batch).filter { $0.greedyCorrect == $1.label }.count
        report.calls.append(Call(function: "score_batch", arguments: "the same \(items.count) items",
                                 result: "\(batch.count) verdicts; labels agree with the truth on \(batchAgree)", value: raw.first ?? .nil))
    }

    static func testOversight(_ plugin: Plugin, task: any ProblemTask, rng: inout RandomGenerator, into report: inout Report) throws {
        let policy = try LuaOversight(plugin)
        var items = makeItems(task.sample(queries, &rng, from: .standard), rng: &rng)
        // Made-up verdicts: mostly right, unsure on some, confidently wrong on one.
        for j in items.indices {
            let right = items[j].greedyCorrect
            let mistaken = j == 5
            let label = mistaken ? !right : right
            let confidence = [0.95, 0.55, 0.9, 0.6, 0.85, 0.9, 0.5, 0.99][j % 8]
            let v = CriticVerdict(score: label ? confidence : 1 - confidence, label: label, confidence: confidence,
                                  critique: label ? "looks right" : "looks wrong", critic: "harness")
            items[j].sampleVerdicts = [[v]]
            items[j].sampleAggregates = [v]
        }
        var budget = BudgetView(remaining: humanBudget, spent: 0, total: humanBudget, iteration: 1, iterations: 4)
        var asked: [Int] = []
        for (j, item) in items.enumerated() {
            let args = "\(j + 1): \(item.prompt) \(item.response) (\(item.greedyCorrect ? "right" : "wrong")); critic \(item.verdict.label) "
                + "at \(number(item.verdict.confidence)); budget \(budget.remaining)/\(budget.total)"
            let raw = try plugin.call("decide", [item.pluginView(sample: item.chosen, reference: false),
                                                 LuaOversight.verdictValue(item), LuaOversight.budgetValue(budget)])
            let ask = try LuaOversight.decision(raw.first, plugin: plugin)
            var result = ask ? "true" : "false"
            if ask {
                asked.append(j + 1)
                if budget.remaining > 0 { budget.remaining -= 1; budget.spent += 1 } else { result += " (no budget left: not bought)" }
            }
            report.calls.append(Call(function: "decide", arguments: args, result: result, value: raw.first ?? .nil))
        }
        report.notes.append("decide asked for items \(list(asked)) with a budget of \(humanBudget)")
        guard plugin.has("decide_batch") else { return }
        let full = BudgetView(remaining: humanBudget, spent: 0, total: humanBudget, iteration: 1, iterations: 4)
        let indices = try policy.decideBatch(items, budget: full).map { $0 + 1 }
        report.calls.append(Call(function: "decide_batch", arguments: "the same \(items.count) items and verdicts, budget \(humanBudget) of \(humanBudget)",
                                 result: "items \(list(indices))" + (indices.count > humanBudget ? " (only the first \(humanBudget) are bought)" : ""),
                                 value: .table(LuaTable(array: indices.map { .integer(Int64($0)) }))))
    }

    /// Items for `problems`: right and wrong responses in turn (a wrong one changes the answer's
    /// last character), with plausible log-probabilities.
    static func makeItems(_ problems: [Problem], rng: inout RandomGenerator) -> [IterationItem] {
        problems.enumerated().map { j, p in
            let right = j % 2 == 0
            let text = right ? p.answer : wrongAnswer(p.answer)
            let logprob = right ? -0.05 - 0.3 * rng.uniformDouble() : -0.7 - 2 * rng.uniformDouble()
            var item = IterationItem(position: j, prompt: p.prompt, reference: p.answer, partition: .eval, features: p.features,
                                     greedy: ResponseSample(text: text, logprob: logprob), greedyCorrect: right,
                                     samples: [ResponseSample(text: text, logprob: logprob)])
            item.sampleCorrect = [right]
            let v = CriticVerdict(score: right ? 1 : 0, label: right, confidence: 1, critique: "", critic: "harness")
            item.sampleVerdicts = [[v]]
            item.sampleAggregates = [v]
            return item
        }
    }

    /// The answer with its last character changed (a digit to the next digit).
    static func wrongAnswer(_ answer: String) -> String {
        guard let last = answer.last else { return "0" }
        if let d = last.wholeNumberValue, last.isASCII { return String(answer.dropLast()) + String((d + 1) % 10) }
        return answer + String(last)
    }

    static func number(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e9 ? String(Int(x)) : String(format: "%.2f", x) }

    static func describe(_ v: CriticVerdict) -> String {
        let n = number
        let critique = v.critique.count > 40 ? String(v.critique.prefix(39)) + "…" : v.critique
        return "score \(n(v.score)), label \(v.label), confidence \(n(v.confidence))" + (critique.isEmpty ? "" : ", \"\(critique)\"")
    }

    static func list(_ xs: [Int]) -> String { xs.isEmpty ? "none" : xs.map(String.init).joined(separator: ", ") }

    static func short(_ v: LuaValue) -> String {
        let text = (try? v.jsonText()) ?? v.typeName
        return text.count > 60 ? String(text.prefix(59)) + "…" : text
    }

    // MARK: A stand-in learner

    /// A learner for trying plugins outside a campaign (no model is trained): its greedy answer
    /// is the task's answer three times in four (which ones depends on the prompt and the seed),
    /// else the answer with its last character changed; its confidence is high when it is right.
    public final class StandInLearner: LearnerProbe {
        let task: any ProblemTask
        let seed: UInt64

        public init(task: any ProblemTask, seed: UInt64) {
            self.task = task
            self.seed = seed
        }

        private func draw(_ prompt: String, _ salt: UInt64) -> Double {
            var h = mixSeed(seed, salt, 0)
            for b in prompt.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
            return Double(mixSeed(h, salt, 1) >> 11) / Double(1 << 53)
        }

        func answer(_ prompt: String) -> (text: String, confidence: Double) {
            let truth = task.problem(forPrompt: prompt)?.answer ?? "0"
            let right = draw(prompt, 1) < 0.75
            let confidence = right ? 0.6 + 0.39 * draw(prompt, 2) : 0.2 + 0.5 * draw(prompt, 2)
            return (right ? truth : PluginHarness.wrongAnswer(truth), confidence)
        }

        public func generate(prompts: [String], samples: Int, temperature: Double, topK: Int, maxTokens: Int) throws
            -> [[(text: String, logprob: Double)]] {
            prompts.map { p in
                let (text, confidence) = answer(p)
                return (0..<samples).map { k in
                    k == 0 || temperature == 0 ? (text, log(confidence))
                        : (PluginHarness.wrongAnswer(text), log(max(1e-6, (1 - confidence) / Double(samples))))
                }
            }
        }

        public func logprob(prompts: [String], completions: [String]) throws -> [Double] {
            zip(prompts, completions).map { p, c in
                let (text, confidence) = answer(p)
                return c == text ? log(confidence) : log(max(1e-6, (1 - confidence) / 4)) - Double(abs(c.count - text.count))
            }
        }

        public func confidence(prompts: [String]) throws -> [Double] { prompts.map { answer($0).confidence } }
    }
}

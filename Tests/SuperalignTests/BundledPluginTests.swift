import XCTest
import LuaHost
import Superalign
import Tensor
import TestSupport

/// A scripted learner for plugin tests: answers with fixed log-probabilities so a plugin's
/// use of them can be checked.
final class ScriptedLearner: LearnerProbe {
    var logprobByPrompt: [String: Double] = [:]
    var calls = 0
    func generate(prompts: [String], samples: Int, temperature: Double, topK: Int, maxTokens: Int) throws
        -> [[(text: String, logprob: Double)]] {
        calls += 1
        return prompts.map { _ in (0..<samples).map { _ in ("0", -1.0) } }
    }
    func logprob(prompts: [String], completions: [String]) throws -> [Double] {
        calls += 1
        return prompts.map { logprobByPrompt[$0] ?? -Double($0.count) }
    }
    func confidence(prompts: [String]) throws -> [Double] { prompts.map { _ in 0.5 } }
}

func loadBundled(_ path: String, task: any ProblemTask, seed: UInt64 = 1,
                 learner: LearnerProbe? = nil) throws -> Plugin {
    let url = TestSupport.repositoryRoot.appendingPathComponent("Plugins/\(path)")
    let context = PluginContext(task: task, seed: seed, learner: learner)
    return try Plugin.load(file: url, options: Plugin.Options(seed: seed, prepare: { state in
        SuperalignAPI.make(context: context).install(into: state)
    }))
}

func queries(_ value: LuaValue) -> [(prompt: String, answer: String)] {
    (value.table?.array ?? []).map { ($0["prompt"].text ?? "", $0["answer"].text ?? "") }
}

final class BundledPluginTests: XCTestCase {
    let addition = try! AdditionTask(digits: 3)

    func testEveryBundledPluginLoads() throws {
        let dir = TestSupport.repositoryRoot.appendingPathComponent("Plugins")
        var count = 0
        for kind in ["attackers", "critics", "oversight"] {
            for file in try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent(kind).path)
            where file.hasSuffix(".lua") {
                let plugin = try loadBundled("\(kind)/\(file)", task: addition)
                XCTAssertEqual(plugin.name + ".lua", file)
                count += 1
            }
        }
        XCTAssertGreaterThanOrEqual(count, 13)
    }

    func testRandomAttackerProposesTaskProblemsDeterministically() throws {
        let a = try loadBundled("attackers/random.lua", task: addition, seed: 4)
        let b = try loadBundled("attackers/random.lua", task: addition, seed: 4)
        let qa = queries(try a.call("propose", [.table(LuaTable()), 20])[0])
        let qb = queries(try b.call("propose", [.table(LuaTable()), 20])[0])
        XCTAssertEqual(qa.count, 20)
        XCTAssertEqual(qa.map(\.prompt), qb.map(\.prompt))
        for q in qa { XCTAssertEqual(addition.problem(forPrompt: q.prompt)?.answer, q.answer) }
    }

    func testCarryChainAttackerMakesLongCarryChains() throws {
        let plugin = try loadBundled("attackers/carry_chain.lua", task: addition)
        plugin.setParams(["min_chain": 3])
        let qs = queries(try plugin.call("propose", [.table(LuaTable()), 30])[0])
        XCTAssertEqual(qs.count, 30)
        var rng = RandomGenerator(seed: 9)
        let baseline = addition.sample(300, &rng).map { $0.features["longest_carry_chain"]! }
        let baselineMean = baseline.reduce(0, +) / Double(baseline.count)
        for q in qs {
            let p = try XCTUnwrap(addition.problem(forPrompt: q.prompt))
            XCTAssertGreaterThanOrEqual(p.features["longest_carry_chain"]!, 3, q.prompt)
            XCTAssertEqual(p.answer, q.answer)
        }
        XCTAssertLessThan(baselineMean, 2)
    }

    func testBoundaryAttackerHitsTheEdges() throws {
        let plugin = try loadBundled("attackers/boundary.lua", task: addition)
        let qs = queries(try plugin.call("propose", [.table(LuaTable()), 60])[0])
        XCTAssertEqual(qs.count, 60)
        let operands = qs.flatMap { $0.prompt.dropLast().split(separator: "+").map { Int($0)! } }
        XCTAssertTrue(operands.contains(999))
        XCTAssertTrue(operands.contains(0))
        for q in qs { XCTAssertEqual(addition.problem(forPrompt: q.prompt)?.answer, q.answer) }
    }

    func testMutateFailuresEvolvesFromObservedFailures() throws {
        let plugin = try loadBundled("attackers/mutate_failures.lua", task: addition)
        plugin.setParams(["explore": 0.0])
        let failure = LuaValue.table(LuaTable(fields: ["prompt": "599+401=", "correct": false]))
        let success = LuaValue.table(LuaTable(fields: ["prompt": "1+1=", "correct": true]))
        _ = try plugin.call("observe", [.table(LuaTable(array: [failure, success]))])
        let qs = queries(try plugin.call("propose", [.table(LuaTable()), 40])[0])
        XCTAssertEqual(qs.count, 40)
        // every query is a one-step mutation of the failure: small edit distance, never the success
        for q in qs {
            XCTAssertNotEqual(q.prompt, "1+1=")
            XCTAssertLessThanOrEqual(editDistance(q.prompt, "599+401="), 7, q.prompt)
            XCTAssertEqual(addition.problem(forPrompt: q.prompt)?.answer, q.answer)
        }
    }

    func testLearnerGuidedKeepsLowestLogProbabilityCandidates() throws {
        let learner = ScriptedLearner()
        let plugin = try loadBundled("attackers/learner_guided.lua", task: addition, learner: learner)
        plugin.setParams(["candidates": 5])
        let qs = queries(try plugin.call("propose", [.table(LuaTable()), 4])[0])
        XCTAssertEqual(qs.count, 4)
        XCTAssertEqual(learner.calls, 1, "one batched call, not one per candidate")
        // the scripted log-probability is minus the prompt length: the longest prompts win
        let kept = qs.map(\.prompt.count)
        XCTAssertEqual(kept, kept.sorted(by: >))
    }

    func testLearnerGuidedWithoutLearnerFailsClearly() throws {
        let plugin = try loadBundled("attackers/learner_guided.lua", task: addition)
        XCTAssertThrowsError(try plugin.call("propose", [.table(LuaTable()), 2])) { e in
            XCTAssertTrue("\(e)".contains("no learner is attached"), "\(e)")
        }
    }

    func item(_ prompt: String, _ response: String, _ answer: String) -> LuaValue {
        .table(LuaTable(fields: ["prompt": .text(prompt), "response": .text(response), "answer": .text(answer)]))
    }

    func testExactVerifier() throws {
        let critic = try loadBundled("critics/exact_verifier.lua", task: addition)
        XCTAssertEqual(try critic.call("score", [item("1+2=", " 3", "3")])[0]["label"], true)
        let v = try critic.call("score", [item("1+2=", "4", "3")])[0]
        XCTAssertEqual(v["label"], false)
        XCTAssertEqual(v["score"], 0)
    }

    func testNoisyVerifierFlipsAtItsRate() throws {
        let critic = try loadBundled("critics/noisy_verifier.lua", task: addition, seed: 3)
        critic.setParams(["flip_rate": 0.3])
        var flips = 0
        for _ in 0..<1000 where try critic.call("score", [item("1+2=", "3", "3")])[0]["label"] == false { flips += 1 }
        XCTAssertEqual(Double(flips) / 1000, 0.3, accuracy: 0.05)
    }

    func testDigitRubricGivesPartialCreditAndNamesMissedCarries() throws {
        let critic = try loadBundled("critics/digit_rubric.lua", task: addition)
        let v = try critic.call("score", [item("47+85=", "122", "132")])[0]
        XCTAssertEqual(v["label"], false)
        XCTAssertEqual(v["score"].double!, 2.0 / 3.0, accuracy: 1e-9)
        let critique = try XCTUnwrap(v["critique"].text)
        XCTAssertTrue(critique.contains("position 2"), critique)
        XCTAssertTrue(critique.contains("carry"), critique)
        XCTAssertEqual(try critic.call("score", [item("47+85=", "132", "132")])[0]["score"].double, 1)
    }

    func budget(_ remaining: Int64) -> LuaValue { .table(LuaTable(fields: ["remaining": .integer(remaining)])) }
    func verdict(confidence: Double, label: Bool = true, others: [Bool] = []) -> LuaValue {
        var f: [String: LuaValue] = ["confidence": .number(confidence), "label": .boolean(label)]
        if !others.isEmpty {
            f["others"] = .table(LuaTable(array: others.map { .table(LuaTable(fields: ["label": .boolean($0)])) }))
        }
        return .table(LuaTable(fields: f))
    }

    func testOversightPoliciesRespectTheBudget() throws {
        for name in ["never", "always", "random_budget", "uncertainty_budget", "disagreement"] {
            let policy = try loadBundled("oversight/\(name).lua", task: addition)
            for _ in 0..<20 {
                let ask = try policy.call("decide", [.table(LuaTable()), verdict(confidence: 0.1, others: [false]), budget(0)])
                XCTAssertEqual(ask[0], false, "\(name) asks with no budget left")
            }
        }
        let always = try loadBundled("oversight/always.lua", task: addition)
        XCTAssertEqual(try always.call("decide", [.table(LuaTable()), verdict(confidence: 1), budget(3)])[0], true)
        let never = try loadBundled("oversight/never.lua", task: addition)
        XCTAssertEqual(try never.call("decide", [.table(LuaTable()), verdict(confidence: 0), budget(3)])[0], false)
    }

    func testUncertaintyBudgetPrefersLowConfidence() throws {
        let policy = try loadBundled("oversight/uncertainty_budget.lua", task: addition)
        var askedLow = 0, askedHigh = 0
        for i in 0..<200 {
            let low = i % 2 == 0
            let ask = try policy.call("decide", [.table(LuaTable()), verdict(confidence: low ? 0.3 : 0.95), budget(100)])[0]
            if ask == true { if low { askedLow += 1 } else { askedHigh += 1 } }
        }
        XCTAssertGreaterThan(askedLow, 30)
        XCTAssertEqual(askedHigh, 0)
    }

    func testDisagreementAsksOnlyWhenCriticsDisagree() throws {
        let policy = try loadBundled("oversight/disagreement.lua", task: addition)
        XCTAssertEqual(try policy.call("decide", [.table(LuaTable()), verdict(confidence: 1, label: true, others: [false]), budget(5)])[0], true)
        XCTAssertEqual(try policy.call("decide", [.table(LuaTable()), verdict(confidence: 0.1, label: true, others: [true]), budget(5)])[0], false)
    }

    private func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var prev = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var cur = [i] + [Int](repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where !b.isEmpty {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            prev = cur
        }
        return prev[b.count]
    }
}

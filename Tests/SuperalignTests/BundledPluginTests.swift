import XCTest
import LuaHost
import Superalign
import Tensor
import TestSupport

/// A scripted learner for plugin tests: answers with fixed log-probabilities and confidences so
/// a plugin's use of them can be checked, and records what it was asked.
final class ScriptedLearner: LearnerProbe {
    var logprobByPrompt: [String: Double] = [:]
    var confidenceByPrompt: [String: Double] = [:]
    /// Every call, of any kind.
    var calls = 0
    /// The prompts of each `confidence` call, in order.
    var confidencePrompts: [[String]] = []
    func generate(prompts: [String], samples: Int, temperature: Double, topK: Int, maxTokens: Int) throws
        -> [[(text: String, logprob: Double)]] {
        calls += 1
        return prompts.map { _ in (0..<samples).map { _ in ("0", -1.0) } }
    }
    func logprob(prompts: [String], completions: [String]) throws -> [Double] {
        calls += 1
        return prompts.map { logprobByPrompt[$0] ?? -Double($0.count) }
    }
    func confidence(prompts: [String]) throws -> [Double] {
        calls += 1
        confidencePrompts.append(prompts)
        return prompts.map { confidenceByPrompt[$0] ?? 0.5 }
    }
}

func loadBundled(_ path: String, task: any ProblemTask, seed: UInt64 = 1,
                 learner: LearnerProbe? = nil) throws -> Plugin {
    let url = TestSupport.repositoryRoot.appendingPathComponent("Plugins/\(path)")
    let context = PluginContext(task: task, seed: seed, learner: learner)
    return try Plugin.load(file: url, options: Plugin.Options(seed: seed, kinds: SuperalignPlugins.kinds, prepare: { state in
        SuperalignAPI.make(context: context).install(into: state)
    }))
}

/// The fields the engine keeps from plugins: reading one on an item is an error, as in a campaign.
let boundaryFields: [String: String] = [
    "answer": "test: item.answer is hidden",
    "correct": "test: item.correct is hidden",
    "reference": "test: item.reference is hidden",
]

/// The prompts an attacker proposed; every entry must be a plain string.
func proposedPrompts(_ value: LuaValue, file: StaticString = #filePath, line: UInt = #line) -> [String] {
    guard let list = value.table else {
        XCTFail("propose must return a list (got \(value.typeName))", file: file, line: line)
        return []
    }
    XCTAssertTrue(list.hash.isEmpty, "propose must return a plain list", file: file, line: line)
    return list.array.map { v in
        guard case .string = v, let s = v.text else {
            XCTFail("a proposal must be a prompt string (got \(v.typeName))", file: file, line: line)
            return ""
        }
        return s
    }
}

final class BundledPluginTests: XCTestCase {
    let addition = try! AdditionTask(digits: 3)
    let multiplication = try! MultiplicationTask(digits: 2)
    let attackers = ["random", "boundary", "carry_chain", "learner_guided", "mutate_failures"]
    let policies = ["never", "always", "random_budget", "uncertainty_budget", "disagreement"]

    var ctx: LuaValue {
        .table(LuaTable(fields: ["iteration": 1, "iterations": 4, "human_budget_remaining": 10]))
    }

    // MARK: loading

    func testEveryBundledPluginLoads() throws {
        let dir = TestSupport.repositoryRoot.appendingPathComponent("Plugins")
        var count = 0
        for (folder, kind) in [("attackers", "attacker"), ("critics", "critic"), ("oversight", "oversight")] {
            for file in try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent(folder).path)
            where file.hasSuffix(".lua") {
                let plugin = try loadBundled("\(folder)/\(file)", task: addition)
                XCTAssertEqual(plugin.name + ".lua", file)
                XCTAssertEqual(plugin.kind, kind, file)
                if kind == "oversight" { XCTAssertTrue(plugin.has("decide_batch"), "\(file) has no decide_batch") }
                count += 1
            }
        }
        XCTAssertGreaterThanOrEqual(count, 16)
    }

    // MARK: attackers

    func testAttackersProposeValidPromptsDeterministically() throws {
        for (task, names) in [(addition as any ProblemTask, attackers),
                              (multiplication as any ProblemTask, attackers.filter { $0 != "carry_chain" })] {
            for name in names {
                func propose(seed: UInt64) throws -> [String] {
                    let plugin = try loadBundled("attackers/\(name).lua", task: task, seed: seed, learner: ScriptedLearner())
                    return proposedPrompts(try plugin.call("propose", [ctx, 20])[0])
                }
                let a = try propose(seed: 4), b = try propose(seed: 4), c = try propose(seed: 5)
                XCTAssertEqual(a.count, 20, "\(name) on \(task.name)")
                XCTAssertEqual(a, b, "\(name): same seed, same prompts")
                XCTAssertNotEqual(a, c, "\(name): another seed, other prompts")
                for p in a { XCTAssertNotNil(task.problem(forPrompt: p), "\(name) proposed \(p), not a \(task.name) problem") }
            }
        }
    }

    func testCarryChainAttackerMakesLongCarryChains() throws {
        let plugin = try loadBundled("attackers/carry_chain.lua", task: addition)
        plugin.setParams(["min_chain": 3])
        let qs = proposedPrompts(try plugin.call("propose", [ctx, 30])[0])
        XCTAssertEqual(qs.count, 30)
        var rng = RandomGenerator(seed: 9)
        let baseline = addition.sample(300, &rng).map { $0.features["longest_carry_chain"]! }
        let baselineMean = baseline.reduce(0, +) / Double(baseline.count)
        for q in qs {
            let operands = q.dropLast().split(separator: "+").map { Int($0)! }
            XCTAssertEqual(operands.count, 2, q)
            XCTAssertGreaterThanOrEqual(AdditionTask.carryStatistics(operands[0], operands[1]).longestChain, 3, q)
        }
        XCTAssertLessThan(baselineMean, 2)
    }

    func testBoundaryAttackerHitsTheEdges() throws {
        let plugin = try loadBundled("attackers/boundary.lua", task: addition)
        let qs = proposedPrompts(try plugin.call("propose", [ctx, 60])[0])
        XCTAssertEqual(qs.count, 60)
        let edges: Set<Int> = [0, 1, 9, 100, 998, 999]
        var operands: [Int] = []
        for q in qs {
            let pair = q.dropLast().split(separator: "+").map { Int($0)! }
            XCTAssertTrue(pair.contains { edges.contains($0) }, "\(q) has no edge operand")
            operands += pair
        }
        XCTAssertTrue(operands.contains(999))
        XCTAssertTrue(operands.contains(0))
    }

    func testLearnerGuidedKeepsTheLeastConfidentPromptsInOneCall() throws {
        // First run: learn which candidates the seed draws (one batched call, 4 × 5 prompts).
        let probe = ScriptedLearner()
        let first = try loadBundled("attackers/learner_guided.lua", task: addition, seed: 6, learner: probe)
        first.setParams(["candidates": 5])
        let tied = proposedPrompts(try first.call("propose", [ctx, 4])[0])
        XCTAssertEqual(probe.calls, 1, "one batched call, not one per candidate")
        let candidates = try XCTUnwrap(probe.confidencePrompts.first)
        XCTAssertEqual(candidates.count, 20)
        // every confidence is 0.5: ties go by draw order
        XCTAssertEqual(tied, Array(candidates.prefix(4)))

        // Second run, same seed: four known candidates are the least confident.
        let unique = candidates.filter { p in candidates.filter { $0 == p }.count == 1 }
        guard unique.count >= 14 else { return XCTFail("too many repeated candidates: \(candidates)") }
        let learner = ScriptedLearner()
        learner.confidenceByPrompt = [unique[2]: 0.3, unique[5]: 0.1, unique[9]: 0.2, unique[13]: 0.05]
        let plugin = try loadBundled("attackers/learner_guided.lua", task: addition, seed: 6, learner: learner)
        plugin.setParams(["candidates": 5])
        let kept = proposedPrompts(try plugin.call("propose", [ctx, 4])[0])
        XCTAssertEqual(learner.calls, 1, "one batched call, not one per candidate")
        XCTAssertEqual(learner.confidencePrompts, [candidates])
        XCTAssertEqual(kept, [unique[13], unique[5], unique[9], unique[2]], "least confident first")
    }

    func testLearnerGuidedWithoutLearnerFailsClearly() throws {
        let plugin = try loadBundled("attackers/learner_guided.lua", task: addition)
        XCTAssertThrowsError(try plugin.call("propose", [ctx, 2])) { e in
            XCTAssertTrue("\(e)".contains("no learner is attached"), "\(e)")
        }
    }

    func result(_ prompt: String, label: Bool, human: Bool? = nil) -> LuaValue {
        var f: [String: LuaValue] = [
            "prompt": .text(prompt), "response": "0", "label": .boolean(label),
            "source": .text(human == nil ? "critic" : "human"), "score": .number(label ? 0.9 : 0.1), "critique": "",
        ]
        if let h = human { f["human"] = .boolean(h) }
        return .table(LuaTable(fields: f))
    }

    /// A one-step mutation of `parent`: one or two edits away, or its operands swapped.
    func isMutation(_ prompt: String, of parent: String) -> Bool {
        let swapped = parent.dropLast().split(separator: "+").reversed().joined(separator: "+") + "="
        return prompt == swapped || (1...2).contains(editDistance(prompt, parent))
    }

    func testMutateFailuresEvolvesFromRejectedPrompts() throws {
        let plugin = try loadBundled("attackers/mutate_failures.lua", task: addition)
        plugin.setParams(["explore": 0.0])
        _ = try plugin.call("observe", [.table(LuaTable(array: [result("599+401=", label: false),
                                                                 result("123+456=", label: true)]))])
        let qs = proposedPrompts(try plugin.call("propose", [ctx, 40])[0])
        XCTAssertEqual(qs.count, 40)
        for q in qs {
            XCTAssertTrue(isMutation(q, of: "599+401="), "\(q) is not a mutation of the rejected prompt")
            XCTAssertGreaterThan(editDistance(q, "123+456="), 2, "\(q) comes from the accepted prompt")
            XCTAssertNotNil(addition.problem(forPrompt: q), q)
        }
    }

    func testMutateFailuresPrefersHumanRejectionsAndDropsHumanAcceptances() throws {
        let plugin = try loadBundled("attackers/mutate_failures.lua", task: addition)
        plugin.setParams(["explore": 0.0, "prefer_human": 1.0])
        _ = try plugin.call("observe", [.table(LuaTable(array: [result("599+401=", label: false),
                                                                 result("123+456=", label: false, human: false)]))])
        for q in proposedPrompts(try plugin.call("propose", [ctx, 30])[0]) {
            XCTAssertTrue(isMutation(q, of: "123+456="), "\(q): a human rejection comes first")
        }
        // the human now accepts it: it leaves the pool, the critic's rejection remains
        _ = try plugin.call("observe", [.table(LuaTable(array: [result("123+456=", label: true, human: true)]))])
        for q in proposedPrompts(try plugin.call("propose", [ctx, 30])[0]) {
            XCTAssertTrue(isMutation(q, of: "599+401="), "\(q) after the human accepted 123+456=")
        }
    }

    // MARK: critics

    func item(_ prompt: String, _ response: String, reference: String? = nil, confidence: Double? = nil) -> LuaValue {
        var f: [String: LuaValue] = ["prompt": .text(prompt), "response": .text(response), "features": .table(LuaTable())]
        if let r = reference { f["reference"] = .text(r) }
        if let c = confidence { f["confidence"] = .number(c); f["logprob"] = .number(log(c)) }
        return .table(LuaTable(fields: f))
    }

    func guarded(_ path: String, task: any ProblemTask, seed: UInt64 = 1, hide: [String] = ["answer", "correct"]) throws -> Plugin {
        let plugin = try loadBundled(path, task: task, seed: seed)
        try plugin.hideFields(boundaryFields.filter { hide.contains($0.key) })
        return plugin
    }

    func testReferenceBasedCriticsReadTheReference() throws {
        let exact = try guarded("critics/exact_verifier.lua", task: addition)
        var v = try exact.call("score", [item("1+2=", " 3", reference: "3")])[0]
        XCTAssertEqual(v["label"], true)
        XCTAssertEqual(v["score"].double, 1)
        v = try exact.call("score", [item("1+2=", "4", reference: "3")])[0]
        XCTAssertEqual(v["label"], false)
        XCTAssertEqual(v["score"].double, 0)

        let rubric = try guarded("critics/digit_rubric.lua", task: addition)
        v = try rubric.call("score", [item("47+85=", "122", reference: "132")])[0]
        XCTAssertEqual(v["label"], false)
        XCTAssertEqual(v["score"].double!, 2.0 / 3.0, accuracy: 1e-9)
        let critique = try XCTUnwrap(v["critique"].text)
        XCTAssertTrue(critique.contains("position 2"), critique)
        XCTAssertTrue(critique.contains("carry"), critique)
        XCTAssertEqual(try rubric.call("score", [item("47+85=", "132", reference: "132")])[0]["score"].double, 1)
    }

    func testReferenceBasedCriticsWithoutAReferenceFailClearly() throws {
        for name in ["exact_verifier", "digit_rubric", "noisy_verifier"] {
            // a plain item with no reference, and an item whose reference is hidden as in a campaign
            for hide in [[], ["answer", "correct", "reference"]] {
                let critic = try guarded("critics/\(name).lua", task: addition, hide: hide)
                XCTAssertThrowsError(try critic.call("score", [item("1+2=", "3")]), name) { e in
                    XCTAssertTrue("\(e)".contains("reference-based"), "\(name): \(e)")
                    XCTAssertTrue("\(e)".contains("reference = true"), "\(name): \(e)")
                }
            }
        }
    }

    func testNoisyVerifierFlipsAtItsRateWithCalibratedConfidence() throws {
        let critic = try guarded("critics/noisy_verifier.lua", task: addition, seed: 3)
        critic.setParams(["flip_rate": 0.3])
        var rows: [(confidence: Double, wrong: Bool)] = []
        for i in 0..<2000 {
            let isRight = i % 2 == 0
            let v = try critic.call("score", [item("1+2=", isRight ? "3" : "4", reference: "3")])[0]
            let label = try XCTUnwrap(v["label"].bool)
            let confidence = try XCTUnwrap(v["confidence"].double)
            XCTAssertTrue((0...1).contains(confidence))
            rows.append((confidence, label != isRight))
        }
        let flipRate = Double(rows.filter { $0.wrong }.count) / Double(rows.count)
        XCTAssertEqual(flipRate, 0.3, accuracy: 0.03)
        // calibrated on average: the mean of 1 - confidence is the flip rate
        let meanDoubt = rows.map { 1 - $0.confidence }.reduce(0, +) / Double(rows.count)
        XCTAssertEqual(meanDoubt, flipRate, accuracy: 0.03)
        // and per item: the less confident half holds more of the flipped labels
        let sorted = rows.map { $0.confidence }.sorted()
        XCTAssertGreaterThan(sorted.last! - sorted.first!, 0.2, "confidence is not constant")
        let median = sorted[sorted.count / 2]
        let low = rows.filter { $0.confidence < median }, high = rows.filter { $0.confidence >= median }
        let lowWrong = Double(low.filter { $0.wrong }.count) / Double(low.count)
        let highWrong = Double(high.filter { $0.wrong }.count) / Double(high.count)
        XCTAssertGreaterThan(lowWrong, highWrong + 0.1, "low \(lowWrong), high \(highWrong)")
    }

    /// The operands and true result of "a+b=" / "a*b=", computed here.
    func truth(_ prompt: String) -> String {
        let body = prompt.dropLast()
        if body.contains("+") {
            let ab = body.split(separator: "+").map { Int($0)! }
            return String(ab[0] + ab[1])
        }
        let ab = body.split(separator: "*").map { Int($0)! }
        return String(ab[0] * ab[1])
    }

    func digitSum(_ s: String) -> Int { s.compactMap { $0.wholeNumberValue }.reduce(0, +) }

    func verdict(_ critic: Plugin, _ prompt: String, _ response: String, confidence: Double? = nil,
                 file: StaticString = #filePath, line: UInt = #line) throws
        -> (label: Bool, confidence: Double, score: Double, critique: String) {
        let v = try critic.call("score", [item(prompt, response, confidence: confidence)])[0]
        let label = try XCTUnwrap(v["label"].bool, file: file, line: line)
        let c = try XCTUnwrap(v["confidence"].double, file: file, line: line)
        let s = try XCTUnwrap(v["score"].double, file: file, line: line)
        XCTAssertTrue((0...1).contains(c) && (0...1).contains(s), "\(prompt) \(response)", file: file, line: line)
        return (label, c, s, v["critique"].text ?? "")
    }

    func assertRejected(_ critic: Plugin, _ prompt: String, _ response: String,
                        file: StaticString = #filePath, line: UInt = #line) throws {
        let v = try verdict(critic, prompt, response, file: file, line: line)
        XCTAssertFalse(v.label, "\(critic.name) accepted \(response) for \(prompt)", file: file, line: line)
        XCTAssertEqual(v.confidence, 1, "\(critic.name): a failed check is certain", file: file, line: line)
        XCTAssertEqual(v.score, 0, file: file, line: line)
    }

    func assertAccepted(_ critic: Plugin, _ prompt: String, _ response: String,
                        file: StaticString = #filePath, line: UInt = #line) throws {
        let v = try verdict(critic, prompt, response, file: file, line: line)
        XCTAssertTrue(v.label, "\(critic.name) rejected \(response) for \(prompt): \(v.critique)", file: file, line: line)
        XCTAssertLessThan(v.confidence, 1, "\(critic.name): a passed check is never certain", file: file, line: line)
    }

    func testCastingOutNines() throws {
        let critic = try guarded("critics/casting_out_nines.lua", task: addition)
        let sum = truth("47+85=")
        XCTAssertEqual(sum, "132")
        try assertAccepted(critic, "47+85=", sum)
        // the blind spot: "123" has the digit sum of "132" (both 6), so it passes
        XCTAssertEqual(digitSum("123") % 9, digitSum(sum) % 9)
        try assertAccepted(critic, "47+85=", "123")
        try assertAccepted(critic, "47+85=", String(132 + 9))  // off by 9: passes too
        try assertRejected(critic, "47+85=", String(132 + 1))
        try assertRejected(critic, "47+85=", String(132 - 1))

        let product = try guarded("critics/casting_out_nines.lua", task: multiplication)
        XCTAssertEqual(truth("12*34="), "408")
        try assertAccepted(product, "12*34=", "408")
        try assertAccepted(product, "12*34=", "480")           // transposed: digit sum 12 both
        try assertRejected(product, "12*34=", "409")
        try assertRejected(product, "12*34=", "418")

        // q = 1/9 (header): with the learner's confidence 0.9, P(correct | pass) = 0.9 / (0.9 + 0.1 / 9)
        let v = try verdict(critic, "47+85=", "132", confidence: 0.9)
        XCTAssertEqual(v.confidence, 0.9 / (0.9 + 0.1 / 9), accuracy: 1e-9)
        XCTAssertEqual(v.score, 0.9 / (0.9 + 0.1 / 9), accuracy: 1e-9)
        // no learner confidence: the prior 0.5, 0.5 / (0.5 + 0.5 / 9) = 0.9
        XCTAssertEqual(try verdict(critic, "47+85=", "132").confidence, 0.9, accuracy: 1e-9)
        // a prompt it cannot check: neutral
        let modular = try verdict(critic, "3+4%7=", "0")
        XCTAssertEqual(modular.score, 0.5, accuracy: 1e-9)
        XCTAssertTrue(modular.critique.contains("cannot check"), modular.critique)
    }

    func testLastDigit() throws {
        let critic = try guarded("critics/last_digit.lua", task: addition)
        try assertAccepted(critic, "47+85=", truth("47+85="))
        try assertAccepted(critic, "47+85=", "122")            // wrong middle digit: the blind spot
        try assertRejected(critic, "47+85=", "133")            // wrong last digit
        try assertRejected(critic, "47+85=", "1132")           // 4 digits: a 2-digit sum has 2 or 3
        try assertRejected(critic, "47+85=", "2")              // 1 digit
        try assertAccepted(critic, "999+1=", truth("999+1="))  // one more digit than the operands
        try assertAccepted(critic, "0+0=", "0")

        let product = try guarded("critics/last_digit.lua", task: multiplication)
        try assertAccepted(product, "12*34=", truth("12*34="))
        try assertAccepted(product, "12*34=", "418")           // wrong middle digit
        try assertRejected(product, "12*34=", "409")           // 2 × 4 ends in 8
        try assertRejected(product, "12*34=", "8")             // a 2-digit × 2-digit product has 3 or 4 digits
        try assertRejected(product, "12*34=", "10408")
        try assertAccepted(product, "0*34=", "0")
        try assertRejected(product, "0*34=", "10")             // a zero operand: the product is 0

        // q = 1/10 (header)
        let v = try verdict(critic, "47+85=", "132", confidence: 0.9)
        XCTAssertEqual(v.confidence, 0.9 / (0.9 + 0.1 * 0.1), accuracy: 1e-9)
    }

    func testMagnitude() throws {
        let critic = try guarded("critics/magnitude.lua", task: addition)
        try assertAccepted(critic, "47+85=", truth("47+85="))
        try assertAccepted(critic, "47+85=", "999")            // same length, wrong: the blind spot
        try assertRejected(critic, "47+85=", "1000")
        try assertRejected(critic, "47+85=", "9")

        let product = try guarded("critics/magnitude.lua", task: multiplication)
        try assertAccepted(product, "12*34=", "999")
        try assertRejected(product, "12*34=", "99")
        try assertRejected(product, "12*34=", "12345")

        // q = 2/3 for a+b and a*b (header)
        let v = try verdict(critic, "47+85=", "132", confidence: 0.9)
        XCTAssertEqual(v.confidence, 0.9 / (0.9 + 0.1 * 2 / 3), accuracy: 1e-9)
        // a modular result must be below the modulus; q = 1/2 (header)
        let modular = try guarded("critics/magnitude.lua", task: try ModularTask(modulus: 7, operation: .add))
        try assertRejected(modular, "3+4%7=", "7")
        XCTAssertEqual(try verdict(modular, "3+4%7=", "0").confidence, 0.5 / (0.5 + 0.5 * 0.5), accuracy: 1e-9)
    }

    func testReferenceFreeCriticsRejectMalformedResponses() throws {
        for name in ["casting_out_nines", "last_digit", "magnitude"] {
            let critic = try guarded("critics/\(name).lua", task: addition)
            for response in ["", "abc", "13a", "0132", "-132", "1 32", "00"] {
                try assertRejected(critic, "47+85=", response)
            }
        }
    }

    func testReferenceFreeCriticsNeverRejectARightAnswer() throws {
        var rng = RandomGenerator(seed: 21)
        let sums = addition.sample(150, &rng)
        let products = multiplication.sample(150, &rng)
        let problems = sums + products
        for name in ["casting_out_nines", "last_digit", "magnitude"] {
            let critic = try guarded("critics/\(name).lua", task: addition)
            for p in problems {
                let v = try verdict(critic, p.prompt, truth(p.prompt))
                XCTAssertTrue(v.label, "\(name) rejected the right answer to \(p.prompt): \(v.critique)")
            }
        }
    }

    // MARK: oversight

    func budget(_ remaining: Int64, iteration: Int64? = nil, of iterations: Int64? = nil) -> LuaValue {
        var f: [String: LuaValue] = ["remaining": .integer(remaining), "spent": 0, "total": .integer(remaining)]
        if let i = iteration, let n = iterations { f["iteration"] = .integer(i); f["iterations"] = .integer(n) }
        return .table(LuaTable(fields: f))
    }

    func verdict(confidence: Double, label: Bool = true, others: [Bool] = []) -> LuaValue {
        .table(LuaTable(fields: [
            "score": .number(label ? confidence : 1 - confidence), "label": .boolean(label),
            "confidence": .number(confidence), "critique": "",
            "others": .table(LuaTable(array: others.map {
                .table(LuaTable(fields: ["label": .boolean($0), "score": .number($0 ? 1 : 0), "confidence": 1,
                                         "critique": "", "critic": "second"]))
            })),
        ]))
    }

    /// Ten items; confidences 0.9, 0.3, 0.95, 0.1, 0.5, 0.3, 1.0, 0.2, 0.8, 0.6; items 3 and 9
    /// are the ones where the second critic disagrees.
    let confidences = [0.9, 0.3, 0.95, 0.1, 0.5, 0.3, 1.0, 0.2, 0.8, 0.6]
    var batchItems: LuaValue {
        .table(LuaTable(array: (1...confidences.count).map { item("\($0)+1=", "\($0 + 1)") }))
    }
    var batchVerdicts: LuaValue {
        .table(LuaTable(array: confidences.enumerated().map { i, c in
            verdict(confidence: c, label: true, others: [!(i == 2 || i == 8)])
        }))
    }

    func escalated(_ policy: Plugin, _ budget: LuaValue, items: LuaValue? = nil, verdicts: LuaValue? = nil,
                   file: StaticString = #filePath, line: UInt = #line) throws -> [Int] {
        let out = try policy.call("decide_batch", [items ?? batchItems, verdicts ?? batchVerdicts, budget])[0]
        guard let list = out.table, list.hash.isEmpty else {
            XCTFail("\(policy.name): decide_batch must return a list", file: file, line: line)
            return []
        }
        return list.array.map { v in
            guard let i = v.int else { XCTFail("\(policy.name): \(v.typeName) is not an index", file: file, line: line); return 0 }
            return i
        }
    }

    func testOversightWithNoBudgetLeftAsksNothing() throws {
        for name in policies {
            let policy = try guarded("oversight/\(name).lua", task: addition)
            for k in 0..<20 {
                let ask = try policy.call("decide", [item("1+1=", "2"), verdict(confidence: 0.1, others: [false]),
                                                     budget(0, iteration: Int64(k % 3 + 1), of: 3)])
                XCTAssertEqual(ask[0], false, "\(name) asks with no budget left")
            }
            XCTAssertEqual(try escalated(policy, budget(0, iteration: 1, of: 3)), [], name)
            XCTAssertEqual(try escalated(policy, budget(0)), [], name)
        }
    }

    func testDecideBatchReturnsValidDistinctIndicesWithinTheBudget() throws {
        for name in policies {
            let policy = try guarded("oversight/\(name).lua", task: addition, seed: 8)
            if name == "random_budget" { policy.setParams(["rate": 0.7]) }
            for remaining in [1, 2, 3, 7, 10, 50] as [Int64] {
                for (iteration, iterations) in [(nil, nil), (1, 5), (3, 5), (5, 5)] as [(Int64?, Int64?)] {
                    let picked = try escalated(policy, budget(remaining, iteration: iteration, of: iterations))
                    XCTAssertLessThanOrEqual(picked.count, Int(remaining), "\(name) overspends")
                    XCTAssertEqual(Set(picked).count, picked.count, "\(name) lists an item twice: \(picked)")
                    for i in picked { XCTAssertTrue((1...confidences.count).contains(i), "\(name): index \(i)") }
                }
            }
        }
    }

    func testNeverAndAlways() throws {
        let never = try guarded("oversight/never.lua", task: addition)
        XCTAssertEqual(try never.call("decide", [item("1+1=", "2"), verdict(confidence: 0), budget(3)])[0], false)
        XCTAssertEqual(try escalated(never, budget(10)), [])
        let always = try guarded("oversight/always.lua", task: addition)
        XCTAssertEqual(try always.call("decide", [item("1+1=", "2"), verdict(confidence: 1), budget(3)])[0], true)
        XCTAssertEqual(try escalated(always, budget(3)), [1, 2, 3])
        XCTAssertEqual(try escalated(always, budget(50)), Array(1...10))
    }

    func testRandomBudgetEscalatesAtItsRate() throws {
        let policy = try guarded("oversight/random_budget.lua", task: addition, seed: 5)
        policy.setParams(["rate": 0.25])
        let many = LuaValue.table(LuaTable(array: (0..<1000).map { _ in item("1+1=", "2") }))
        let verdicts = LuaValue.table(LuaTable(array: (0..<1000).map { _ in verdict(confidence: 0.5) }))
        let picked = try escalated(policy, budget(1000), items: many, verdicts: verdicts)
        XCTAssertEqual(Double(picked.count) / 1000, 0.25, accuracy: 0.05)
        XCTAssertEqual(picked, picked.sorted())
        XCTAssertEqual(try escalated(policy, budget(7), items: many, verdicts: verdicts).count, 7)
        policy.setParams(["rate": 0.0])
        XCTAssertEqual(try escalated(policy, budget(1000), items: many, verdicts: verdicts), [])
    }

    func testUncertaintyBudgetPicksTheLeastConfidentWithinTheIterationsShare() throws {
        let policy = try guarded("oversight/uncertainty_budget.lua", task: addition)
        // remaining 10 over 5 iterations: 2 now; the two least confident are items 4 (0.1) and 8 (0.2)
        XCTAssertEqual(try escalated(policy, budget(10, iteration: 1, of: 5)), [4, 8])
        // remaining 9 at iteration 2 of 5: ceil(9 / 4) = 3; items 2 and 6 tie at 0.3, the lower index first
        XCTAssertEqual(try escalated(policy, budget(9, iteration: 2, of: 5)), [4, 8, 2])
        // the last iteration may spend everything: every item below confidence 1 (item 7 is certain)
        XCTAssertEqual(try escalated(policy, budget(50, iteration: 5, of: 5)), [4, 8, 2, 6, 5, 10, 9, 1, 3])
        XCTAssertEqual(try escalated(policy, budget(3, iteration: 5, of: 5)), [4, 8, 2])
        policy.setParams(["threshold": 0.5])
        XCTAssertEqual(try escalated(policy, budget(50)), [4, 8, 2, 6])

        // per item: uncertain items while this iteration's share (ceil(10 / 5) = 2) lasts
        let perItem = try guarded("oversight/uncertainty_budget.lua", task: addition)
        var asks: [Bool] = []
        for c in [0.3, 1.0, 0.4, 0.2, 0.1] {
            asks.append(try perItem.call("decide", [item("1+1=", "2"), verdict(confidence: c), budget(10, iteration: 1, of: 5)])[0] == true)
        }
        XCTAssertEqual(asks, [true, false, true, false, false])
        XCTAssertEqual(try perItem.call("decide", [item("1+1=", "2"), verdict(confidence: 0.3), budget(8, iteration: 2, of: 5)])[0], true)
    }

    func testDisagreementEscalatesDisagreementsFirst() throws {
        let policy = try guarded("oversight/disagreement.lua", task: addition)
        // items 9 (0.8) and 3 (0.95) disagree: first, least confident first, even past the share
        XCTAssertEqual(try escalated(policy, budget(10, iteration: 1, of: 5)), [9, 3])
        XCTAssertEqual(try escalated(policy, budget(1, iteration: 1, of: 5)), [9])
        // with a larger share the rest goes to the least confident agreeing items (never item 7: certain)
        XCTAssertEqual(try escalated(policy, budget(5, iteration: 5, of: 5)), [9, 3, 4, 8, 2])
        XCTAssertEqual(try escalated(policy, budget(50, iteration: 5, of: 5)), [9, 3, 4, 8, 2, 6, 5, 10, 1])
        policy.setParams(["fill_with_uncertain": false])
        XCTAssertEqual(try escalated(policy, budget(50, iteration: 5, of: 5)), [9, 3])

        let perItem = try guarded("oversight/disagreement.lua", task: addition)
        func ask(_ v: LuaValue) throws -> LuaValue { try perItem.call("decide", [item("1+1=", "2"), v, budget(5)])[0] }
        XCTAssertEqual(try ask(verdict(confidence: 1, label: true, others: [false])), true)
        XCTAssertEqual(try ask(verdict(confidence: 0.1, label: true, others: [true])), false)
        XCTAssertEqual(try ask(verdict(confidence: 0.1)), true, "no second opinion: low confidence stands in")
        XCTAssertEqual(try ask(verdict(confidence: 0.9)), false)
    }

    private func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0...b.count)
        for i in 1...a.count {
            var cur = [i] + [Int](repeating: 0, count: b.count)
            for j in 1...b.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            prev = cur
        }
        return prev[b.count]
    }
}

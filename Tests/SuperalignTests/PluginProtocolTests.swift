import XCTest
import LuaHost
import Superalign
import TestSupport

private extension LuaValue {
    static func list(_ values: [LuaValue]) -> LuaValue { .table(LuaTable(array: values)) }
}

/// The plugin protocol as data: the kinds `Plugin.load` checks, the committed LuaLS stubs, the
/// arguments the engine passes (recorded by plugins run through the harness, which builds them
/// with the campaign's adapters) and the validation of results.
final class PluginProtocolTests: XCTestCase {
    let task = try! AdditionTask(digits: 2)

    func load(_ source: String, file: String = "t.lua", kinds: [PluginKind] = SuperalignPlugins.kinds, seed: UInt64 = 1) throws -> Plugin {
        let context = PluginContext(task: task, seed: seed, learner: PluginHarness.StandInLearner(task: task, seed: seed))
        return try Plugin.load(source: Array(source.utf8), file: file, options: Plugin.Options(seed: seed, kinds: kinds, prepare: {
            SuperalignAPI.make(context: context).install(into: $0)
        }))
    }

    // MARK: The data

    func testCommittedProtocolStubsMatchTheProtocol() throws {
        let url = TestSupport.repositoryRoot.appendingPathComponent("Plugins/meta/protocol.lua")
        let committed = try String(contentsOf: url, encoding: .utf8)
        XCTAssertEqual(committed, SuperalignStubs.protocolText(), "Plugins/meta/protocol.lua is stale: run `superalign plugins stubs`")
        XCTAssertEqual(SuperalignStubs.files().map(\.name), ["sa.lua", "protocol.lua"])
    }

    func testKindsComeFromTheProtocol() {
        XCTAssertEqual(SuperalignPlugins.kinds, [
            PluginKind(name: "attacker", required: ["propose"], optional: ["observe"]),
            PluginKind(name: "critic", required: ["score"], optional: ["score_batch"]),
            PluginKind(name: "oversight", required: ["decide"], optional: ["decide_batch"]),
        ])
    }

    func testStubsDeclareEveryKindFunctionAndShape() {
        let text = SuperalignStubs.protocolText()
        for shape in ["sa.Item", "sa.VerdictResult", "sa.Verdict", "sa.Budget", "sa.AttackContext", "sa.Observation", "sa.Query",
                      "sa.Attacker", "sa.Critic", "sa.Oversight"] {
            XCTAssertTrue(text.contains("---@class \(shape)\n"), shape)
        }
        XCTAssertTrue(text.contains("---@field score fun(self: sa.Critic, item: sa.Item): sa.VerdictResult "))
        XCTAssertTrue(text.contains("---@field score_batch? fun(self: sa.Critic, items: sa.Item[]): sa.VerdictResult[] "))
        XCTAssertTrue(text.contains("---@field propose fun(self: sa.Attacker, ctx: sa.AttackContext, n: integer): (string|sa.Query)[] "))
        XCTAssertTrue(text.contains("---@field observe? fun(self: sa.Attacker, results: sa.Observation[]) "))
        XCTAssertTrue(text.contains("---@field decide fun(self: sa.Oversight, item: sa.Item, verdict: sa.Verdict, budget: sa.Budget): boolean "))
        XCTAssertTrue(text.contains("---@field decide_batch? fun(self: sa.Oversight, items: sa.Item[], verdicts: sa.Verdict[], budget: sa.Budget): integer[] "))
        XCTAssertTrue(text.contains("---@field reference? string"), "the reference is optional: reference-based critics only")
        XCTAssertFalse(text.contains("---@field answer"), "no shape a plugin receives has an answer")
        XCTAssertFalse(text.contains("---@field correct"))
    }

    func testMismatches() {
        let item = LuaValue.table(LuaTable(fields: ["prompt": "1+2=", "response": "3", "features": .table(LuaTable(fields: ["digits": 1]))]))
        XCTAssertEqual(PluginProtocol.mismatches(item, type: "sa.Item"), [])
        XCTAssertEqual(PluginProtocol.mismatches(.table(LuaTable(fields: ["prompt": "1+2=", "features": .table(LuaTable())])),
                                                 type: "sa.Item"), ["value.response: missing (string)"])
        XCTAssertEqual(PluginProtocol.mismatches(.table(LuaTable(fields: ["prompt": "1+2=", "response": "3", "answer": "3",
                                                                          "features": .table(LuaTable())])), type: "sa.Item"),
                       ["value.answer: not a field of sa.Item"])
        XCTAssertEqual(PluginProtocol.mismatches(.list(["1+2=", .table(LuaTable(fields: ["prompt": "3+4="]))]), type: "(string|sa.Query)[]"), [])
        XCTAssertEqual(PluginProtocol.mismatches(.list([1]), type: "(string|sa.Query)[]"), ["value[1]: expected string|sa.Query, got integer 1"])
        XCTAssertEqual(PluginProtocol.mismatches("robot", type: "\"critic\"|\"human\""), ["value: expected \"critic\"|\"human\", got string \"robot\""])
        XCTAssertEqual(PluginProtocol.mismatches(2.5, type: "integer"), ["value: expected integer, got number 2.5"])
        XCTAssertEqual(PluginProtocol.mismatches(2, type: "number"), [])
    }

    // MARK: The arguments the engine passes

    /// A plugin of `kind` that records the arguments of each call in `self.seen[function]`
    /// and returns a valid result.
    func recorder(_ kind: String) -> String {
        let result: [String: String] = [
            "propose": "local out = {} for i = 1, n do out[i] = (i % 2 == 0) and (i .. '+' .. i .. '=') or { prompt = i .. '+1=' } end return out",
            "observe": "return nil",
            "score": "return { score = 0.5, label = true }",
            "score_batch": "local out = {} for i = 1, #select(1, ...) do out[i] = { score = 1, label = true, confidence = 0.5, critique = 'x' } end return out",
            "decide": "return false",
            "decide_batch": "return { 2, 1 }",
        ]
        let fns = PluginProtocol.kind(kind)!.functions.map { fn in
            "\(fn.name) = function(self, ...) self.seen.\(fn.name) = { ... } local n = select(2, ...) \(result[fn.name]!) end"
        }
        return "return { kind = '\(kind)', name = 't', params = { x = 1 }, seen = {}, \(fns.joined(separator: ",\n")) }"
    }

    func testTheEngineArgumentsConformToTheProtocol() throws {
        for (kind, reference) in [("attacker", false), ("critic", false), ("critic", true), ("oversight", false)] {
            let plugin = try load(recorder(kind))
            let report = PluginHarness.test(plugin, task: task, seed: 3, reference: reference)
            XCTAssertNil(report.failure, "\(kind): \(String(describing: report.failure))")
            let seen = try plugin.snapshot()["seen"]
            for fn in PluginProtocol.kind(kind)!.functions {
                let args = seen[fn.name]
                XCTAssertNotNil(args.table, "\(kind).\(fn.name) was called")
                for (i, param) in fn.params.enumerated() {
                    let value = args.table?[.integer(Int64(i + 1))] ?? .nil
                    XCTAssertEqual(PluginProtocol.mismatches(value, type: param.type, path: "\(fn.name).\(param.name)"), [], kind)
                }
            }
            if kind == "critic" {
                XCTAssertEqual(seen["score"].table?.array.first?["reference"].isNil, !reference, "the reference only when declared")
                XCTAssertFalse(seen["score"].table?.array.first?["confidence"].isNil ?? true, "the learner's confidence is passed")
            }
        }
    }

    func testTheRecordedResultsAreValid() throws {
        for kind in ["attacker", "critic", "oversight"] {
            let plugin = try load(recorder(kind))
            let report = PluginHarness.test(plugin, task: task, seed: 3)
            XCTAssertTrue(report.ok, kind)
            XCTAssertEqual(report.calls.map(\.function), [
                "attacker": ["propose", "observe"],
                "critic": Array(repeating: "score", count: 8) + ["score_batch"],
                "oversight": Array(repeating: "decide", count: 8) + ["decide_batch"],
            ][kind])
        }
    }

    // MARK: Validation

    func expectValidation(_ body: @autoclosure () throws -> Void, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard let e = error as? PluginError else { return XCTFail("not a PluginError: \(error)", file: file, line: line) }
            XCTAssertEqual(e.kind, .validation, file: file, line: line)
            XCTAssertTrue(e.message.contains(message), "\(e.message) does not contain \(message)", file: file, line: line)
        }
    }

    func testVerdictsAreValidatedByTheProtocolsRules() throws {
        let critic = try load("return { kind = 'critic', name = 'c', score = function() end }")
        func verdict(_ fields: [String: LuaValue]) throws {
            try PluginHarness.validate([.table(LuaTable(fields: fields))], of: "score", plugin: critic, input: .nil)
        }
        XCTAssertNoThrow(try verdict(["score": 1, "label": true]))
        XCTAssertNoThrow(try verdict(["score": 0, "label": false, "confidence": 0.5, "critique": "no"]))
        expectValidation(try verdict(["score": 1.5, "label": true]), "score: 'score' must be in [0, 1] (got 1.5)")
        expectValidation(try verdict(["score": .number(.nan), "label": true]), "'score' must be in [0, 1] (got nan)")
        expectValidation(try verdict(["score": "0.5", "label": true]), "'score' must be a number in [0, 1] (got string \"0.5\")")
        expectValidation(try verdict(["score": 1]), "'label' must be a boolean (got nil)")
        expectValidation(try verdict(["score": 1, "label": true, "confidence": -1]), "'confidence' must be in [0, 1] (got -1.0)")
        expectValidation(try verdict(["score": 1, "label": true, "critique": 3]), "'critique' must be a string (got number)")
        expectValidation(try PluginHarness.validate([], of: "score", plugin: critic, input: .nil), "score: must return a table (got nil)")
        expectValidation(try PluginHarness.validate([.list([.table(LuaTable(fields: ["score": 1, "label": true])), 7])], of: "score_batch",
                                                    plugin: critic, input: .list([1, 2])), "score_batch: verdict 2: must return a table")
        expectValidation(try PluginHarness.validate([.list([])], of: "score_batch", plugin: critic, input: .list([1, 2])),
                         "score_batch: must return a list of 2 verdicts")
        // Functions outside the protocol are not checked.
        XCTAssertNoThrow(try PluginHarness.validate([1.5], of: "helper", plugin: critic, input: .nil))
    }

    func testProposalsAndDecisionsAreValidated() throws {
        let attacker = try load("return { kind = 'attacker', name = 'a', propose = function() end }")
        XCTAssertNoThrow(try PluginHarness.validate([.list(["1+2=", .table(LuaTable(fields: ["prompt": "3+4="]))])], of: "propose",
                                                    plugin: attacker, input: .nil))
        expectValidation(try PluginHarness.validate([.list([.table(LuaTable(fields: ["prompt": "1+2=", "answer": "3"]))])], of: "propose",
                                                    plugin: attacker, input: .nil), "propose: query 1 has an 'answer'")
        expectValidation(try PluginHarness.validate(["1+2="], of: "propose", plugin: attacker, input: .nil), "must return a list of prompts")
        let policy = try load("return { kind = 'oversight', name = 'o', decide = function() end }")
        XCTAssertNoThrow(try PluginHarness.validate([.list([2, 1])], of: "decide_batch", plugin: policy, input: .list([1, 2])))
        expectValidation(try PluginHarness.validate([.list([3])], of: "decide_batch", plugin: policy, input: .list([1, 2])),
                         "decide_batch: entry 1 must be an item index in 1...2")
        expectValidation(try PluginHarness.validate([.list([1, 1])], of: "decide_batch", plugin: policy, input: .list([1, 2])),
                         "decide_batch: item 1 is listed twice")
        expectValidation(try PluginHarness.validate([1], of: "decide", plugin: policy, input: .nil), "decide: must return a boolean (got number)")
    }

    func testCheckRefusesAMismatchedNameAndParamsThatAreNotNamed() throws {
        XCTAssertNoThrow(try PluginHarness.check(try load("return { kind = 'critic', name = 'good', params = { a = 1 }, score = print }",
                                                          file: "dir/good.lua")))
        expectValidation(try PluginHarness.check(try load("return { kind = 'critic', name = 'other', score = print }", file: "dir/good.lua")),
                         "the plugin's name is 'other' but its file is good.lua")
        expectValidation(try PluginHarness.check(try load("return { kind = 'critic', name = 'good', params = { 1, 2 }, score = print }",
                                                          file: "good.lua")), "'params' must be a table of named values (got 2 list entries)")
        expectValidation(try PluginHarness.check(try load("return { kind = 'critic', name = 'good', params = { [true] = 1 }, score = print }",
                                                          file: "good.lua")), "'params' must be a table of named values (got a boolean key)")
        expectValidation(try PluginHarness.check(try load("return { kind = 'critic', name = 'good', params = { f = print }, score = print }",
                                                          file: "good.lua")), "'params' must be a table of named values")
    }

    func testAPluginLoadedWithoutKindsIsCheckedBeforeUse() throws {
        let source = "return { kind = 'critic', name = 't', scor = function() return { score = 1, label = true } end }"
        let plugin = try load(source, kinds: [])
        let report = PluginHarness.test(plugin, task: task, seed: 1)
        XCTAssertEqual(report.failure?.message, "a critic plugin must define function 'score'")
        let judge = try load("return { kind = 'judge', name = 't' }", kinds: [])
        XCTAssertEqual(PluginHarness.test(judge, task: task, seed: 1).failure?.message.contains("unknown kind 'judge'"), true)
    }

    func testTheHarnessStopsAtTheFirstBadResultAndNamesTheFunction() throws {
        let critic = try load("return { kind = 'critic', name = 't', score = function(_, item) return { score = 1.5, label = true } end }")
        let report = PluginHarness.test(critic, task: task, seed: 1)
        XCTAssertEqual(report.calls.count, 0)
        XCTAssertEqual(report.failure?.message, "score: 'score' must be in [0, 1] (got 1.5)")
        let peeking = try load("return { kind = 'critic', name = 't', score = function(_, item) return item.answer end }")
        XCTAssertEqual(PluginHarness.test(peeking, task: task, seed: 1).failure?.message.contains("item.answer is hidden"), true)
        let empty = try load("return { kind = 'attacker', name = 't', propose = function() return { 'hello' } end }")
        XCTAssertEqual(PluginHarness.test(empty, task: task, seed: 1).failure?.message.contains("none of the 1 prompts is a problem"), true)
    }

    func testTheStandInLearnerIsDeterministicAndMostlyRight() throws {
        let problems = (1...40).map { try! XCTUnwrap(task.problem(forPrompt: "\($0)+\($0 * 2)=")) }
        let prompts = problems.map(\.prompt)
        let learner = PluginHarness.StandInLearner(task: task, seed: 5)
        let answers = try learner.generate(prompts: prompts, samples: 1, temperature: 0, topK: 0, maxTokens: 4).map { $0[0].text }
        XCTAssertEqual(answers, try PluginHarness.StandInLearner(task: task, seed: 5)
                        .generate(prompts: prompts, samples: 1, temperature: 0, topK: 0, maxTokens: 4).map { $0[0].text })
        let right = zip(answers, problems).filter { $0 == $1.answer }.count
        XCTAssertTrue((20...38).contains(right), "\(right) of 40 right")
        let confidence = try learner.confidence(prompts: prompts)
        XCTAssertTrue(confidence.allSatisfy { (0...1).contains($0) })
        let logprobs = try learner.logprob(prompts: prompts, completions: answers)
        for (l, c) in zip(logprobs, confidence) { XCTAssertEqual(exp(l), c, accuracy: 1e-12) }
    }

    func testEveryBundledPluginPassesTheHarness() throws {
        let dir = TestSupport.repositoryRoot.appendingPathComponent("Plugins")
        var count = 0
        for folder in ["attackers", "critics", "oversight"] {
            for file in try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent(folder).path).sorted()
            where file.hasSuffix(".lua") {
                count += 1
                let source = try String(contentsOf: dir.appendingPathComponent("\(folder)/\(file)"), encoding: .utf8)
                let free = PluginHarness.test(try load(source, file: "\(folder)/\(file)"), task: task, seed: 2)
                if free.ok { continue }
                // Reference-based critics need the reference.
                let withReference = PluginHarness.test(try load(source, file: "\(folder)/\(file)"), task: task, seed: 2, reference: true)
                XCTAssertTrue(folder == "critics" && withReference.ok, "\(file): \(String(describing: free.failure))")
            }
        }
        XCTAssertGreaterThanOrEqual(count, 12)
    }
}

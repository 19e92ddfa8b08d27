import XCTest
import LuaHost
import Superalign
import Tensor
import TestSupport

final class HostAPITests: XCTestCase {
    func plugin(_ body: String, task: any ProblemTask = try! AdditionTask(digits: 2), seed: UInt64 = 1) throws -> Plugin {
        let source = "return { kind = 'critic', name = 't', score = function(self, x) \(body) end }"
        let context = PluginContext(task: task, seed: seed)
        return try Plugin.load(source: Array(source.utf8), file: "t.lua",
                               options: Plugin.Options(seed: seed, kinds: SuperalignPlugins.kinds, prepare: {
            SuperalignAPI.make(context: context).install(into: $0)
        }))
    }

    func testCommittedStubsMatchTheRegisteredAPI() throws {
        let url = TestSupport.repositoryRoot.appendingPathComponent("Plugins/meta/sa.lua")
        let committed = try String(contentsOf: url, encoding: .utf8)
        XCTAssertEqual(committed, SuperalignStubs.text(), "Plugins/meta/sa.lua is stale: run `superalign plugins stubs`")
    }

    func testStubsDocumentEveryFunction() {
        let text = SuperalignStubs.text()
        for name in ["sa.task.sample", "sa.task.problem", "sa.learner.generate", "sa.learner.logprob",
                     "sa.rng.int", "sa.text.edit_distance", "sa.json.encode", "sa.log.info"] {
            XCTAssertTrue(text.contains("function \(name)("), name)
        }
        XCTAssertFalse(text.contains("sa.task.verify"), "plugins get no way to check a response against the answer")
        XCTAssertFalse(text.contains("the reference answer"), "sa.Problem documents no answer field")
    }

    func testTableIsReadOnly() throws {
        for attempt in ["sa.task = nil", "sa.x = 1", "rawset(sa, 'x', 1)", "setmetatable(sa, {})", "sa.task.sample = print"] {
            let source = "return { kind = 'critic', name = 't', score = function() \(attempt) end, ok = function() return sa.version end }"
            let context = PluginContext(task: try AdditionTask(digits: 2), seed: 0)
            let p = try Plugin.load(source: Array(source.utf8), file: "t.lua",
                                    options: Plugin.Options(kinds: SuperalignPlugins.kinds, prepare: {
                SuperalignAPI.make(context: context).install(into: $0)
            }))
            XCTAssertThrowsError(try p.call("score", []), attempt) { e in
                let kind = (e as? PluginError)?.kind
                XCTAssertTrue(kind == .forbidden || kind == .runtime, "\(attempt): \(e)")
            }
            XCTAssertEqual(try p.call("ok", []), [.text(SuperalignAPI.version)], "the API is intact after: \(attempt)")
        }
        let p = try plugin("return getmetatable(sa), type(sa.task.sample)")
        XCTAssertEqual(try p.call("score", []), ["locked", "function"])
    }

    func testPairsOverTheAPIListsNamespaces() throws {
        let p = try plugin("local out = {} for k in pairs(sa) do out[#out + 1] = k end table.sort(out) return out")
        let names = try p.call("score", [])[0].table!.array.compactMap(\.text)
        XCTAssertEqual(names, ["json", "learner", "log", "rng", "task", "text", "version"])
    }

    func testTaskFunctions() throws {
        let p = try plugin("""
          local ps = sa.task.sample(3, { distribution = 'ood' })
          local q = sa.task.problem('47+85=')
          return #ps, ps[1].features.digits, ps[1].answer, q.features.carries, q.answer, sa.task.verify, sa.task.problem('x'),
            sa.task.name()
        """)
        // The information boundary: problems come without answers and there is no verify.
        XCTAssertEqual(try p.call("score", []), [3, 3, .nil, 2, .nil, .nil, .nil, "addition"])
        let bad = try plugin("return sa.task.sample(2, { distribution = 'weird' })")
        XCTAssertThrowsError(try bad.call("score", [])) { e in
            XCTAssertTrue("\(e)".contains("distribution"), "\(e)")
        }
    }

    func testRandomDrawsAreSeeded() throws {
        let body = "return sa.rng.uniform(), sa.rng.int(1, 6), sa.rng.normal(), sa.rng.choice({'a','b','c'})"
        XCTAssertEqual(try plugin(body, seed: 7).call("score", []), try plugin(body, seed: 7).call("score", []))
        XCTAssertNotEqual(try plugin(body, seed: 7).call("score", []), try plugin(body, seed: 8).call("score", []))
        XCTAssertThrowsError(try plugin("return sa.rng.int(5, 1)").call("score", []))
    }

    func testTextAndJSONHelpers() throws {
        let p = try plugin("""
          return sa.text.edit_distance('kitten', 'sitting'), sa.text.digit_diff('132', '32')[1],
                 sa.json.encode({ b = 1, a = { 1, 2 } }), sa.json.decode('{"x": [1, 2.5]}').x[2], sa.text.trim('  a ')
        """)
        XCTAssertEqual(try p.call("score", []), [3, 1, #"{"a":[1,2],"b":1}"#, 2.5, "a"])
        XCTAssertThrowsError(try plugin("return sa.json.encode(0/0)").call("score", []))
        XCTAssertThrowsError(try plugin("return sa.json.decode('{')").call("score", []))
    }
}

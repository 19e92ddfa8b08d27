import XCTest
import LuaHost
import Superalign
import TestSupport

/// The plugin protocol as data: the kinds `Plugin.load` checks and the committed LuaLS stubs.
private extension LuaValue {
    static func list(_ values: [LuaValue]) -> LuaValue { .table(LuaTable(array: values)) }
}

final class PluginProtocolTests: XCTestCase {
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
}

import Foundation
import LuaHost
import TestSupport
import XCTest

/// Loading and validating plugin files, calling them, and the errors they produce.
final class PluginAPITests: XCTestCase {
    static let critic = """
        local P = {kind = "critic", name = "length_critic", params = {max_len = 10, label = "long"}}
        function P.score(self, item)
          local n = #item.text
          return {score = n <= self.params.max_len and 1 or 0, label = self.params.label, n = n}
        end
        function P.score_batch(self, items)
          local out = {}
          for i, item in ipairs(items) do out[i] = self:score(item).score end
          return out
        end
        P.helper_value = 3
        return P
        """

    func testLoadAndCall() throws {
        let plugin = try loadPlugin(Self.critic, file: "critics/length.lua")
        XCTAssertEqual(plugin.kind, "critic")
        XCTAssertEqual(plugin.name, "length_critic")
        XCTAssertEqual(plugin.file, "critics/length.lua")
        XCTAssertEqual(plugin.state.name, "length_critic")
        let item: LuaValue = .table(LuaTable(fields: ["text": "hello"]))
        let out = try plugin.call("score", [item])
        XCTAssertEqual(out, [.table(LuaTable(fields: ["score": 1, "label": "long", "n": 5]))])
        let batch = try plugin.call("score_batch", [.list([item, .table(LuaTable(fields: ["text": .text(String(repeating: "x", count: 20))]))])])
        XCTAssertEqual(batch, [.list([1, 0])])
    }

    func testLoadFromAFile() throws {
        let url = try TestSupport.writeTemporaryFile(named: "length.lua", Self.critic)
        let plugin = try Plugin.load(file: url, options: Plugin.Options(budget: .hostile, kinds: testKinds))
        XCTAssertEqual(plugin.file, url.path)
        XCTAssertEqual(plugin.name, "length_critic")
        let missing = url.deletingLastPathComponent().appendingPathComponent("absent.lua")
        let error = expectPluginError(try Plugin.load(file: missing), kind: .validation, phase: .load, contains: "cannot read")
        XCTAssertEqual(error?.plugin, "absent.lua")
    }

    func testHas() throws {
        let plugin = try loadPlugin(Self.critic)
        XCTAssertTrue(plugin.has("score"))
        XCTAssertTrue(plugin.has("score_batch"))
        XCTAssertFalse(plugin.has("propose"))
        XCTAssertFalse(plugin.has("helper_value"))
        XCTAssertFalse(plugin.has("params"))
    }

    func testParamsAndSetParams() throws {
        let plugin = try loadPlugin(Self.critic)
        XCTAssertEqual(try plugin.params, .table(LuaTable(fields: ["max_len": 10, "label": "long"])))
        plugin.setParams(["max_len": 3, "extra": .list([1, 2])])
        XCTAssertEqual(try plugin.params, .table(LuaTable(fields: ["max_len": 3, "label": "long", "extra": .list([1, 2])])))
        let out = try plugin.call("score", [.table(LuaTable(fields: ["text": "hello"]))])
        XCTAssertEqual(out.first?["score"], 0)
        XCTAssertEqual(out.first?["label"], "long")
    }

    func testParamsDefaultToAnEmptyTable() throws {
        let plugin = try loadPlugin("return {kind = 'oversight', name = 'o', decide = function(self) return #self.params end}")
        XCTAssertEqual(try plugin.params, .table(LuaTable()))
        XCTAssertEqual(try plugin.call("decide", []), [0])
    }

    func testSetParamsAfterThePluginReplacedItsParams() throws {
        let plugin = try loadPlugin(pluginSource(attack: "self.params = arg"))
        for replacement: LuaValue in [42, "text", true, nil] {
            _ = try plugin.call("attack", [replacement])
            plugin.setParams(["threshold": 0.7])
            XCTAssertEqual(try plugin.params["threshold"], 0.7)
        }
        assertServes(plugin)
    }

    func testCallingAMissingFunction() throws {
        let plugin = try loadPlugin(Self.critic)
        let error = expectPluginError(try plugin.call("propose", []), kind: .validation, phase: .call, contains: "no function 'propose'")
        XCTAssertEqual(error?.plugin, "length_critic")
        XCTAssertEqual(error?.file, "test.lua")
        expectPluginError(try plugin.call("helper_value", []), kind: .validation, contains: "no function 'helper_value'")
        XCTAssertEqual(try plugin.call("score", [.table(LuaTable(fields: ["text": ""]))]).first?["score"], 1)
    }

    func testSelfIsThePluginTable() throws {
        let plugin = try loadPlugin(pluginSource(attack: "self.count = (self.count or 0) + 1 return self.count, self.name"))
        XCTAssertEqual(try plugin.call("attack", []), [1, "hostile"])
        XCTAssertEqual(try plugin.call("attack", []), [2, "hostile"])
    }

    // MARK: Validation

    func testFileMustReturnATable() {
        let nothing = expectPluginError(try loadPlugin("local x = 1"), kind: .validation, phase: .load, contains: "must return a table (got nothing)")
        XCTAssertEqual(nothing?.file, "test.lua")
        XCTAssertEqual(nothing?.plugin, "test.lua")
        expectPluginError(try loadPlugin("return 42"), kind: .validation, contains: "must return a table (got number)")
        expectPluginError(try loadPlugin("return 'critic'"), kind: .validation, contains: "(got string)")
        expectPluginError(try loadPlugin("return nil"), kind: .validation, contains: "(got nil)")
        expectPluginError(try loadPlugin("return function() end"), kind: .validation, contains: "(got function)")
    }

    func testKindIsRequiredAndKnown() {
        expectPluginError(try loadPlugin("return {name = 'x'}"), kind: .validation, contains: "missing 'kind'")
        expectPluginError(try loadPlugin("return {kind = 3, name = 'x'}"), kind: .validation, contains: "missing 'kind'")
        let unknown = expectPluginError(try loadPlugin("return {kind = 'judge', name = 'x'}"), kind: .validation,
                                        contains: "unknown kind 'judge'")
        XCTAssertEqual(unknown?.message.contains("attacker, critic, oversight"), true)
        // Read raw: a kind offered through __index does not count.
        expectPluginError(try loadPlugin("return setmetatable({name = 'x'}, {__index = {kind = 'critic'}})"), kind: .validation,
                          contains: "missing 'kind'")
    }

    func testNameIsRequired() {
        expectPluginError(try loadPlugin("return {kind = 'critic', score = function() end}"), kind: .validation, contains: "missing 'name'")
        expectPluginError(try loadPlugin("return {kind = 'critic', name = '', score = function() end}"), kind: .validation,
                          contains: "missing 'name'")
    }

    func testRequiredAndOptionalFunctions() {
        let missing = expectPluginError(try loadPlugin("return {kind = 'critic', name = 'c'}"), kind: .validation,
                                        contains: "a critic plugin must define function 'score'")
        XCTAssertEqual(missing?.plugin, "c")
        expectPluginError(try loadPlugin("return {kind = 'critic', name = 'c', score = 'high'}"), kind: .validation,
                          contains: "'score' must be a function (got string)")
        expectPluginError(try loadPlugin("return {kind = 'critic', name = 'c', score = setmetatable({}, {__call = print})}"),
                          kind: .validation, contains: "'score' must be a function (got table)")
        expectPluginError(try loadPlugin("return {kind = 'attacker', name = 'a', propose = print, observe = 1}"), kind: .validation,
                          contains: "'observe' must be a function when present (got number)")
        expectPluginError(try loadPlugin("return {kind = 'oversight', name = 'o', decide = print, params = 5}"), kind: .validation,
                          contains: "'params' must be a table")
        XCTAssertNoThrow(try loadPlugin("return {kind = 'attacker', name = 'a', propose = function() end}"))
    }

    func testCustomKinds() throws {
        let kinds = [PluginKind(name: "scorer", required: ["run"], optional: ["setup"])]
        let source = "return {kind = 'scorer', name = 's', run = function(self, x) return x * 2 end}"
        let plugin = try Plugin.load(source: Array(source.utf8), file: "s.lua", options: Plugin.Options(budget: .hostile, kinds: kinds))
        XCTAssertEqual(try plugin.call("run", [21]), [42])
        expectPluginError(try Plugin.load(source: Array("return {kind = 'critic', name = 'c', score = print}".utf8), file: "c.lua",
                                          options: Plugin.Options(kinds: kinds)), kind: .validation, contains: "expected one of scorer")
        // The same checks, on a plugin already loaded.
        XCTAssertNoThrow(try kinds[0].validate(plugin))
        expectPluginError(try PluginKind(name: "scorer", required: ["run", "reset"]).validate(plugin), kind: .validation,
                          phase: .load, contains: "a scorer plugin must define function 'reset'")
    }

    func testNoKindsMeansNoKindCheck() throws {
        XCTAssertEqual(Plugin.Options().kinds, [])
        let plugin = try Plugin.load(source: Array("return {kind = 'anything', name = 'a', run = 1}".utf8), file: "a.lua")
        XCTAssertEqual(plugin.kind, "anything")
        expectPluginError(try Plugin.load(source: Array("return {kind = '', name = 'a'}".utf8), file: "a.lua"),
                          kind: .validation, contains: "missing 'kind' (a string)")
        expectPluginError(try Plugin.load(source: Array("return {name = 'a'}".utf8), file: "a.lua"),
                          kind: .validation, contains: "missing 'kind'")
    }

    func testSyntaxErrors() {
        let error = expectPluginError(try loadPlugin("local P = {\nkind = 'critic'\nname = 'x'}"), kind: .syntax, phase: .load)
        XCTAssertEqual(error?.file, "test.lua")
        XCTAssertEqual(error?.line, 3)
        XCTAssertEqual(error?.message.contains("'}' expected"), true, error?.message ?? "")
        XCTAssertEqual(error?.message.hasPrefix("test.lua"), false)
        expectPluginError(try loadPlugin("\u{1b}Lua"), kind: .syntax, phase: .load)
    }

    func testRuntimeErrorsInTheLoadPhase() {
        let error = expectPluginError(try loadPlugin("local x = nil\nreturn x.y"), kind: .runtime, phase: .load)
        XCTAssertEqual(error?.line, 2)
        XCTAssertEqual(error?.file, "test.lua")
        XCTAssertEqual(error?.plugin, "test.lua")
    }

    func testPrepareInstallsTheHostAPIBeforeTheFileRuns() throws {
        let plugin = try loadPlugin("local v = api_version() return {kind = 'critic', name = 'v' .. v, score = function() return api_version() end}") {
            $0.register("api_version", HostFunction("api_version") { call in call.push(integer: 7); return 1 })
        }
        XCTAssertEqual(plugin.name, "v7")
        XCTAssertEqual(try plugin.call("score", []), [7])
    }

    // MARK: PluginError

    func testPluginErrorCarriesEverything() {
        let e = PluginError(plugin: "p", phase: .call, kind: .timeout, message: "m", file: "f.lua", line: 3, traceback: "t")
        XCTAssertEqual(e.plugin, "p")
        XCTAssertEqual(e.phase, .call)
        XCTAssertEqual(e.kind, .timeout)
        XCTAssertEqual(e.message, "m")
        XCTAssertEqual(e.file, "f.lua")
        XCTAssertEqual(e.line, 3)
        XCTAssertEqual(e.traceback, "t")
        XCTAssertEqual(e.description, "plugin 'p' call failed (timeout) at f.lua:3: m")
        XCTAssertEqual(PluginError(plugin: "p", phase: .load, kind: .syntax, message: "m", file: "f.lua").description,
                       "plugin 'p' load failed (syntax) in f.lua: m")
        XCTAssertEqual(PluginError(plugin: "p", phase: .load, kind: .memory, message: "m").description, "plugin 'p' load failed (memory): m")
        XCTAssertEqual(Set([PluginError.Kind.syntax, .runtime, .timeout, .memory, .forbidden, .validation].map(\.rawValue)),
                       ["syntax", "runtime", "timeout", "memory", "forbidden", "validation"])
    }

    func testRuntimeErrorHasTracebackAndLocation() throws {
        let plugin = try loadPlugin(pluginSource(attack: "local t = nil\nreturn t.x"))
        let error = expectPluginError(try plugin.call("attack", []), kind: .runtime, phase: .call)
        XCTAssertEqual(error?.line, 7)
        XCTAssertEqual(error?.file, "test.lua")
        XCTAssertEqual(error?.traceback?.contains("test.lua:7"), true, error?.traceback ?? "")
        XCTAssertEqual(error?.message, "attempt to index a nil value (local 't')")
    }

    // MARK: Host functions

    func testHostFunctionArgumentsAndErrors() throws {
        let add = HostFunction("add") { call in
            call.push(integer: try call.integer(1) + call.integer(2, default: 10)); return 1
        }
        let describe = HostFunction("describe") { call in
            call.push(.text("\(call.argumentCount):\(call.typeName(1)):\(try call.value(1).typeName)")); return 1
        }
        let refuse = HostFunction("refuse") { _ in throw HostCallError.forbidden("not today") }
        let fail = HostFunction("fail") { _ in throw HostCallError.message("it broke") }
        struct Oops: Error {}
        let swiftError = HostFunction("swift_error") { _ in throw Oops() }
        let plugin = try loadPlugin(pluginSource(attack: "return _G[arg[1]](table.unpack(arg, 2))")) { state in
            for f in [add, describe, refuse, fail, swiftError] { state.register(f.name, f) }
        }
        XCTAssertEqual(try plugin.call("attack", [.list(["add", 2, 3])]), [5])
        XCTAssertEqual(try plugin.call("attack", [.list(["add", 2])]), [12])
        XCTAssertEqual(try plugin.call("attack", [.list(["add", 2.0, 3])]), [5])
        XCTAssertEqual(try plugin.call("attack", [.list(["describe", .list([1])])]), ["1:table:table"])
        expectPluginError(try plugin.call("attack", [.list(["add", "x"])]), kind: .runtime,
                          contains: "bad argument #1 to 'add' (number expected, got string)")
        expectPluginError(try plugin.call("attack", [.list(["add", 2.5])]), kind: .runtime,
                          contains: "bad argument #1 to 'add' (number has no integer representation)")
        let refused = expectPluginError(try plugin.call("attack", [.list(["refuse"])]), kind: .forbidden, contains: "not today")
        XCTAssertEqual(refused?.line, 6)
        expectPluginError(try plugin.call("attack", [.list(["fail"])]), kind: .runtime, contains: "it broke")
        expectPluginError(try plugin.call("attack", [.list(["swift_error"])]), kind: .runtime, contains: "swift_error")
        XCTAssertEqual(try plugin.call("attack", [.list(["add", 1, 1])]), [2])
    }

    func testHostFunctionErrorsCanBeCaughtByPcall() throws {
        let plugin = try loadPlugin(pluginSource(attack: "return pcall(fail)")) {
            $0.register("fail", HostFunction("fail") { _ in throw HostCallError.message("caught") })
        }
        let out = try plugin.call("attack", [])
        XCTAssertEqual(out.first, false)
        XCTAssertEqual(out[1].text?.hasSuffix("caught"), true)
    }

    func testHostFunctionResultsOverTheMemoryCapAreAMemoryError() throws {
        let big = HostFunction("big") { call in
            call.push(.string([UInt8](repeating: 120, count: 20 << 20))); return 1
        }
        let plugin = try loadPlugin(pluginSource(attack: "local s = big() return #s")) { $0.register("big", big) }
        expectPluginError(try plugin.call("attack", []), kind: .memory)
        assertServes(plugin)
    }
}

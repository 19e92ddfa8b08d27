import LuaHost
import XCTest

/// A plugin cannot change what another plugin sees.
final class IsolationTests: XCTestCase {
    /// Installs a host-API-like read-only global table `sa`, as the domain layer will.
    static func installHostAPI(_ state: LuaState) throws {
        state.register("host_version", HostFunction("host_version") { call in call.push(.text("1.0")); return 1 })
        try state.run(source: """
            local api = {version = host_version, items = {1, 2, 3}, name = "api"}
            host_version = nil
            sa = setmetatable({}, {
              __index = api,
              __newindex = function() error("the host API is read-only", 2) end,
              __metatable = "sa",
            })
            """, chunkName: "=(host api)")
    }

    static let tamper = """
        -- globals
        shared_global = "tampered"
        print = function() return "hijacked" end
        _G.type = function() return "hijacked" end
        rawset(_G, "pairs", nil)
        -- standard library tables
        string.upper = function() return "hijacked" end
        string.format = nil
        table.insert = function() error("hijacked") end
        math.pi = 3
        math.random = function() return 4 end
        coroutine.wrap = nil
        utf8.char = nil
        -- the string metatable, through the only handle it gives out: the string table
        local smt = getmetatable("")
        assert(smt == "string")
        string.lower = function() return "hijacked" end
        -- the host API table: its proxy refuses writes, so go for the table behind it too
        local ok = pcall(function() sa.version = nil end)
        assert(not ok)
        rawset(sa, "version", "hijacked")
        rawset(sa, "extra", "added")
        """

    static let observe = """
        local checks = {
          shared_global = function() return shared_global == nil end,
          print = function() return type(print) == "function" and print("x") == nil end,
          type = function() return type(1) == "number" end,
          pairs = function() return pairs ~= nil end,
          upper = function() return ("a"):upper() == "A" and string.upper("b") == "B" end,
          format = function() return ("%d"):format(3) == "3" end,
          insert = function() local t = {} table.insert(t, 1) return t[1] == 1 end,
          pi = function() return math.pi > 3.14 end,
          random = function() return math.random(1, 1000) ~= 4 or math.random(1, 1000) ~= 4 end,
          wrap = function() return coroutine.wrap ~= nil end,
          char = function() return utf8.char(65) == "A" end,
          lower = function() return ("A"):lower() == "a" end,
          api_version = function() return sa.version() == "1.0" end,
          api_extra = function() return rawget(sa, "extra") == nil and sa.extra == nil end,
        }
        local out = {}
        for k, f in next, checks do local ok, v = pcall(f) out[k] = ok and v == true end
        return out
        """

    func testTamperingInOnePluginIsInvisibleToAnother() throws {
        let attacker = try loadPlugin(pluginSource(attack: Self.tamper + "\nreturn true", extra: "function P.look(self) \(Self.observe) end"),
                                      prepare: Self.installHostAPI)
        let victim = try loadPlugin(pluginSource(extra: "function P.look(self) \(Self.observe) end"),
                                    prepare: Self.installHostAPI)
        let clean = try victim.call("look", [])
        XCTAssertEqual(try attacker.call("attack", []), [true])
        // The attacker did change its own world…
        let own = try attacker.call("look", []).first?.table?.fields ?? [:]
        XCTAssertEqual(own["upper"], false)
        XCTAssertEqual(own["shared_global"], false)
        // … and nothing of the victim's.
        let after = try victim.call("look", [])
        XCTAssertEqual(after, clean)
        for (key, value) in after.first?.table?.fields ?? [:] { XCTAssertEqual(value, true, key) }
        XCTAssertEqual(after.first?.table?.fields.count, 14)
        // A plugin loaded after the tampering is clean too.
        let late = try loadPlugin(pluginSource(extra: "function P.look(self) \(Self.observe) end"), prepare: Self.installHostAPI)
        XCTAssertEqual(try late.call("look", []), clean)
    }

    func testTamperingDuringLoadIsInvisibleToAnother() throws {
        _ = try loadPlugin(pluginSource(prologue: Self.tamper), prepare: Self.installHostAPI)
        let victim = try loadPlugin(pluginSource(extra: "function P.look(self) \(Self.observe) end"), prepare: Self.installHostAPI)
        for (key, value) in try victim.call("look", []).first?.table?.fields ?? [:] { XCTAssertEqual(value, true, key) }
    }

    func testTheStringMetatableCannotBeReplacedOrReached() {
        expectPluginError(try runLua("setmetatable('', {})"), kind: .runtime)
        XCTAssertEqual(evalLua("return getmetatable('').__index"), nil)
        XCTAssertEqual(evalLua("return getmetatable('abc') == 'string' and getmetatable(1) == nil"), true)
    }

    func testTheGlobalsMetatableIsProtected() {
        XCTAssertEqual(evalLua("return getmetatable(_G)"), "globals")
        expectPluginError(try runLua("setmetatable(_G, nil)"), kind: .runtime, contains: "protected metatable")
    }

    func testPluginsDoNotShareStateThroughTheirTables() throws {
        let source = pluginSource(attack: "self.params.threshold = arg counter = (counter or 0) + 1 return counter")
        let a = try loadPlugin(source), b = try loadPlugin(source)
        XCTAssertEqual(try a.call("attack", [0.9]), [1])
        XCTAssertEqual(try a.call("attack", [0.8]), [2])
        XCTAssertEqual(try b.call("attack", [0.1]), [1])
        XCTAssertEqual(try a.params["threshold"], 0.8)
        XCTAssertEqual(try b.params["threshold"], 0.1)
    }

    func testAFailingPluginDoesNotDisturbAnother() throws {
        let good = try loadPlugin(pluginSource(attack: "return 'fine'"))
        let bad = try loadPlugin(pluginSource(attack: "while true do end"))
        XCTAssertEqual(try good.call("attack", []), ["fine"])
        expectPluginError(try bad.call("attack", []), kind: .timeout)
        XCTAssertEqual(try good.call("attack", []), ["fine"])
        expectPluginError(try bad.call("attack", []), kind: .timeout)
        XCTAssertEqual(try good.call("attack", []), ["fine"])
    }
}

import CLua
import LuaHost
import XCTest

/// Values crossing Lua → Swift and back.
final class MarshallingTests: XCTestCase {
    func marshalError(_ code: String, limits: LuaMarshalLimits = .default, contains: String,
                      file: StaticString = #filePath, line: UInt = #line) {
        do {
            let plugin = try loadPlugin(pluginSource(attack: code))
            plugin.state.limits = limits
            let error = expectPluginError(try plugin.call("attack", []), kind: .validation, phase: .call, contains: contains,
                                          file: file, line: line)
            XCTAssertEqual(error?.plugin, "hostile", file: file, line: line)
            assertServes(plugin, file: file, line: line)
        } catch {
            XCTFail("\(error)", file: file, line: line)
        }
    }

    func value(_ code: String, file: StaticString = #filePath, line: UInt = #line) -> LuaValue {
        do { return try loadPlugin(pluginSource(attack: code)).call("attack", []).first ?? .nil } catch {
            XCTFail("\(error)", file: file, line: line)
            return .nil
        }
    }

    // MARK: Refused values

    func testCyclesAreRefusedWithAPath() {
        marshalError("local t = {} t.self = t return t", contains: "cycle")
        marshalError("local t = {a = {b = {}}} t.a.b.c = t return t", contains: "attack result #1.a.b.c")
        marshalError("local t = {} t[1] = {t} return t", contains: "attack result #1[1][1]")
    }

    func testSharedSubtablesAreNotCycles() {
        let v = value("local s = {1, 2} return {a = s, b = s, c = {s, s}}")
        XCTAssertEqual(v["a"], .list([1, 2]))
        XCTAssertEqual(v["c"], .list([.list([1, 2]), .list([1, 2])]))
    }

    func testDepthCap() {
        marshalError("local t = {} for i = 1, 100 do t = {t} end return t", contains: "nested deeper than 64")
        XCTAssertNotEqual(value("local t = {} for i = 1, 63 do t = {t} end return t"), .nil)
        marshalError("local t = {} for i = 1, 10 do t = {x = t} end return t",
                     limits: LuaMarshalLimits(maxDepth: 5), contains: "attack result #1.x.x.x.x.x")
    }

    func testElementCap() {
        marshalError("local t = {} for i = 1, 101 do t[i] = i end return t",
                     limits: LuaMarshalLimits(maxElements: 100), contains: "more than 100 table entries")
        marshalError("local t = {} for i = 1, 101 do t['k' .. i] = i end return t",
                     limits: LuaMarshalLimits(maxElements: 100), contains: "more than 100 table entries")
        // A shared subtable counts every time it is reached: a DAG cannot blow up the host.
        marshalError("local t = {1} for i = 1, 40 do t = {t, t} end return t",
                     limits: LuaMarshalLimits(maxElements: 10_000), contains: "more than 10000 table entries")
    }

    func testElementCapIsSharedByAllResultsOfACall() {
        // Many results that each stay under the caps must not add up to an unbounded copy.
        marshalError("local t = {} for i = 1, 60 do t[i] = i end return t, t, t",
                     limits: LuaMarshalLimits(maxElements: 100), contains: "more than 100 table entries")
        marshalError("local s = string.rep('x', 600) return s, s",
                     limits: LuaMarshalLimits(maxStringBytes: 1000), contains: "exceed the limit of 1000 bytes")
    }

    func testStringByteCap() {
        marshalError("return string.rep('x', 1001)", limits: LuaMarshalLimits(maxStringBytes: 1000),
                     contains: "exceed the limit of 1000 bytes")
        marshalError("local s = string.rep('x', 400) return {s, s, s}", limits: LuaMarshalLimits(maxStringBytes: 1000),
                     contains: "attack result #1[3]")
        marshalError("return {[string.rep('k', 2000)] = 1}", limits: LuaMarshalLimits(maxStringBytes: 1000),
                     contains: "exceed the limit")
    }

    func testFunctionsUserdataAndCoroutinesAreRefusedWithAPath() {
        marshalError("return print", contains: "attack result #1: a function value cannot cross")
        marshalError("return {handler = {on = function() end}}", contains: "attack result #1.handler.on: a function value")
        marshalError("return {coroutine.create(function() end)}", contains: "attack result #1[1]: a thread value")
        marshalError("return 1, 2, function() end", contains: "attack result #3")
        marshalError("return {[{}] = 1}", contains: "a table key cannot cross")
        marshalError("return {[print] = 1}", contains: "a function key cannot cross")
    }

    func testLightUserdataIsRefused() throws {
        // The host's own functions carry light userdata upvalues; a plugin never gets one, but a
        // host function that pushed one could not smuggle it out either.
        let state = try LuaState(name: "u", budget: .hostile)
        state.register("ud", HostFunction("ud") { call in
            lua_pushlightuserdata(call.L, UnsafeMutableRawPointer(bitPattern: 0x1234)); return 1
        })
        XCTAssertThrowsError(try state.run(source: "return {x = ud()}", chunkName: "=u")) { error in
            XCTAssertTrue("\(error)".contains("userdata"), "\(error)")
        }
    }

    func testBadValuesFromRunAreAPluginError() throws {
        let state = try LuaState(name: "r", budget: .hostile)
        expectPluginError(try state.run(source: "return print", chunkName: "=r"), kind: .validation, contains: "function")
        XCTAssertEqual(try state.run(source: "return 1", chunkName: "=r"), [1])
    }

    // MARK: Strings

    func testStringsAreKeptByteExact() {
        XCTAssertEqual(value(#"return "a\0b\0""#), .string([97, 0, 98, 0]))
        XCTAssertEqual(value(#"return "\xff\xfe\x80abc""#), .string([0xFF, 0xFE, 0x80, 97, 98, 99]))
        XCTAssertEqual(value(#"return "\u{10FFFF}""#), .string([0xF4, 0x8F, 0xBF, 0xBF]))
        XCTAssertEqual(value(#"return {["\0k"] = "\0v"}"#)["\u{0}k"], .string([0, 118]))
        XCTAssertEqual(value(#"return """#), .string([]))
    }

    func testBinaryStringsRoundTrip() throws {
        let plugin = try loadPlugin(pluginSource(attack: "return arg, #arg, arg:byte(1, -1)"))
        let bytes: [UInt8] = [0, 255, 128, 10, 0, 192, 175]
        let out = try plugin.call("attack", [.string(bytes)])
        XCTAssertEqual(out.first, .string(bytes))
        XCTAssertEqual(out[1], 7)
        XCTAssertEqual(out.dropFirst(2).map { $0.int ?? -1 }, bytes.map(Int.init))
    }

    // MARK: Numbers

    func testIntegersAndFloatsStayApart() {
        XCTAssertEqual(value("return {1, 1.0, 2^53, 3 // 1, 3 / 1, math.maxinteger, math.mininteger, -0.0}"), .list([
            .integer(1), .number(1.0), .number(9007199254740992), .integer(3), .number(3),
            .integer(.max), .integer(.min), .number(-0.0),
        ]))
    }

    func testNaNInfinityAndHugeFloatsCrossWithoutATrap() {
        let v = value("return {0/0, 1/0, -1/0, 1e308 * 10, 2^63, -2^63, 1e300, 2^63 - 1024}")
        guard let a = v.table?.array, a.count == 8 else { return XCTFail("\(v)") }
        XCTAssertTrue(a[0].double?.isNaN ?? false)
        XCTAssertEqual(a[1].double, .infinity)
        XCTAssertEqual(a[2].double, -.infinity)
        XCTAssertEqual(a[3].double, .infinity)
        for x in a { if case .number = x {} else { XCTFail("\(x) should stay a float") } }
        XCTAssertNil(a[0].int)
        XCTAssertNil(a[1].int)
        XCTAssertNil(a[2].int)
        XCTAssertNil(a[4].int, "2^63 is just out of Int range")
        XCTAssertEqual(a[5].int, Int.min)
        XCTAssertNil(a[6].int)
        XCTAssertEqual(a[7].int, 9_223_372_036_854_774_784)
        XCTAssertThrowsError(try v.jsonText())
    }

    func testNaNAsAReturnValueIsReadNotTrapped() throws {
        let plugin = try loadPlugin(pluginSource(attack: "return 0/0"))
        let v = try plugin.call("attack", [])
        XCTAssertTrue(v.first?.double?.isNaN ?? false)
        XCTAssertNil(v.first?.int)
    }

    func testSwiftFloatsThatAreIntegralStayFloats() throws {
        let plugin = try loadPlugin(pluginSource(attack: "return math.type(arg), arg"))
        XCTAssertEqual(try plugin.call("attack", [.number(2)]), ["float", .number(2)])
        XCTAssertEqual(try plugin.call("attack", [.integer(2)]), ["integer", .integer(2)])
        let nan = try plugin.call("attack", [.number(.nan)])
        XCTAssertTrue(nan[1].double?.isNaN ?? false)
    }

    // MARK: Tables

    func testMixedKeysAreSortedDeterministically() {
        let v = value("""
            local t = {10, 20, 30}
            t.b = 1; t.a = 2; t[true] = 3; t[false] = 4; t[2.5] = 5; t[-7] = 6; t[100] = 7; t["10"] = 8; t[0] = 9
            return t
            """)
        XCTAssertEqual(v.table?.array, [10, 20, 30])
        XCTAssertEqual(v.table?.hash.map(\.key), [false, true, -7, 0, 2.5, 100, "10", "a", "b"])
        // The same table built in a different order reads the same.
        let w = value("""
            local t = {}
            t[0] = 9; t["10"] = 8; t[100] = 7; t[-7] = 6; t[2.5] = 5; t[false] = 4; t[true] = 3; t.a = 2; t.b = 1
            t[3] = 30; t[2] = 20; t[1] = 10
            return t
            """)
        XCTAssertEqual(v, w)
    }

    func testArrayPartStopsAtTheFirstHole() {
        let v = value("return {1, 2, nil, 4}")
        XCTAssertEqual(v.table?.array, [1, 2])
        XCTAssertEqual(v.table?.hash, [LuaTable.Entry(key: 4, value: 4)])
    }

    func testTablesWithMetatablesAreReadRaw() throws {
        let plugin = try loadPlugin(pluginSource(attack: """
            touched = false
            local mt = {
              __index = function(t, k) touched = true return "via index" end,
              __pairs = function(t) touched = true return next, {fake = true}, nil end,
              __len = function() touched = true return 99 end,
              __tostring = function() touched = true return "x" end,
              __metatable = "locked",
            }
            return setmetatable({1, 2, real = true}, mt)
            """, extra: "function P.touched(self) return touched end"))
        let v = try plugin.call("attack", []).first
        XCTAssertEqual(v, .table(LuaTable(array: [1, 2], hash: [.init(key: "real", value: true)])))
        XCTAssertEqual(try plugin.call("touched", []), [false])
    }

    func testSwiftToLuaRoundTrip() throws {
        let original: LuaValue = .table(LuaTable(array: [1, 2.5, "three", .string([0, 255]), true, false],
                                                 hash: [.init(key: "nested", value: .table(LuaTable(fields: ["a": .list([1, 2])]))),
                                                        .init(key: -1, value: "neg"), .init(key: 1.5, value: "half"),
                                                        .init(key: true, value: "yes"), .init(key: "", value: .table(LuaTable()))]))
        let plugin = try loadPlugin(pluginSource(attack: "return arg"))
        XCTAssertEqual(try plugin.call("attack", [original]), [original])
        let typed = try loadPlugin(pluginSource(attack: "return math.type(arg[1]), math.type(arg[2]), type(arg.nested.a)"))
        XCTAssertEqual(try typed.call("attack", [original]), ["integer", "float", "table"])
    }

    func testSwiftNilAndNaNKeysAreSkippedWhenPushed() throws {
        let weird: LuaValue = .table(LuaTable(hash: [.init(key: .nil, value: 1), .init(key: .number(.nan), value: 2),
                                                     .init(key: "ok", value: 3)]))
        let plugin = try loadPlugin(pluginSource(attack: "local n = 0 for k in pairs(arg) do n = n + 1 end return n, arg.ok"))
        XCTAssertEqual(try plugin.call("attack", [weird]), [1, 3])
    }

    func testManyArgumentsAndResults() throws {
        let plugin = try loadPlugin(pluginSource(attack: "return 1", extra: """
            function P.echo(self, ...) return ... end
            function P.count(self, ...) return select('#', ...) end
            """))
        let args = (0..<500).map { LuaValue.integer(Int64($0)) }
        XCTAssertEqual(try plugin.call("count", args), [500])
        XCTAssertEqual(try plugin.call("echo", args), args)
        XCTAssertEqual(try plugin.call("echo", [nil, 1, nil]), [nil, 1, nil])
    }

    func testGlobalReadsRaw() throws {
        let state = try LuaState(name: "g", budget: .hostile)
        state.setGlobal("config", .table(LuaTable(fields: ["depth": 3])))
        try state.run(source: "config.depth = config.depth + 1", chunkName: "=g")
        XCTAssertEqual(try state.global("config")["depth"], 4)
        XCTAssertEqual(try state.global("io"), .nil, "reading a forbidden global from the host is raw: nil")
    }
}

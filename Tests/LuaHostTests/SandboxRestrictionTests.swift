import LuaHost
import XCTest

/// The restricted entries behave as their rules say; forbidden names are absent and say so.
final class SandboxRestrictionTests: XCTestCase {
    // MARK: Forbidden names

    func testEveryForbiddenGlobalIsAbsentAndReadingItIsForbidden() {
        for name in Sandbox.forbiddenGlobals {
            XCTAssertEqual(evalLua("return rawget(_G, '\(name)') == nil"), true, "'\(name)' exists")
            let error = expectPluginError(try runLua("return \(name)"), kind: .forbidden, phase: .load, contains: name)
            XCTAssertEqual(error?.message.contains("not available in the plugin sandbox"), true, "\(String(describing: error))")
        }
    }

    func testEveryForbiddenGlobalIsForbiddenInAPluginCall() throws {
        let plugin = try loadPlugin(pluginSource(attack: "return _G[arg]"))
        for name in Sandbox.forbiddenGlobals {
            let error = expectPluginError(try plugin.call("attack", [.text(name)]), kind: .forbidden, phase: .call, contains: name)
            XCTAssertEqual(error?.plugin, "hostile")
            XCTAssertEqual(error?.line, 6, "the error points at the plugin's line")
        }
        assertServes(plugin)
    }

    func testEveryForbiddenLibraryEntryIsAbsentAndReadingItIsForbidden() {
        for (lib, name) in Sandbox.forbiddenEntries {
            XCTAssertEqual(evalLua("return rawget(\(lib), '\(name)') == nil"), true, "'\(lib).\(name)' exists")
            expectPluginError(try runLua("return \(lib).\(name)"), kind: .forbidden, contains: "\(lib).\(name)")
            expectPluginError(try runLua("return \(lib).\(name)(function() end)"), kind: .forbidden, contains: "\(lib).\(name)")
        }
    }

    func testStringDumpThroughTheStringMetatableIsForbidden() {
        expectPluginError(try runLua("return ('x'):dump()"), kind: .forbidden, contains: "string.dump")
    }

    func testUnknownGlobalsAndLibraryEntriesStillReadAsNil() {
        XCTAssertEqual(evalLua("return undefined_thing == nil and string.nothing == nil and table.nothing == nil"), true)
    }

    // MARK: setmetatable

    func testSetmetatableRefusesGc() {
        expectPluginError(try runLua("setmetatable({}, {__gc = function() end})"), kind: .forbidden, contains: "__gc")
        expectPluginError(try runLua("setmetatable({}, {__gc = false})"), kind: .forbidden, contains: "__gc")
    }

    func testSetmetatableRefusesGcAddedLaterWhenSetAgain() throws {
        let plugin = try loadPlugin(pluginSource(attack: """
            local mt = {}
            local t = setmetatable({}, mt)
            mt.__gc = function() while true do end end
            setmetatable(t, mt)
            """))
        expectPluginError(try plugin.call("attack", []), kind: .forbidden, contains: "__gc")
        assertServes(plugin)
    }

    func testGcAddedAfterSetmetatableNeverRuns() throws {
        // Lua marks an object for finalization only when setmetatable sees __gc; one added later
        // never runs, at collection or at shutdown.
        var plugin: Plugin? = try loadPlugin(pluginSource(attack: """
            local mt = {}
            for i = 1, 100 do setmetatable({}, mt) end
            mt.__gc = function() ran = true; while true do end end
            for i = 1, 1000 do local _ = {i} end
            return collectgarbage("count") > 0, ran
            """))
        XCTAssertEqual(try plugin!.call("attack", []), [true, nil])
        let start = ContinuousClock.now
        plugin = nil
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(2))
    }

    func testMetatablesWithoutGcStillWork() {
        XCTAssertEqual(evalLua("""
            local v = setmetatable({}, {__add = function(a, b) return 5 end, __index = function(t, k) return k .. '!' end})
            return (v + 1) == 5 and v.x == 'x!'
            """), true)
    }

    // MARK: load

    func testLoadRefusesBinaryChunks() {
        // string.dump does not exist, so a binary chunk is crafted from Lua's header signature.
        XCTAssertEqual(evalLua("""
            local f, err = load("\\27Lua\\x54\\0\\x19\\x93\\r\\n\\x1a\\n\\4\\8\\8")
            return f == nil and err:find("binary") ~= nil
            """), true)
        XCTAssertEqual(evalLua("""
            local parts = {"\\27Lua", "\\x54\\0"}
            local i = 0
            local f, err = load(function() i = i + 1 return parts[i] end)
            return f == nil and err:find("binary") ~= nil
            """), true)
        expectPluginError(try runLua("return load('return 1', 'x', 'b')"), kind: .forbidden, contains: "text chunks")
        expectPluginError(try runLua("return load('return 1', 'x', 'bt')"), kind: .forbidden, contains: "text chunks")
        XCTAssertEqual(evalLua("return load('return 3', 'x', 't')()"), 3)
    }

    func testLoadUsesThePluginsGlobalsUnlessATableIsGiven() {
        XCTAssertEqual(evalLua("secret = 41 return load('return secret + 1')()"), 42)
        XCTAssertEqual(evalLua("load('made_here = 7')() return made_here"), 7)
        XCTAssertEqual(evalLua("secret = 41 return load('return secret', 'c', 't', {secret = 'own'})()"), "own")
        XCTAssertEqual(evalLua("secret = 41 return load('return secret', 'c', 't', nil)()"), 41)
        XCTAssertEqual(evalLua("secret = 41 return load('return secret', 'c', 't', 'not a table')()"), 41)
        // The plugin's environment keeps its rules: forbidden names stay forbidden.
        expectPluginError(try runLua("return load('return io')()"), kind: .forbidden, contains: "io")
    }

    func testLoadWithACraftedEnvironmentGainsNothing() {
        XCTAssertEqual(evalLua("""
            local env = setmetatable({}, {__index = function(_, k) return k end})
            local f = load('return io, os, debug', 'x', 't', env)
            local a, b, c = f()
            return a == 'io' and b == 'os' and c == 'debug' and type(a) == 'string'
            """), true)
    }

    func testLoadReportsSyntaxErrorsAsValues() {
        XCTAssertEqual(evalLua("local f, e = load('return +') return f == nil and e:find('unexpected') ~= nil"), true)
    }

    // MARK: collectgarbage

    func testCollectgarbageOnlyCounts() {
        XCTAssertEqual(evalLua("return math.type(collectgarbage('count'))"), "float")
        for opt in ["", "'collect'", "'stop'", "'restart'", "'step'", "'isrunning'", "'incremental'", "'generational'", "'setpause'"] {
            expectPluginError(try runLua("return collectgarbage(\(opt))"), kind: .forbidden, contains: "count")
        }
    }

    // MARK: print and warn

    func testPrintAndWarnGoToTheHostLogger() throws {
        let logger = HostLogger()
        _ = try runLua("print('a', 1, nil, true, 2.5) warn('w', 'x') warn('@on') warn('@off')", logger: logger)
        XCTAssertEqual(logger.lines.map(\.level), [.info, .warning])
        XCTAssertEqual(logger.lines.map(\.source), ["test", "test"])
        XCTAssertEqual(logger.lines.map(\.message), ["a\t1\tnil\ttrue\t2.5", "wx"])
    }

    func testPrintUsesTostringMetamethods() throws {
        let logger = HostLogger()
        _ = try runLua("print(setmetatable({}, {__tostring = function() return 'custom' end}))", logger: logger)
        XCTAssertEqual(logger.lines.map(\.message), ["custom"])
    }

    func testWarnNeedsStrings() {
        expectPluginError(try runLua("warn({})"), kind: .runtime, contains: "warn")
        expectPluginError(try runLua("warn()"), kind: .runtime, contains: "warn")
    }

    func testHostLoggerCapIsRespected() throws {
        let logger = HostLogger(maxBytes: 1000, maxLineBytes: 100)
        let plugin = try loadPlugin(pluginSource(attack: """
            for i = 1, 10000 do print(string.rep('x', 50)) end
            print(string.rep('y', 5000))
            return true
            """), logger: logger)
        XCTAssertEqual(try plugin.call("attack", []), [true])
        let kept = logger.lines.reduce(0) { $0 + $1.message.utf8.count }
        XCTAssertLessThanOrEqual(kept, 1000)
        XCTAssertEqual(logger.lines.count, 20)
        XCTAssertEqual(logger.droppedLines, 10001 - 20)
        logger.clear()
        _ = try plugin.call("attack", [])
        XCTAssertEqual(logger.lines.count, 20)
    }

    func testLongLinesAreTruncated() throws {
        let logger = HostLogger(maxBytes: 10_000, maxLineBytes: 10)
        _ = try runLua("print(string.rep('z', 100))", logger: logger)
        XCTAssertEqual(logger.lines.first?.message.hasPrefix("zzzzzzzzzz"), true)
        XCTAssertEqual(logger.lines.first?.message.contains("truncated"), true)
        XCTAssertLessThan(logger.lines.first?.message.utf8.count ?? 1000, 40)
    }

    func testLoggerSinkSeesEveryKeptLine() throws {
        var seen: [String] = []
        let logger = HostLogger(maxBytes: 12) { _, _, message in seen.append(message) }
        _ = try runLua("print('hello') print('world') print('dropped')", logger: logger)
        XCTAssertEqual(seen.prefix(2), ["hello", "world"])
        XCTAssertEqual(seen.count, 3, "one note that the limit was reached: \(seen)")
    }

    // MARK: math.random

    func testRandomIsDeterministicPerSeed() throws {
        let code = "local t = {} for i = 1, 20 do t[i] = math.random(1, 1000000) end t[21] = math.random() return t"
        let a = try runLua(code, seed: 1), b = try runLua(code, seed: 1), c = try runLua(code, seed: 2)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
    }

    func testPluginSeedDrivesRandom() throws {
        let src = pluginSource(attack: "return math.random(1, 1 << 40)")
        let a = try loadPlugin(src, seed: 99).call("attack", [])
        let b = try loadPlugin(src, seed: 99).call("attack", [])
        let c = try loadPlugin(src, seed: 100).call("attack", [])
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
    }

    func testRandomseedNeedsAnExplicitSeed() {
        expectPluginError(try runLua("math.randomseed()"), kind: .forbidden, contains: "explicit seed")
        XCTAssertEqual(evalLua("""
            math.randomseed(5) local a = math.random(1 << 30)
            math.randomseed(5) return a == math.random(1 << 30)
            """), true)
    }

    // MARK: string.rep and table.move

    func testRepIsBounded() {
        XCTAssertEqual(evalLua("return string.rep('', 1e15) == '' and string.rep('', 1e15, '') == '' and string.rep('x', -5) == ''"), true)
        XCTAssertEqual(evalLua("return #string.rep('ab', 1000, '-')"), 2999)
        expectPluginError(try runLua("return string.rep('x', 1e15)"), kind: .memory)
        expectPluginError(try runLua("return string.rep('', 1e15, 'x')"), kind: .memory)
        expectPluginError(try runLua("return string.rep('x', 1 << 62)"), kind: .memory)
        expectPluginError(try runLua("return string.rep('x', 2.5)"), kind: .runtime, contains: "integer")
    }

    func testMoveRunsUnderTheBudget() {
        expectPluginError(try runLua("return table.move({}, 1, 1e15, 2)"), kind: .timeout)
        XCTAssertEqual(evalLua("local a = table.move({1, 2, 3}, 2, 3, 1, {}) return #a == 2 and a[1] == 2"), true)
        XCTAssertEqual(evalLua("local t = table.move({1, 2, 3, 4}, 1, 3, 2) return table.concat(t, ',')"), "1,1,2,3")
        XCTAssertEqual(evalLua("local t = table.move({1, 2, 3, 4}, 2, 4, 1) return table.concat(t, ',')"), "2,3,4,4")
        XCTAssertEqual(evalLua("return #table.move({1, 2}, 3, 1, 1)"), 2)
    }

    // MARK: Table functions

    func testTableFunctionsOnTablesWithMetatablesRunUnderTheBudget() {
        // Unbounded lengths are stopped by the budget (see HostileLoopTests for more).
        expectPluginError(try runLua("table.insert(setmetatable({}, {__len = function() return 1e15 end}), 1, 'x')"), kind: .timeout)
        // The Lua versions behave as the C ones do.
        XCTAssertEqual(evalLua("""
            local store = {}
            local t = setmetatable({}, {__index = store, __newindex = store, __len = function() return #store end})
            table.insert(t, 'b') table.insert(t, 1, 'a') table.insert(t, 'd') table.insert(t, 3, 'c')
            local r1 = table.remove(t, 2) local r2 = table.remove(t) local r3 = table.remove(setmetatable({}, {}))
            table.insert(t, 'z') table.insert(t, 'm')
            table.sort(t)
            local up = table.concat(t, ',')
            table.sort(t, function(a, b) return a > b end)
            return up .. '|' .. table.concat(t, '-', 2, 3) .. '|' .. r1 .. r2 .. tostring(r3) .. '|' .. table.concat(t, '', 4, 3)
            """), "a,c,m,z|m-c|bdnil|")
        let errors: [(String, String)] = [
            ("table.insert(setmetatable({}, {}), 5, 'x')", "position out of bounds"),
            ("table.insert(setmetatable({}, {}), 1, 2, 3)", "wrong number of arguments to 'insert'"),
            ("table.insert(setmetatable({}, {}), 'x', 2)", "bad argument #2 to 'insert'"),
            ("table.remove(setmetatable({1, 2}, {}), 7)", "position out of bounds"),
            ("table.concat(setmetatable({1, {}}, {}))", "invalid value (at index 2) in table for 'concat'"),
            ("table.concat(setmetatable({1}, {}), {})", "bad argument #2 to 'concat'"),
            ("table.sort(setmetatable({3, 2}, {}), 5)", "bad argument #2 to 'sort'"),
            ("table.sort(setmetatable({3, {}}, {}))", "attempt to compare"),
            ("table.insert(setmetatable({}, {__len = function() return 1.5 end}), 1)", "object length is not an integer"),
            ("table.insert(nil, 1)", "bad argument #1 to 'insert'"),
        ]
        for (code, message) in errors {
            expectPluginError(try runLua(code), kind: .runtime, contains: message)
        }
    }

    // MARK: Coroutines and message handlers

    func testCoroutinesWorkWithinTheBudget() {
        XCTAssertEqual(evalLua("""
            local gen = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) return b * 2 end)
            local co = coroutine.create(function() coroutine.yield(1) error('inside') end)
            local _, y = coroutine.resume(co)
            local ok, err = coroutine.resume(co)
            local closed = coroutine.close(coroutine.create(function() end))
            local wrapped_ok, wrapped_err = pcall(coroutine.wrap(function() error('w') end))
            return gen(1) == 2 and gen(5) == 10 and y == 1 and not ok and err:find('inside') ~= nil and closed
              and not wrapped_ok and wrapped_err:find('w') ~= nil
            """), true)
        // __close handlers run when a coroutine is closed or fails, as in standard Lua.
        XCTAssertEqual(evalLua("""
            local log = {}
            local function closing(name) return setmetatable({}, {__close = function() log[#log + 1] = name end}) end
            local co = coroutine.create(function() local a <close> = closing('a') coroutine.yield() end)
            coroutine.resume(co) coroutine.close(co)
            pcall(coroutine.wrap(function() local b <close> = closing('b') error('x') end))
            return table.concat(log, ',')
            """), "a,b")
        expectPluginError(try runLua("coroutine.wrap(1)"), kind: .runtime, contains: "bad argument #1 to 'wrap'")
        expectPluginError(try runLua("coroutine.resume(1)"), kind: .runtime, contains: "bad argument #1")
    }

    func testNoCoroutineIsEnteredOnceTheBudgetIsExceeded() throws {
        let plugin = try loadPlugin(pluginSource(attack: """
            local co = coroutine.create(function() entered = true end)
            local gen = coroutine.wrap(function() entered = true end)
            pcall(function() while true do end end)
            -- the hook stops this thread at once; a resume from a __close or handler is refused too
            coroutine.resume(co) gen()
            """, extra: "function P.entered(self) return entered end"))
        expectPluginError(try plugin.call("attack", []), kind: .timeout)
        XCTAssertEqual(try plugin.call("entered", []), [nil])
    }

    func testXpcallHandlersDoNotRunOnceTheBudgetIsExceeded() throws {
        let plugin = try loadPlugin(pluginSource(attack: """
            xpcall(function() while true do end end, function(m) handled = true return m end)
            """, extra: "function P.handled(self) return handled end"))
        expectPluginError(try plugin.call("attack", []), kind: .timeout)
        XCTAssertEqual(try plugin.call("handled", []), [nil])
        XCTAssertEqual(evalLua("return select(2, xpcall(error, function(m) return 'handled ' .. m end, 'e'))"), "handled e")
        expectPluginError(try runLua("xpcall(print, 5)"), kind: .runtime, contains: "bad argument #2 to 'xpcall'")
    }

    // MARK: Pattern functions

    func testPatternFunctionsAreBudgeted() {
        let bad = #"(("a"):rep(40), ("a*"):rep(20) .. "b")"#
        for call in ["string.find\(bad)", "string.match\(bad)", "string.gsub\(bad.dropLast()), 'x')",
                     "string.gmatch\(bad)()"] {
            let start = ContinuousClock.now
            expectPluginError(try runLua("return \(call)"), kind: .timeout)
            XCTAssertLessThan(ContinuousClock.now - start, .seconds(5), call)
        }
    }
}

import LuaHost
import XCTest

/// Infinite loops in every place plugin code can run: each ends with a timeout, in bounded time,
/// and the same plugin serves the next call.
final class HostileLoopTests: XCTestCase {
    func testLoopInTheLoadPhase() {
        assertLoadFails("while true do end", kind: .timeout)
        assertLoadFails(pluginSource(prologue: "local function f() return f() end f()"), kind: .timeout)
        assertLoadFails("repeat local x = {} until false", kind: .timeout)
    }

    func testLoopInACall() {
        assertAttackFails("while true do end", kind: .timeout)
        assertAttackFails("for i = 1, math.huge do end", kind: .timeout)
        assertAttackFails("local function f() return f() end return f()", kind: .timeout)
        assertAttackFails("::top:: goto top", kind: .timeout)
    }

    func testLoopInsidePcallCannotBeSwallowed() {
        assertAttackFails("""
            while true do pcall(function() while true do end end) end
            """, kind: .timeout)
        assertAttackFails("""
            local ok, err = pcall(function() while true do end end)
            return "escaped"
            """, kind: .timeout)
        assertAttackFails("""
            local ok, err = pcall(coroutine.wrap(function() while true do end end))
            return "escaped"
            """, kind: .timeout)
    }

    func testNothingRunsAfterABudgetErrorIsCaught() throws {
        let plugin = try loadPlugin(pluginSource(attack: """
            pcall(function() while true do end end)
            escaped = true
            """, extra: "function P.escaped(self) return escaped end"))
        expectPluginError(try plugin.call("attack", []), kind: .timeout)
        XCTAssertEqual(try plugin.call("escaped", []), [nil])
    }

    func testNothingRunsAfterAPatternBudgetErrorIsCaught() throws {
        let plugin = try loadPlugin(pluginSource(attack: """
            local ok = pcall(string.find, ("a"):rep(40), ("a*"):rep(20) .. "b")
            escaped = true
            """, extra: "function P.escaped(self) return escaped end"))
        expectPluginError(try plugin.call("attack", []), kind: .timeout)
        XCTAssertEqual(try plugin.call("escaped", []), [nil])
    }

    func testLoopInsideXpcallAndItsHandler() {
        assertAttackFails("xpcall(function() while true do end end, function(m) return m end)", kind: .timeout)
        assertAttackFails("xpcall(error, function(m) while true do end end)", kind: .timeout)
        assertAttackFails("""
            local function h(m) error(m) end
            xpcall(function() while true do end end, h)
            while true do end
            """, kind: .timeout)
        // Lua runs the handler of an error raised by the hook with hooks disabled.
        assertAttackFails("xpcall(function() while true do end end, function(m) while true do end end)", kind: .timeout)
        assertAttackFails("""
            local co = coroutine.wrap(function() xpcall(function() while true do end end, function() while true do end end) end)
            co()
            """, kind: .timeout)
    }

    func testCloseHandlersOfACoroutineTheBudgetStopped() throws {
        let loopingClose = "local c <close> = setmetatable({}, {__close = function() while true do end end})"
        // coroutine.wrap closes a coroutine that failed: not one the budget stopped.
        assertAttackFails("coroutine.wrap(function() \(loopingClose) while true do end end)()", kind: .timeout)
        // Nor does coroutine.close, in this call or a later one.
        let plugin = try loadPlugin(pluginSource(attack: "return coroutine.close(co)",
                                                 prologue: "co = coroutine.create(function() \(loopingClose) while true do end end)",
                                                 extra: "function P.start(self) return coroutine.resume(co) end"))
        expectPluginError(try plugin.call("start", []), kind: .timeout)
        let start = ContinuousClock.now
        let out = try plugin.call("attack", [])
        XCTAssertEqual(out.first, false)
        XCTAssertEqual(out.last?.text?.contains("stopped by the budget"), true)
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(2))
        assertServes(plugin)
        // A coroutine that failed for another reason is closed as usual.
        XCTAssertEqual(evalLua("""
            local closed = false
            local co = coroutine.create(function()
              local c <close> = setmetatable({}, {__close = function() closed = true end})
              error('plain failure')
            end)
            coroutine.resume(co)
            coroutine.close(co)
            return closed
            """), true)
    }

    func testLoopInACoroutineCreatedAtLoadTime() {
        assertAttackFails("return coroutine.resume(co)", kind: .timeout,
                          prologue: "co = coroutine.create(function() coroutine.yield() while true do end end) coroutine.resume(co)")
        assertAttackFails("return coroutine.resume(co)", kind: .timeout,
                          prologue: "co = coroutine.create(function() while true do end end)")
        assertAttackFails("while true do coroutine.resume(co) end", kind: .timeout,
                          prologue: "co = coroutine.create(function() while true do coroutine.yield() end end)")
    }

    func testLoopInCoroutineWrap() {
        assertAttackFails("coroutine.wrap(function() while true do end end)()", kind: .timeout)
        assertAttackFails("return gen()", kind: .timeout, prologue: "gen = coroutine.wrap(function() while true do end end)")
        assertAttackFails("""
            local co = coroutine.wrap(function() while true do coroutine.yield(pcall(function() while true do end end)) end end)
            while true do co() end
            """, kind: .timeout)
        // Nested coroutines, each catching errors.
        assertAttackFails("""
            local function nest(n)
              if n == 0 then while true do end end
              return coroutine.wrap(function() while true do pcall(nest(n - 1)) end end)
            end
            nest(5)()
            """, kind: .timeout)
    }

    func testLoopsInMetamethods() {
        let loop = "function() while true do end end"
        for (name, trigger) in [
            ("__index", "return t.x"), ("__newindex", "t.x = 1"), ("__eq", "return t == setmetatable({}, getmetatable(t))"),
            ("__lt", "return t < t"), ("__le", "return t <= t"), ("__concat", "return t .. 'x'"), ("__len", "return #t"),
            ("__call", "return t()"), ("__tostring", "return tostring(t)"), ("__unm", "return -t"), ("__add", "return t + 1"),
            ("__close", "do local c <close> = t end"), ("__pairs", "for k in pairs(t) do end"),
        ] {
            assertAttackFails("local t = setmetatable({}, {\(name) = \(loop)}) \(trigger)", kind: .timeout)
        }
        // __tostring reached from C: print, string.format, tostring inside table.concat's error.
        assertAttackFails("print(setmetatable({}, {__tostring = \(loop)}))", kind: .timeout)
        assertAttackFails("return string.format('%s', setmetatable({}, {__tostring = \(loop)}))", kind: .timeout)
        // __index reached from C functions.
        assertAttackFails("return table.concat(setmetatable({}, {__index = \(loop), __len = function() return 3 end}))", kind: .timeout)
        assertAttackFails("for _ in ipairs(setmetatable({}, {__index = \(loop)})) do end", kind: .timeout)
        assertAttackFails("return table.unpack(setmetatable({}, {__index = \(loop)}), 1, 3)", kind: .timeout)
    }

    func testCloseHandlerLoopsWhileUnwindingAnError() {
        assertAttackFails("""
            local c <close> = setmetatable({}, {__close = function() while true do end end})
            error("first")
            """, kind: .timeout)
        assertAttackFails("""
            local co = coroutine.create(function()
              local c <close> = setmetatable({}, {__close = function() while true do end end})
              coroutine.yield()
            end)
            coroutine.resume(co)
            return coroutine.close(co)
            """, kind: .timeout)
    }

    func testLoopInASortComparator() {
        assertAttackFails("table.sort({3, 2, 1}, function(a, b) while true do end end)", kind: .timeout)
        assertAttackFails("""
            local t = {} for i = 1, 200 do t[i] = setmetatable({}, {__lt = function() while true do end end}) end
            table.sort(t)
            """, kind: .timeout)
    }

    func testLoopInAGsubReplacement() {
        assertAttackFails("return ('abc'):gsub('%w', function() while true do end end)", kind: .timeout)
        assertAttackFails("return ('abc'):gsub('%w', setmetatable({}, {__index = function() while true do end end}))", kind: .timeout)
        assertAttackFails("for w in ('a b c'):gmatch('%a') do while true do end end", kind: .timeout)
    }

    func testLoopInTheErrorObjectsTostring() {
        let error = assertAttackFails("error(setmetatable({}, {__tostring = function() while true do end end}))", kind: .timeout)
        XCTAssertEqual(error?.message.contains("budget"), true)
    }

    func testLoopInALoadedChunk() {
        assertAttackFails("load('while true do end')()", kind: .timeout)
        assertAttackFails("local i = 0 load(function() while true do end end)", kind: .timeout)
        assertAttackFails("load(function() return 'x' end)", kind: .timeout)
    }

    func testLoopsOfCFunctionsOverMetatablesAreBounded() {
        // C library loops do not execute VM instructions, so the count hook cannot stop them;
        // a __len that claims an enormous length must not make them loop for hours.
        let huge = "__len = function() return 1e15 end"
        assertAttackFails("table.insert(setmetatable({}, {\(huge)}), 1, 'x')", kind: .timeout)
        assertAttackFails("table.remove(setmetatable({}, {\(huge)}), 1)", kind: .timeout)
        assertAttackFails("table.sort(setmetatable({}, {__len = function() return (1 << 31) - 2 end, __index = rawlen, __newindex = rawequal}))",
                          kind: .timeout)
        assertAttackFails("return table.concat(setmetatable({}, {\(huge), __index = rawlen}))", kind: .timeout)
        assertAttackFails("return table.concat(setmetatable({}, {\(huge), __index = rawlen}), '', 1, 1e15)", kind: .timeout)
        // The ordinary uses still work on tables with metatables.
        XCTAssertEqual(evalLua("""
            local log = {}
            local store = {}
            local t = setmetatable({}, {__index = store, __newindex = function(_, k, v) log[#log + 1] = k store[k] = v end,
                                        __len = function() return #store end})
            table.insert(t, 'a') table.insert(t, 'c') table.insert(t, 2, 'b')
            local removed = table.remove(t, 1)
            table.sort(t, function(a, b) return a > b end)
            return removed .. table.concat(t, ',') .. #log
            """), "ac,b9")
    }
}

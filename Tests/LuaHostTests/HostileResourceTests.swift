import LuaHost
import XCTest

/// Memory bombs, deep recursion and pathological patterns.
final class HostileResourceTests: XCTestCase {
    // MARK: Memory bombs

    func testStringDoubling() {
        assertAttackFails("local s = 'x' while true do s = s .. s end", kind: .memory, budget: .memoryBomb)
        assertAttackFails("big = 'x' while true do big = big .. big end", kind: .memory, budget: .memoryBomb)
    }

    func testTableGrowth() {
        assertAttackFails("local t = {} local i = 0 while true do i = i + 1 t[i] = i end", kind: .memory, budget: .memoryBomb)
        assertAttackFails("local t = {} local i = 0 while true do i = i + 1 t['k' .. i] = true end", kind: .memory, budget: .memoryBomb)
        assertAttackFails("local t = {} while true do t[#t + 1] = {} end", kind: .memory, budget: .memoryBomb)
    }

    func testHugeRep() {
        assertAttackFails("return string.rep('x', 1e15)", kind: .memory, budget: .memoryBomb)
        assertAttackFails("return ('abc'):rep(1 << 40, ',')", kind: .memory, budget: .memoryBomb)
        assertAttackFails("return string.rep('x', 15 << 20)", kind: .memory, budget: .memoryBomb)
        assertAttackFails("local t = {} for i = 1, 100 do t[i] = string.rep('x', 1 << 20) end", kind: .memory, budget: .memoryBomb)
    }

    func testRepOfTheEmptyStringIsQuick() throws {
        let plugin = try loadPlugin(pluginSource(attack: "return #string.rep('', 1e15), #string.rep('', math.maxinteger)"))
        let start = ContinuousClock.now
        XCTAssertEqual(try plugin.call("attack", []), [0, 0])
        XCTAssertLessThan(ContinuousClock.now - start, .milliseconds(500))
    }

    func testTableConcatBomb() {
        assertAttackFails("""
            local t = {} for i = 1, 64 do t[i] = string.rep('x', 1 << 16) end
            while true do t = {table.concat(t), table.concat(t)} end
            """, kind: .memory, budget: .memoryBomb)
        assertAttackFails("""
            local t = {} for i = 1, 1000 do t[i] = 'x' end
            return table.concat(t, string.rep('-', 1 << 20))
            """, kind: .memory, budget: .memoryBomb)
    }

    func testDeepNesting() {
        assertAttackFails("local t = {} while true do t = {t} end", kind: .memory, budget: .memoryBomb)
        assertAttackFails("local t = {} while true do t = setmetatable({t}, {__index = t}) end", kind: .memory, budget: .memoryBomb)
    }

    func testMemoryBombInACoroutineAndInLoad() {
        assertAttackFails("coroutine.wrap(function() local t = {} while true do t[#t + 1] = ('x'):rep(100) .. #t end end)()", kind: .memory, budget: .memoryBomb)
        assertAttackFails("load('local t = {} while true do t[#t + 1] = {} end')()", kind: .memory, budget: .memoryBomb)
    }

    func testLoadWithACFunctionAsReader() throws {
        // math.random is a C function: the reader loop runs in C, outside the count hook. Its
        // numbers make one endless numeral, so the memory cap ends it; load reports that as a value.
        let plugin = try loadPlugin(pluginSource(attack: "local f, e = load(math.random) return f == nil, e"), budget: .memoryBomb)
        let start = ContinuousClock.now
        XCTAssertEqual(try plugin.call("attack", []), [true, "not enough memory"])
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(5))
        assertServes(plugin)
    }

    func testMemoryBombInTheLoadPhase() {
        assertLoadFails("local s = 'x' while true do s = s .. s end", kind: .memory, budget: .memoryBomb)
        assertLoadFails("keep = {} for i = 1, 1e9 do keep[i] = {} end", kind: .memory, budget: .memoryBomb)
    }

    func testStringFunctionsWithHugeResults() {
        assertAttackFails("return string.format('%s%s', string.rep('x', 8 << 20), string.rep('y', 8 << 20))", kind: .memory, budget: .memoryBomb)
        assertAttackFails("local s = string.rep('ab', 3 << 20) return s:upper(), s:lower(), s:reverse()", kind: .memory, budget: .memoryBomb)
        assertAttackFails("local s = string.rep('a ', 1000) return (s:gsub('a', string.rep('x', 10000)))", kind: .memory, budget: .memoryBomb)
    }

    // MARK: Deep recursion

    func testDeepLuaRecursion() {
        var roomy = LuaBudget.hostile
        roomy.memoryBytes = 64 << 20
        let error = assertAttackFails("local function f(n) return 1 + f(n + 1) end return f(1)", kind: .runtime,
                                      contains: "stack overflow", budget: roomy)
        XCTAssertNotNil(error?.traceback)
        var budget = LuaBudget.hostile
        budget.memoryBytes = 4 << 20
        assertAttackFails("local function f(n) return 1 + f(n + 1) end return f(1)", kind: .memory, budget: budget)
    }

    func testRecursionThroughMetamethods() {
        assertAttackFails("local t t = setmetatable({}, {__index = function(s, k) return t[k] end}) return t.x",
                          kind: .runtime, contains: "stack overflow")
        assertAttackFails("local t t = setmetatable({}, {__tostring = function(s) return tostring(s) end}) return tostring(t)",
                          kind: .runtime, contains: "stack overflow")
        assertAttackFails("local t t = setmetatable({}, {__eq = function(a, b) return a == b end}) return t == setmetatable({}, getmetatable(t))",
                          kind: .runtime, contains: "stack overflow")
        assertAttackFails("local function f() return pcall(f) end while true do f() end", kind: .timeout)
    }

    func testRecursionThroughCoroutinesAndGsub() {
        assertAttackFails("local function f() return coroutine.wrap(f)() end return f()", kind: .runtime, contains: "overflow")
        assertAttackFails("local function f() table.sort({2, 1}, function() f() return false end) end f()", kind: .runtime, contains: "overflow")
        assertAttackFails("return tostring(setmetatable({}, {__tostring = function(t) return string.format('%s', t) end}))",
                          kind: .runtime, contains: "overflow")
        // The sandbox's gsub and load run as Lua, so these recurse in Lua: the stack limit, the
        // memory cap or the instruction budget stops them, whichever comes first.
        assertAttackFails("local function f(s) return (s:gsub('.', f)) end return f('ab')", kinds: [.runtime, .memory, .timeout])
        assertAttackFails("local function f() return load('return ...')(f()) end return f()", kinds: [.runtime, .memory, .timeout])
    }

    // MARK: Pathological patterns

    func testPathologicalPatterns() {
        let s = #"("a"):rep(40)"#, p = #"("a*"):rep(20) .. "b""#
        assertAttackFails("return string.find(\(s), \(p))", kind: .timeout)
        assertAttackFails("return string.match(\(s), \(p))", kind: .timeout)
        assertAttackFails("return string.gsub(\(s), \(p), 'x')", kind: .timeout)
        assertAttackFails("for m in string.gmatch(\(s), \(p)) do end", kind: .timeout)
        assertAttackFails("return (\(s)):find(\(p), 5)", kind: .timeout)
        assertAttackFails(#"return string.find(("ab"):rep(30), ("(.-)"):rep(10) .. "c")"#, kind: .timeout)
        assertAttackFails(#"return string.match(("x"):rep(5000), ("x-"):rep(30) .. "y")"#, kind: .timeout)
        assertAttackFails(#"return string.find(("a"):rep(1 << 20) , ".-.-.-b")"#, kind: .timeout)
        assertAttackFails(#"return string.gsub(("(("):rep(1 << 18), "%b()", "")"#, kind: .timeout)
        assertAttackFails(#"return string.find(("a"):rep(1 << 20), ("a"):rep(1 << 10) .. "b", 1, true)"#, kind: .timeout)
    }

    func testPatternErrorsAreRuntimeErrors() {
        assertAttackFails("return string.find('abc', '%')", kind: .runtime, contains: "malformed pattern (ends with '%')")
        assertAttackFails("return string.find('abc', '[a')", kind: .runtime, contains: "missing ']'")
        assertAttackFails("return string.match('abc', ('('):rep(40) .. 'a' .. (')'):rep(40))", kind: .runtime,
                          contains: "too many captures")
        assertAttackFails("return string.match(('a'):rep(300), ('a?'):rep(300))", kind: .runtime, contains: "pattern too complex")
    }
}

import LuaHost
import XCTest

/// Every entry of the sandbox's allow-lists exists and works, and nothing else exists.
final class SandboxAllowListTests: XCTestCase {
    /// One Lua expression per base entry that is true when the entry works as in standard Lua.
    static let baseChecks: [String: String] = [
        "assert": #"assert(1, "m") == 1 and select(2, pcall(assert, false, "no")) == "no""#,
        "error": #"select(2, pcall(error, "x", 0)) == "x" and select(2, pcall(error, {1}))[1] == 1"#,
        "getmetatable": #"getmetatable(setmetatable({}, {__metatable = "m"})) == "m" and getmetatable({}) == nil"#,
        "ipairs": "(function() local s = 0 for i, v in ipairs({1, 2, 3, nil, 5}) do s = s + v end return s == 6 end)()",
        "next": "next({}) == nil and next({5}) == 1",
        "pairs": "(function() local n = 0 for k, v in pairs({a = 1, b = 2, 3}) do n = n + 1 end return n == 3 end)()",
        "pcall": "pcall(function() end) == true and pcall(error) == false",
        "rawequal": "rawequal(1, 1) and not rawequal({}, {})",
        "rawget": "rawget(setmetatable({}, {__index = function() return 1 end}), 'x') == nil and rawget({x = 2}, 'x') == 2",
        "rawlen": "rawlen({1, 2}) == 2 and rawlen('abc') == 3",
        "rawset": "(function() local t = setmetatable({}, {__newindex = error}) rawset(t, 'k', 1) return t.k == 1 end)()",
        "select": "select('#', 1, nil, 3) == 3 and select(-1, 1, 2) == 2",
        "tonumber": "tonumber('0x10') == 16 and tonumber('z', 36) == 35 and tonumber('x') == nil",
        "tostring": "tostring(12) == '12' and tostring(1.5) == '1.5' and tostring(nil) == 'nil'",
        "type": "type(1) == 'number' and type('') == 'string' and type(print) == 'function'",
        "xpcall": #"select(2, xpcall(error, function(m) return "h:" .. m end, "e", 0)) == "h:e""#,
        "_VERSION": "_VERSION == 'Lua 5.4'",
        "_G": "_G._G == _G and _G.type == type",
        "setmetatable": "getmetatable(setmetatable({}, {__index = {a = 1}})).__index.a == 1",
        "load": "load('return 1 + 1')() == 2 and load(function() return nil end) ~= nil",
        "collectgarbage": "type(collectgarbage('count')) == 'number' and collectgarbage('count') > 0",
        "print": "print('hello', 1, nil, true) == nil",
        "warn": "warn('careful', ' there') == nil",
    ]

    /// One Lua expression per library entry.
    static let libraryChecks: [String: [String: String]] = [
        "string": [
            "byte": "string.byte('A') == 65 and select('#', ('abc'):byte(1, -1)) == 3",
            "char": "string.char(72, 105) == 'Hi'",
            "format": "string.format('%d-%s-%.2f-%q', 3, 'x', 1.5, 'a\\n') == '3-x-1.50-\"a\\\\\\n\"'",
            "len": "string.len('a\\0b') == 3 and ('abc'):len() == 3",
            "lower": "string.lower('AbC') == 'abc'",
            "pack": "#string.pack('i4', 7) == 4",
            "packsize": "string.packsize('i4i8') == 12 and string.packsize('!8i4i8') == 16",
            "reverse": "string.reverse('abc') == 'cba'",
            "sub": "string.sub('hello', 2, -2) == 'ell'",
            "unpack": "string.unpack('i4', string.pack('i4', -5)) == -5",
            "upper": "('abc'):upper() == 'ABC'",
            "rep": "string.rep('ab', 3, ',') == 'ab,ab,ab' and string.rep('x', 0) == ''",
            "find": "select(2, string.find('hello world', 'o w')) == 7 and string.find('a.b', '.', 1, true) == 2",
            "match": "string.match('key=val', '(%w+)=(%w+)') == 'key' and select(2, ('k=v'):match('(%w)=(%w)')) == 'v'",
            "gmatch": "(function() local t = {} for w in string.gmatch('one two three', '%a+') do t[#t+1] = w end return #t == 3 and t[3] == 'three' end)()",
            "gsub": "(function() local s, n = string.gsub('hello world', 'o', '0') return s == 'hell0 w0rld' and n == 2 end)()",
        ],
        "table": [
            "concat": "table.concat({1, 'b', 3}, ',') == '1,b,3'",
            "insert": "(function() local t = {1, 3} table.insert(t, 2, 2) table.insert(t, 4) return table.concat(t) == '1234' end)()",
            "pack": "table.pack(1, nil, 3).n == 3",
            "remove": "(function() local t = {1, 2, 3} return table.remove(t, 1) == 1 and #t == 2 and table.remove(t) == 3 end)()",
            "sort": "(function() local t = {3, 1, 2} table.sort(t) local u = {1, 3, 2} table.sort(u, function(a, b) return a > b end) return table.concat(t) == '123' and table.concat(u) == '321' end)()",
            "unpack": "select('#', table.unpack({1, 2, 3})) == 3 and table.unpack({1, 2}, 2) == 2",
            "move": "(function() local t = table.move({1, 2, 3}, 1, 3, 2) return table.concat(t) == '1123' end)()",
        ],
        "math": [
            "abs": "math.abs(-2) == 2", "acos": "math.acos(1) == 0", "asin": "math.asin(0) == 0",
            "atan": "math.atan(0, 1) == 0", "ceil": "math.ceil(1.2) == 2 and math.type(math.ceil(1.2)) == 'integer'",
            "cos": "math.cos(0) == 1", "deg": "math.deg(math.pi) == 180", "exp": "math.exp(0) == 1",
            "floor": "math.floor(-1.5) == -2", "fmod": "math.fmod(7, 3) == 1", "huge": "math.huge > 1e308",
            "log": "math.log(8, 2) == 3", "max": "math.max(1, 5, 3) == 5",
            "maxinteger": "math.maxinteger == 0x7fffffffffffffff", "min": "math.min(4, 2) == 2",
            "mininteger": "math.mininteger == math.maxinteger + 1", "modf": "select(2, math.modf(3.5)) == 0.5",
            "pi": "math.abs(math.pi - 3.14159265) < 1e-8", "rad": "math.rad(180) == math.pi",
            "sin": "math.sin(0) == 0", "sqrt": "math.sqrt(9) == 3", "tan": "math.tan(0) == 0",
            "tointeger": "math.tointeger(3.0) == 3 and math.tointeger(3.5) == nil",
            "type": "math.type(1) == 'integer' and math.type(1.0) == 'float' and math.type('1') == nil",
            "ult": "math.ult(1, -1)",
            "random": "(function() local r = math.random(1, 6) return r >= 1 and r <= 6 and math.random() < 1 end)()",
            "randomseed": "(function() math.randomseed(42) local a = math.random(1000000) math.randomseed(42) return math.random(1000000) == a end)()",
        ],
        "utf8": [
            "char": "utf8.char(72, 228, 8364) == 'H\\u{E4}\\u{20AC}'",
            "charpattern": "utf8.charpattern == '[\\0-\\x7F\\xC2-\\xFD][\\x80-\\xBF]*'",
            "codes": "(function() local n = 0 for p, c in utf8.codes('h\\u{E4}!') do n = n + 1 end return n == 3 end)()",
            "codepoint": "utf8.codepoint('\\u{20AC}') == 8364",
            "len": "utf8.len('h\\u{E4}') == 2 and utf8.len('\\xff') == nil",
            "offset": "utf8.offset('h\\u{E4}x', 3) == 4",
        ],
        "coroutine": [
            "close": "(function() local co = coroutine.create(function() coroutine.yield() end) coroutine.resume(co) return coroutine.close(co) and coroutine.status(co) == 'dead' end)()",
            "create": "type(coroutine.create(function() end)) == 'thread'",
            "isyieldable": "coroutine.isyieldable() == false and coroutine.wrap(function() return coroutine.isyieldable() end)()",
            "resume": "select(2, coroutine.resume(coroutine.create(function(a) return a * 2 end), 21)) == 42",
            "running": "select(2, coroutine.running()) == true",
            "status": "coroutine.status(coroutine.create(function() end)) == 'suspended'",
            "wrap": "coroutine.wrap(function() coroutine.yield(7) end)() == 7",
            "yield": "(function() local co = coroutine.wrap(function() coroutine.yield(1) coroutine.yield(2) end) return co() + co() == 3 end)()",
        ],
    ]

    func testEveryBaseEntryIsPresentAndWorks() throws {
        for (name, _) in Sandbox.base {
            guard let check = Self.baseChecks[name] else {
                XCTFail("no check for base entry '\(name)': add one to baseChecks")
                continue
            }
            XCTAssertEqual(evalLua("return rawget(_G, '\(name)') ~= nil"), true, "base entry '\(name)' is missing")
            XCTAssertEqual(evalLua("return \(check)"), true, "base entry '\(name)' does not work: \(check)")
        }
    }

    func testEveryLibraryEntryIsPresentAndWorks() throws {
        for (lib, entries) in Sandbox.libraries {
            for (name, _) in entries {
                guard let check = Self.libraryChecks[lib]?[name] else {
                    XCTFail("no check for '\(lib).\(name)': add one to libraryChecks")
                    continue
                }
                XCTAssertEqual(evalLua("return rawget(\(lib), '\(name)') ~= nil"), true, "'\(lib).\(name)' is missing")
                XCTAssertEqual(evalLua("return \(check)"), true, "'\(lib).\(name)' does not work: \(check)")
            }
        }
    }

    func testGlobalsAreExactlyTheAllowList() throws {
        let names = try runLua("""
            local t = {} for k in pairs(_G) do t[#t + 1] = k end table.sort(t) return t
            """).first?.table?.array.compactMap(\.text) ?? []
        let expected = (Sandbox.base.map(\.0) + Sandbox.libraries.map(\.0)).sorted()
        XCTAssertEqual(names, expected)
    }

    func testLibrariesHoldExactlyTheirAllowedEntries() throws {
        for (lib, entries) in Sandbox.libraries {
            let names = try runLua("""
                local t = {} for k in pairs(\(lib)) do t[#t + 1] = k end table.sort(t) return t
                """).first?.table?.array.compactMap(\.text) ?? []
            XCTAssertEqual(names, entries.map(\.0).sorted(), "library \(lib)")
        }
    }

    func testStringMethodsUseTheSandboxStringTable() {
        XCTAssertEqual(evalLua("return getmetatable('') "), "string")
        XCTAssertEqual(evalLua("return ('x'):rep(3) .. ('%d'):format(4)"), "xxx4")
        XCTAssertEqual(evalLua("string.shout = function(s) return s:upper() .. '!' end return ('hi'):shout()"), "HI!")
    }

    func testEveryRestrictedEntryHasABehaviourTest() {
        // The restricted entries are each covered by a test in SandboxRestrictionTests; this
        // keeps the list and the tests in step.
        let covered: Set<String> = [
            "setmetatable", "load", "collectgarbage", "print", "warn",
            "string.rep", "string.find", "string.match", "string.gmatch", "string.gsub",
            "table.move", "table.insert", "table.remove", "table.sort", "table.concat", "math.randomseed",
            "xpcall", "coroutine.resume", "coroutine.wrap", "coroutine.close",
        ]
        var restricted = Set(Sandbox.base.filter { $0.1 != .allowed }.map(\.0))
        for (lib, entries) in Sandbox.libraries {
            for (name, rule) in entries where rule != .allowed { restricted.insert("\(lib).\(name)") }
        }
        XCTAssertEqual(restricted, covered)
    }
}

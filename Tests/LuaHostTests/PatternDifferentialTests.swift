import CLua
import CLuaShim
import Foundation
import LuaHost
import XCTest

/// The sandbox's string.find/match/gmatch/gsub (a budgeted matcher in Swift behind Lua
/// wrappers) against the real ones of the linked liblua5.4, in a plain `luaL_newstate` state.
final class PatternDifferentialTests: XCTestCase {
    /// Evaluates every case (a Lua expression) and serializes its results or its error.
    static let driver = #"""
    local cases = ...
    local function ser(...)
      local n = select("#", ...)
      local out = {}
      for i = 1, n do
        local v = select(i, ...)
        local t = type(v)
        if t == "number" then out[i] = math.type(v) .. ":" .. tostring(v)
        elseif t == "string" then out[i] = "s:" .. v
        else out[i] = t .. ":" .. tostring(v) end
      end
      return n .. "|" .. table.concat(out, "\1")
    end
    function collect(iter)
      local acc, n = {}, 0
      while true do
        local a, b, c, d = iter()
        if a == nil then break end
        n = n + 1
        acc[n] = ser(a, b, c, d)
        if n > 300 then acc[n + 1] = "…" break end
      end
      return table.concat(acc, "\2")
    end
    function upper_or_nil(s, ...) if s == "" or s:find("^%d") then return nil end return s:upper() .. select("#", ...) end
    function keep_false(s) return false end
    function return_number(s) return #s end
    function return_table(s) return {} end
    lookup = setmetatable({a = "A", b = 2, [1] = "one", hello = false}, {__index = function(t, k) return nil end})
    local results = {}
    for i, src in ipairs(cases) do
      local f, err = load("return " .. src, "=case")
      if not f then
        results[i] = "LOADERR " .. err
      else
        local r = table.pack(pcall(f))
        if r[1] then results[i] = "OK " .. ser(table.unpack(r, 2, r.n)) else results[i] = "ERR " .. tostring(r[2]) end
      end
    end
    return results
    """#

    static func lit(_ s: String) -> String {
        var out = "\""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out += "\\\""
            case UInt8(ascii: "\\"): out += "\\\\"
            case 32..<127: out += String(UnicodeScalar(b))
            default: out += "\\\(b)"   // decimal escape, byte exact
            }
        }
        return out + "\""
    }

    static let subjects = [
        "", "a", "aaa", "aaab", "hello world", "aXb_c 12.5 x(y)z", "  leading and trailing  ", "a\0b\0c",
        "THE (quick) [brown] fox", "((a)(b))", "x(y(z))w", "\u{FF}\u{FE} abc", "1,2,,3", "caf\u{E9} na\u{EF}ve",
        "key=value; k2=v2", "$^%[]().*+-?",
    ]

    static let patterns = [
        "a", "a*", "a+", "a-", "a?", ".", ".-", "%a+", "%d+", "%s*", "%w+", "%p", "%u%l*", "[abc]+", "[^abc]+",
        "[a-c]", "[%a_][%w_]*", "[]]", "[^]]", "[a-]", "[-a]", "^a", "^", "$", "a$", "^$", "()", "(a)(b)",
        "((a)(b))", "(a*(.)%w(%s*))", "%bxy", "%b()", "%f[%a]%a+", "%f[%w]", "%f[^%w]", "(.)%1", "(%a+) %1",
        "()a()", "[%]]", "%%", "%.", "x*$", ".-$", "(h)(e)(l)(l)(o)", "[%d%.]+", "%x+", "%c", "%g+", "%S+",
        "%D", "%z", "[\0-\u{1F}]", "[^%s]+", "a-b", "(a-)b", "[a-z]-$", "(%w+)=(%w+)", "%f[%z]", "[%z]",
        "^(%s*)(.-)(%s*)$", "%$%^", "[%^%$]", "%[(.-)%]", "%((%a+)%)", "\0", "a%z",
        // malformed
        "%", "[a", "[", "(", ")", "(()", "%b", "%ba", "%f", "%fa", "%1", "(a)%2", "%0", "[%", "[a-", "(a",
        "a)", "((a)", "(()%1", "%g(", "[%a",
    ]

    static let replacements = [
        #""%0-""#, #""<%1>""#, #""%%""#, #""x""#, #""%2""#, #""%""#, #""%x""#, #""[%1|%2|%3]""#, "upper_or_nil",
        "keep_false", "return_number", "return_table", "lookup", "7", "1.5",
    ]

    static func cases() -> [String] {
        var cases: [String] = []
        let s = subjects.map(lit), p = patterns.map(lit)
        for (i, pat) in p.enumerated() {
            for (j, subj) in s.enumerated() where (i + j) % 3 == 0 || j < 4 {
                cases.append("string.find(\(subj), \(pat))")
                cases.append("string.match(\(subj), \(pat))")
                cases.append("collect(string.gmatch(\(subj), \(pat)))")
                cases.append("string.gsub(\(subj), \(pat), \(replacements[(i + j) % replacements.count]))")
            }
        }
        // init, plain, max_n and argument handling
        for subj in ["hello world", "aaa", ""].map(lit) {
            for initial in ["-100", "-3", "-1", "0", "1", "2", "5", "11", "12", "13", "100", "2.0", "'3'", "math.maxinteger", "math.mininteger"] {
                cases.append("string.find(\(subj), \"o\", \(initial))")
                cases.append("string.find(\(subj), \"\", \(initial))")
                cases.append("string.find(\(subj), \"l+\", \(initial))")
                cases.append("string.match(\(subj), \"()\", \(initial))")
                cases.append("collect(string.gmatch(\(subj), \".\", \(initial)))")
            }
            for n in ["0", "1", "2", "-1", "1.0", "100"] {
                cases.append("string.gsub(\(subj), \"l\", \"L\", \(n))")
                cases.append("string.gsub(\(subj), \"\", \"-\", \(n))")
            }
        }
        cases += [
            #"string.find("a.b", ".", 1, true)"#, #"string.find("a.b", "%.", 1, false)"#, #"string.find("a+b", "+", 1, true)"#,
            #"string.find("abc", "[b", 1, true)"#, #"string.find("abc", "", 10, true)"#, #"string.find("abc", "c", -1, true)"#,
            #"string.find(12345, 34)"#, #"string.match(3.5, "%d")"#, #"string.gsub(100, 0, 1)"#,
            #"string.find(nil, "a")"#, #"string.find("a", {})"#, #"string.find("abc", "b", "x")"#,
            #"string.find("abc", "b", 1.5)"#, #"string.match()"#, #"string.gsub("a", "a")"#, #"string.gsub("a", "a", true)"#,
            #"string.gsub("abc", "b", "x", 1.5)"#, #"string.gsub("abc", "b", "x", "2")"#, #"string.gmatch("abc")"#,
            #"("abc"):find("b")"#, #"("abc"):gsub(".", {a = 1, b = true})"#, #"("abc"):gsub("%w", "%0%0")"#,
            #"string.gsub("hello world", "(o)", "[%1]")"#, #"string.gsub("abc", "", "-")"#, #"string.gsub("", "", "-")"#,
            #"string.gsub("abc", ".-", "-")"#, #"string.gsub("abc", "x*", "-")"#, #"string.gsub("abc", "^", ">")"#,
            #"string.gsub("abc", "$", "<")"#, #"string.gsub("abc", "^a", "")"#, #"string.gsub("aaa", "^a", "")"#,
            #"string.gsub("abc", "()", "%1")"#, #"string.gsub("abc", "()", upper_or_nil)"#, #"string.gsub("a b", "(%a)", lookup)"#,
            #"string.gsub("abc", "(a)(b)(c)", "%3%2%1%0")"#, #"string.gsub("abc", "a(", "x")"#, #"string.gsub("abc", "a(", "%1")"#,
            #"string.gsub("abc", "a(", upper_or_nil)"#, #"string.gsub("abc", "(a", lookup)"#, #"string.gsub("abc", "(a)", "%9")"#,
            #"collect(string.gmatch("abc", "^a"))"#, #"collect(string.gmatch("^a^a", "^a"))"#, #"collect(string.gmatch("abc", ""))"#,
            #"collect(string.gmatch("abc", ".-"))"#, #"collect(string.gmatch("a,b,,c", "([^,]*)"))"#, #"collect(string.gmatch("abc", "(a"))"#,
            #"collect(string.gmatch("k=v, x=y", "(%w+)=(%w+)"))"#, #"collect(string.gmatch("abc", "()(.)()"))"#,
            #"string.find(("a"):rep(300), ("a?"):rep(201))"#, #"string.find(("a"):rep(30), ("a?"):rep(10) .. "b")"#,
            #"string.match(("x"):rep(500), ("(x)"):rep(32))"#, #"string.match(("x"):rep(500), ("(x)"):rep(33))"#,
            #"string.find("a\0b", "\0")"#, #"string.find("a\0b", "%z")"#, #"string.find("a\0b", "[\0]")"#, #"string.find("a\0b", "b", 1, true)"#,
            #"string.gsub("a\0b\0", "%z", "0")"#, #"string.match("x\0y", "(.)%z(.)")"#,
        ]
        // Random patterns over a small alphabet, from a fixed seed.
        var rng: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ n: Int) -> Int {
            rng = rng &* 6364136223846793005 &+ 1442695040888963407
            return Int((rng >> 33) % UInt64(n))
        }
        let alphabet = ["a", "b", ".", "%a", "%d", "*", "+", "-", "?", "(", ")", "[ab]", "[^a]", "^", "$", "%", "%b()",
                        "%f[%a]", "%1", "()", " ", "[%d]"]
        let subject = lit("ab(a)b1 2ba a")
        for k in 0..<300 {
            var pat = ""
            for _ in 0..<(1 + next(6)) { pat += alphabet[next(alphabet.count)] }
            let fn = ["find", "match", "gmatch", "gsub"][k % 4]
            switch fn {
            case "gmatch": cases.append("collect(string.gmatch(\(subject), \(lit(pat))))")
            case "gsub": cases.append("string.gsub(\(subject), \(lit(pat)), \(replacements[k % replacements.count]))")
            default: cases.append("string.\(fn)(\(subject), \(lit(pat)), \(next(5) - 1))")
            }
        }
        return cases
    }

    /// Runs the driver in a plain Lua state with the real string library.
    func runReference(_ cases: [String]) throws -> [String] {
        guard let L = luaL_newstate() else { throw XCTSkip("cannot create a Lua state") }
        defer { lua_close(L) }
        luaL_openlibs(L)
        let code = Array(Self.driver.utf8)
        let status = code.withUnsafeBufferPointer { buf in
            buf.withMemoryRebound(to: CChar.self) { sa_loadbuffer(L, $0.baseAddress, $0.count, "=driver", "t") }
        }
        XCTAssertEqual(status, LUA_OK)
        lua_createtable(L, Int32(cases.count), 0)
        for (i, c) in cases.enumerated() {
            lua_pushstring(L, c)
            lua_rawseti(L, -2, Int64(i + 1))
        }
        guard sa_pcall(L, 1, 1, 0) == LUA_OK else {
            throw NSError(domain: "lua", code: 1, userInfo: [NSLocalizedDescriptionKey: String(cString: sa_tolstring(L, -1, nil))])
        }
        var out: [String] = []
        for i in 1...cases.count {
            lua_rawgeti(L, -1, Int64(i))
            var len = 0
            let p = sa_tolstring(L, -1, &len)!
            out.append(String(decoding: UnsafeRawBufferPointer(start: p, count: len), as: UTF8.self))
            lua_settop(L, -2)
        }
        return out
    }

    func testSandboxPatternFunctionsAgreeWithLua() throws {
        let cases = Self.cases()
        XCTAssertGreaterThan(cases.count, 1000)
        let reference = try runReference(cases)
        let sandbox = try runSandboxOnly(cases)
        XCTAssertEqual(reference.count, cases.count)
        XCTAssertEqual(sandbox.count, cases.count)
        var failures = 0
        for (i, c) in cases.enumerated() where i < min(reference.count, sandbox.count) {
            let r = Self.normalize(reference[i]), s = Self.normalize(sandbox[i])
            if r != s {
                failures += 1
                if failures <= 40 { XCTFail("\(c)\n  lua:     \(r)\n  sandbox: \(s)") }
            }
        }
        XCTAssertEqual(failures, 0, "cases that differ")
        let errors = reference.filter { $0.hasPrefix("ERR") }.count
        XCTAssertGreaterThan(errors, 50, "the cases exercise error paths too")
    }

    func runSandboxOnly(_ cases: [String]) throws -> [String] {
        let budget = LuaBudget(callTime: .seconds(20), loadTime: .seconds(20), instructions: 0, memoryBytes: 256 << 20)
        let state = try LuaState(name: "diff", budget: budget)
        state.limits = LuaMarshalLimits(maxElements: 1 << 20, maxStringBytes: 256 << 20)
        state.setGlobal("__cases", .list(cases.map { .text($0) }))
        state.setGlobal("__driver", .text(Self.driver))
        let out = try state.run(source: "return load(__driver, '=driver')(__cases)", chunkName: "=wrapper")
        return out.first?.table?.array.map { $0.text ?? "?" } ?? []
    }

    /// Errors agree in substance: the text after the location prefix.
    static func normalize(_ result: String) -> String {
        guard result.hasPrefix("ERR ") else { return result }
        var text = Substring(result.dropFirst(4))
        while let r = text.range(of: #"^[^ :]+:\d+: "#, options: .regularExpression) { text = text[r.upperBound...] }
        return "ERR " + text
    }
}

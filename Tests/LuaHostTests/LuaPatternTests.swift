import CLua
import CLuaShim
import Foundation
import LuaHost
import XCTest

/// The matcher is checked differentially against the real liblua5.4 the host links: for every
/// case, string.find (and for many, string.gsub and string.gmatch) run in a plain Lua state, and
/// the Swift matcher, driven the way the string library drives it, must give the same positions,
/// captures and error messages.
final class LuaPatternTests: XCTestCase {
    // MARK: - Outcomes in a common form

    enum Value: Equatable, CustomStringConvertible {
        case text([UInt8])
        case integer(Int)

        var description: String {
            switch self {
            case .text(let b): return "\"\(LuaPatternTests.show(b))\""
            case .integer(let i): return "\(i)"
            }
        }
    }

    /// What string.find returned: an error message, fail, or start/end (1-based) plus captures.
    enum FindOutcome: Equatable {
        case error(String)
        case noMatch
        case found(Int, Int, [Value])
    }

    static func show(_ bytes: [UInt8]) -> String {
        var out = ""
        for b in bytes {
            if b >= 32 && b < 127 && b != UInt8(ascii: "\\") {
                out.append(Character(UnicodeScalar(b)))
            } else {
                out += "\\\(b)"
            }
        }
        return out
    }

    // MARK: - Reference Lua (liblua5.4 through the C API)

    final class ReferenceLua {
        let L: OpaquePointer
        private var chunks: [String: Int32] = [:]

        init() {
            L = luaL_newstate()!
            luaL_openlibs(L)
        }

        deinit { lua_close(L) }

        private func chunk(_ source: String) -> Int32 {
            if let ref = chunks[source] { return ref }
            precondition(luaL_loadstring(L, source) == LUA_OK, "reference chunk must compile")
            let ref = sa_ref(L)
            chunks[source] = ref
            return ref
        }

        private func push(_ bytes: [UInt8]) {
            bytes.withUnsafeBufferPointer { buf in
                buf.withMemoryRebound(to: CChar.self) { _ = lua_pushlstring(L, $0.baseAddress, $0.count) }
            }
        }

        private func bytes(at index: Int32) -> [UInt8] {
            var len = 0
            guard let p = sa_tolstring(L, index, &len) else { return [] }
            return Array(UnsafeRawBufferPointer(start: p, count: len))
        }

        /// Calls a chunk with string arguments (and an optional integer); returns the status and
        /// leaves the results on the stack above `base`.
        private func call(_ source: String, _ strings: [[UInt8]], _ integer: Int? = nil) -> (ok: Bool, base: Int32) {
            let base = lua_gettop(L)
            _ = sa_getref(L, chunk(source))
            for s in strings { push(s) }
            if let integer { lua_pushinteger(L, lua_Integer(integer)) }
            let status = sa_pcall(L, Int32(strings.count + (integer == nil ? 0 : 1)), LUA_MULTRET, 0)
            return (status == LUA_OK, base)
        }

        /// The error's own text: luaL_error prefixes the calling chunk's position
        /// (`[string "..."]:1: `), which is not part of the pattern error.
        private func errorMessage(base: Int32) -> String {
            var message = String(decoding: bytes(at: -1), as: UTF8.self)
            lua_settop(L, base)
            if message.hasPrefix("[string "), let close = message.range(of: "\"]:") {
                var rest = message[close.upperBound...].drop(while: \.isNumber)
                if rest.hasPrefix(": ") { rest = rest.dropFirst(2) }
                message = String(rest)
            }
            return message
        }

        func find(_ s: [UInt8], _ p: [UInt8], _ initial: Int) -> FindOutcome {
            let (ok, base) = call("local s, p, i = ...; return string.find(s, p, i)", [s, p], initial)
            guard ok else { return .error(errorMessage(base: base)) }
            defer { lua_settop(L, base) }
            let top = lua_gettop(L)
            if lua_type(L, base + 1) == LUA_TNIL { return .noMatch }
            let start = Int(lua_tointegerx(L, base + 1, nil)), end = Int(lua_tointegerx(L, base + 2, nil))
            var captures: [Value] = []
            var i = base + 3
            while i <= top {
                if lua_type(L, i) == LUA_TNUMBER {
                    captures.append(.integer(Int(lua_tointegerx(L, i, nil))))
                } else {
                    captures.append(.text(bytes(at: i)))
                }
                i += 1
            }
            return .found(start, end, captures)
        }

        /// string.gsub(s, p, "[%0]"): every match bracketed.
        func gsub(_ s: [UInt8], _ p: [UInt8]) -> Result<[UInt8], Failure> {
            let (ok, base) = call("local s, p = ...; return (string.gsub(s, p, '[%0]'))", [s, p])
            guard ok else { return .failure(Failure(message: errorMessage(base: base))) }
            defer { lua_settop(L, base) }
            return .success(bytes(at: base + 1))
        }

        /// Every string.gmatch iteration's values, encoded as in `LuaPatternTests.encodeGmatch`.
        func gmatch(_ s: [UInt8], _ p: [UInt8]) -> Result<[UInt8], Failure> {
            let source = """
                local s, p = ...
                local out = {}
                local it = string.gmatch(s, p)
                while true do
                  local t = table.pack(it())
                  if t[1] == nil then break end
                  for i = 1, t.n do
                    local v = t[i]
                    out[#out + 1] = math.type(v) and ('\\3' .. v) or v
                    out[#out + 1] = '\\2'
                  end
                  out[#out + 1] = '\\1'
                end
                return table.concat(out)
                """
            let (ok, base) = call(source, [s, p])
            guard ok else { return .failure(Failure(message: errorMessage(base: base))) }
            defer { lua_settop(L, base) }
            return .success(bytes(at: base + 1))
        }
    }

    struct Failure: Error, Equatable { var message: String }

    // MARK: - The Swift matcher, driven as the string library drives it

    static let unlimited: (Int) -> Bool = { _ in true }

    /// string.find(s, p, init) for 1 <= init: the plain fast path when the pattern has no
    /// specials, else the matcher with a leading '^' stripped as the anchor.
    static func ourFind(_ s: [UInt8], _ p: [UInt8], _ initial: Int) -> FindOutcome {
        let start = initial - 1
        if start > s.count { return .noMatch }
        var body = p[...]
        var anchored = false
        if body.first == UInt8(ascii: "^") {
            anchored = true
            body = body.dropFirst()
        }
        let pattern = LuaPattern(Array(body))
        do {
            let match = try s.withUnsafeBufferPointer { try pattern.firstMatch(in: $0, from: start, anchored: anchored, checkBudget: unlimited) }
            guard let match else { return .noMatch }
            let captures: [Value] = match.captures.map {
                switch $0 {
                case .substring(let r): return .text(Array(s[r]))
                case .position(let i): return .integer(i)
                }
            }
            return .found(match.range.lowerBound + 1, match.range.upperBound, captures)
        } catch LuaPattern.Failure.malformed(let message) {
            return .error(message)
        } catch {
            return .error("unexpected \(error)")
        }
    }

    /// What findPlain says for string.find(s, p, init, true).
    static func ourPlainFind(_ s: [UInt8], _ p: [UInt8], _ initial: Int) -> FindOutcome {
        let range = try? s.withUnsafeBufferPointer { sb in
            try p.withUnsafeBufferPointer { pb in
                try LuaPattern.findPlain(pb, in: sb, from: initial - 1, checkBudget: unlimited)
            }
        }
        guard let range else { return .noMatch }
        return .found(range.lowerBound + 1, range.upperBound, [])
    }

    /// string.gsub(s, p, "[%0]") by the Lua 5.4 manual: at each position try an anchored match,
    /// refusing an empty match right where the previous match ended.
    static func ourGsub(_ s: [UInt8], _ p: [UInt8]) -> Result<[UInt8], Failure> {
        var body = p[...]
        var anchored = false
        if body.first == UInt8(ascii: "^") {
            anchored = true
            body = body.dropFirst()
        }
        let pattern = LuaPattern(Array(body))
        var out: [UInt8] = []
        var src = 0
        var last: Int? = nil
        var steps = 0
        do {
            try s.withUnsafeBufferPointer { sb in
                while true {
                    // Each round consumes a byte or makes a (never repeated) empty match.
                    steps += 1
                    if steps > 2 * s.count + 2 { throw Failure(message: "runaway gsub") }
                    if let m = try pattern.firstPartialMatch(in: sb, from: src, anchored: true, rejectingEnd: last,
                                                             checkBudget: unlimited) {
                        out.append(UInt8(ascii: "["))
                        out += s[m.range]
                        out.append(UInt8(ascii: "]"))
                        src = m.range.upperBound
                        last = src
                    } else if src < s.count {
                        out.append(s[src])
                        src += 1
                    } else {
                        break
                    }
                    if anchored { break }
                }
            }
        } catch LuaPattern.Failure.malformed(let message) {
            return .failure(Failure(message: message))
        } catch {
            return .failure(Failure(message: "unexpected \(error)"))
        }
        out += s[src...]
        return .success(out)
    }

    /// string.gmatch(s, p): '^' is not an anchor there; each step searches on from the end of
    /// the previous match, refusing an empty match at that same place.
    static func ourGmatch(_ s: [UInt8], _ p: [UInt8]) -> Result<[UInt8], Failure> {
        let pattern = LuaPattern(p)
        var out: [UInt8] = []
        var src = 0
        var last: Int? = nil
        var rounds = 0
        do {
            try s.withUnsafeBufferPointer { sb in
                while let m = try pattern.firstMatch(in: sb, from: src, anchored: false, rejectingEnd: last,
                                                     checkBudget: unlimited) {
                    // Lua yields at most one match per position (an empty one is never repeated).
                    rounds += 1
                    if rounds > s.count + 1 { throw Failure(message: "runaway gmatch") }
                    let values = m.captures.isEmpty ? [.substring(m.range)] : m.captures
                    for v in values {
                        switch v {
                        case .substring(let r): out += s[r]
                        case .position(let i): out += [3] + Array(String(i).utf8)
                        }
                        out.append(2)
                    }
                    out.append(1)
                    src = m.range.upperBound
                    last = src
                }
            }
        } catch LuaPattern.Failure.malformed(let message) {
            return .failure(Failure(message: message))
        } catch {
            return .failure(Failure(message: "unexpected \(error)"))
        }
        return .success(out)
    }

    // MARK: - Differential harness

    private var lua: ReferenceLua!
    private var compared = 0

    override func setUp() {
        super.setUp()
        lua = ReferenceLua()
        compared = 0
    }

    override func tearDown() {
        if compared > 0 { print("LuaPatternTests: \(name): \(compared) differential comparisons") }
        lua = nil
        super.tearDown()
    }

    private func checkFind(_ s: [UInt8], _ p: [UInt8], _ initial: Int = 1, file: StaticString = #filePath, line: UInt = #line) {
        compared += 1
        let expected = lua.find(s, p, initial)
        // Lua takes the plain fast path for a pattern without specials (even one holding a
        // stray ')', which the matcher would reject): so does the host.
        let actual = LuaPattern(p).isPlain ? Self.ourPlainFind(s, p, initial) : Self.ourFind(s, p, initial)
        XCTAssertEqual(actual, expected, "find(\"\(Self.show(s))\", \"\(Self.show(p))\", \(initial))", file: file, line: line)
        if LuaPattern(p).isPlain && !p.contains(UInt8(ascii: ")")) {
            // Without a ')' the matcher itself must agree with the plain search.
            XCTAssertEqual(Self.ourFind(s, p, initial), expected, "matcher on plain find(\"\(Self.show(s))\", \"\(Self.show(p))\")",
                           file: file, line: line)
        }
    }

    private func checkFind(_ s: String, _ p: String, _ initial: Int = 1, file: StaticString = #filePath, line: UInt = #line) {
        checkFind(Array(s.utf8), Array(p.utf8), initial, file: file, line: line)
    }

    private func checkIterators(_ s: [UInt8], _ p: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
        compared += 2
        XCTAssertEqual(Self.ourGsub(s, p), lua.gsub(s, p), "gsub(\"\(Self.show(s))\", \"\(Self.show(p))\")",
                       file: file, line: line)
        XCTAssertEqual(Self.ourGmatch(s, p), lua.gmatch(s, p), "gmatch(\"\(Self.show(s))\", \"\(Self.show(p))\")",
                       file: file, line: line)
    }

    private func checkAll(_ s: String, _ p: String, file: StaticString = #filePath, line: UInt = #line) {
        let sb = Array(s.utf8), pb = Array(p.utf8)
        for initial in 1...(sb.count + 2) { checkFind(sb, pb, initial, file: file, line: line) }
        checkIterators(sb, pb, file: file, line: line)
    }

    /// A small seeded generator (SplitMix64) so failures reproduce.
    struct Seeded {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func pick(_ alphabet: [UInt8]) -> UInt8 { alphabet[below(alphabet.count)] }
        mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
    }

    // MARK: - Hand-written differential cases

    func testSingleCharacterClassesMatchLua() {
        for s in ["hello World 42!", "\t\n\u{0B}\u{0C}\r x", "ABCxyz_09-+", "", "\u{7F}\u{01}~ ", "é\u{80}\u{FF}"] {
            for cl in ["a", "c", "d", "g", "l", "p", "s", "u", "w", "x", "z"] {
                checkAll(s, "%" + cl)
                checkAll(s, "%" + cl.uppercased())
                checkAll(s, "%" + cl + "+")
                checkAll(s, "[%" + cl + "]+")
                checkAll(s, "[^%" + cl.uppercased() + "_]*")
            }
            for p in [".", "%.", "%%", "%-", "%]", "%(", "%^", "%$", "% "] { checkAll(s, p) }
        }
        // Every byte against every class, including the bytes above 127 (none are letters in C).
        let all = (0...255).map { UInt8($0) }
        for cl in "acdglpsuwxzACDGLPSUWXZ.".utf8 {
            let pattern: [UInt8] = cl == UInt8(ascii: ".") ? [cl] : [UInt8(ascii: "%"), cl]
            for b in all { checkFind([b], pattern) }
        }
    }

    func testSetsMatchLua() {
        let subjects = ["a]b-c^d", "]]]", "---", "^^a", "abc", "z%y", "a\u{0}b"]
        let patterns = ["[]]", "[]a]+", "[^]]+", "[^]a]", "[a-c]+", "[c-a]", "[a-]+", "[-a]+", "[%a-]+", "[a%-c]+",
                        "[%]]", "[%]a]+", "[^%a]+", "[%%]", "[^^]+", "[\\^]", "[a-%]", "[.]", "[%.]", "[]", "[^]",
                        "[a", "[%", "[^", "[a%", "[]-a]+", "[%w_]+", "[b-b]", "[!-/]+", "[%z]", "[^%z]+", "x[]", "[[]"]
        for s in subjects { for p in patterns { checkAll(s, p) } }
        // Bytes above 127 compare unsigned in ranges and are never letters, digits or spaces.
        let high: [[UInt8]] = [[0x80, 0xE9, 0xFF, 0x61, 0x7F, 0x00], [0xFF, 0xFF], [0x41, 0xC3, 0xA9, 0x20]]
        let highPatterns: [[UInt8]] = [[0x5B, 0x80, 0x2D, 0xFF, 0x5D, 0x2B], [0x5B, 0x5E, 0x80, 0x2D, 0xFF, 0x5D],
                                       [0x5B, 0x61, 0x2D, 0xFF, 0x5D, 0x2B], [0x5B, 0xFF, 0x2D, 0x61, 0x5D],
                                       [0xE9, 0x2B], [0x25, 0xE9], [0x5B, 0x25, 0xE9, 0x5D], [0x2E, 0x25, 0xFF],
                                       [0x5B, 0x00, 0x2D, 0x7F, 0x5D, 0x2A], [0x25, 0x62, 0x80, 0xFF], [0x5B, 0x5E, 0x25, 0x77, 0x5D, 0x2B]]
        for s in high {
            for p in highPatterns {
                for initial in 1...(s.count + 1) { checkFind(s, p, initial) }
                checkIterators(s, p)
            }
        }
    }

    func testQuantifiersAnchorsAndCapturesMatchLua() {
        let cases: [(String, String)] = [
            ("aaab", "a*"), ("aaab", "a+"), ("aaab", "a-b"), ("aaab", "a?b"), ("aaab", "^a-"), ("aaab", "a-$"),
            ("aaab", "b$"), ("aaab", "a$"), ("a$b", "a$b"), ("a^b", "a^b"), ("^ab", "^^"), ("", ""), ("", "^$"),
            ("", "a*"), ("abc", "$"), ("abc", "^"), ("abc", ".-"), ("abc", ".-c"), ("abc", "(.-)c"),
            ("hello world", "(h)(e)(l)(l)(o)"), ("hello world", "()ll()"), ("hello", "(l*)"), ("hello", "((l)(l))"),
            ("hello", "(()l)"), ("abc", "()"), ("abc", "()$"), ("key = value", "(%w+)%s*=%s*(%w+)"),
            ("abcabc", "(abc)%1"), ("abab", "(a)(b)%2"), ("abab", "(a)(b)%1%2"), ("aa", "()a%1"), ("abc", "x%1"),
            ("abc", "a%1"), ("abc", "(a)%2"), ("abc", "a%0"), ("abc", "(a%1)"), ("abc", "a)"), ("abc", ")"),
            ("abc", "(a"), ("abc", "(a(b)"), ("abc", "(a)(b"), ("abc", "%"), ("abc", "a%"), ("abc", "b%"),
            ("xx(a(b)c)yy", "%b()"), ("((", "%b()"), ("abba", "%baa"), ("abc", "%b"), ("abc", "%ba"), ("abc", "c%b"),
            ("THE (quick) fox", "%f[%a]%a+"), ("THE (quick) fox", "%f[%A]"), ("abc", "%f[%z]"), ("abc", "%f"),
            ("abc", "%fa"), ("abc", "%f[a"), ("a\u{0}b", "%f[%z]"), ("a b", "%f[%s]"), ("abc", "[a]-b"),
            ("aaa", "a-a-a-"), ("aaa", "a?a?a?a"), ("one two", "(%a+) (%a+)"), ("x=1, y=2", "(%w+)=(%w+)"),
            ("abc", "((((((((((((((((((((((((((((((((a))))))))))))))))))))))))))))))))"),
            ("abc", String(repeating: "(", count: 33)), ("aaa", String(repeating: "()", count: 33)),
            ("aaa", String(repeating: "()", count: 32)), ("abc", "(a)(b)(c)%3%2%1"), ("cbaabc", "(a)(b)(c)"),
        ]
        for (s, p) in cases { checkAll(s, p) }
    }

    func testNestingLimitMatchesLua() {
        let a300 = String(repeating: "a", count: 300)
        for n in [150, 198, 199, 200, 201, 300] {
            checkAll(a300, String(repeating: "a?", count: n))
            // Below the limit this one is exponential in real Lua too, so only where the limit hits first.
            if n >= 200 { checkAll(a300, String(repeating: "a-", count: n) + "b") }
            checkAll(a300, String(repeating: "a*", count: n))
            checkAll("aaa", String(repeating: "a?", count: n))
        }
        checkFind(a300, String(repeating: "(a)", count: 32))
        checkFind(a300, String(repeating: "(a?)", count: 32) + String(repeating: "a?", count: 140))
        checkFind(a300, String(repeating: "(a?)", count: 32) + String(repeating: "a?", count: 150))
    }

    func testEmbeddedZeroBytesMatchLua() {
        let subjects: [[UInt8]] = [[0], [97, 0, 98], [0, 0, 97, 0], [], [98, 0]]
        let patterns: [[UInt8]] = [[0], [97, 0], [0, 98], [37, 0], [91, 0, 93], [91, 94, 0, 93, 43], [0, 42, 97],
                                   [37, 122], [37, 90, 43], [40, 0, 41, 37, 49], [37, 98, 0, 98], [37, 102, 91, 0, 93],
                                   [46, 0], [0, 0], [97, 0, 0], [37, 102, 91, 37, 122, 93], [0, 36]]
        for s in subjects {
            for p in patterns {
                for initial in 1...(s.count + 2) { checkFind(s, p, initial) }
                checkIterators(s, p)
            }
        }
    }

    // MARK: - Random differential cases

    /// Patterns over the bytes that make up Lua's pattern syntax, subjects over a few bytes that
    /// those patterns mention: many are malformed, which checks the laziness of each error.
    func testRandomPatternsOverSyntaxBytesMatchLua() {
        var rng = Seeded(state: 0x5EED_0001)
        let patternBytes = Array("ab()%.[]^-$*+?19bf".utf8)
        let subjectBytes = Array("aab]^-.".utf8) + [0]
        for _ in 0..<6000 {
            let p = (0..<(1 + rng.below(9))).map { _ in rng.pick(patternBytes) }
            let s = (0..<rng.below(11)).map { _ in rng.pick(subjectBytes) }
            checkFind(s, p, 1 + rng.below(s.count + 2))
            if rng.chance(30) { checkIterators(s, p) }
        }
    }

    /// Mostly well-formed patterns built from items (classes, sets, quantifiers, captures,
    /// back-references, %b, %f, anchors), so that real matches with captures are compared.
    func testRandomStructuredPatternsMatchLua() {
        var rng = Seeded(state: 0x5EED_0002)
        let subjectBytes = Array("aab]^-.(b)x ".utf8)
        let literals = Array("ab]^-.x".utf8).map { String(UnicodeScalar($0)) }
        let classes = ["%a", "%A", "%s", "%S", "%p", "%w", "%x", "%.", "%]", "%-", "."]
        let sets = ["[ab]", "[^a]", "[a-b]", "[]a]", "[^]]", "[%a.]", "[-a]", "[a-]", "[^%s]", "[.^]", "[%]b]"]
        let quantifiers = ["", "", "", "*", "+", "-", "?"]
        func item(_ captures: inout Int, _ open: inout Int) -> String {
            switch rng.below(12) {
            case 0...3: return literals[rng.below(literals.count)] + quantifiers[rng.below(quantifiers.count)]
            case 4, 5: return classes[rng.below(classes.count)] + quantifiers[rng.below(quantifiers.count)]
            case 6: return sets[rng.below(sets.count)] + quantifiers[rng.below(quantifiers.count)]
            case 7:
                if rng.chance(30) { captures += 1; return "()" }
                captures += 1
                open += 1
                return "("
            case 8:
                if open > 0 || rng.chance(10) { open -= 1; return ")" }
                return "a"
            case 9: return "%" + String(1 + rng.below(max(captures, 1) + (rng.chance(20) ? 1 : 0)))
            case 10: return rng.chance(50) ? "%b()" : "%bab"
            default: return ["%f[%a]", "%f[%A]", "%f[a]", "%f[^a]", "%f[%z]"][rng.below(5)]
            }
        }
        for _ in 0..<6000 {
            var captures = 0, open = 0
            var p = rng.chance(15) ? "^" : ""
            for _ in 0..<(1 + rng.below(6)) { p += item(&captures, &open) }
            while open > 0 && rng.chance(85) { p += ")"; open -= 1 }
            if rng.chance(15) { p += "$" }
            let s = (0..<rng.below(14)).map { _ in rng.pick(subjectBytes) }
            let pb = Array(p.utf8)
            checkFind(s, pb, 1 + rng.below(s.count + 2))
            checkIterators(s, pb)
        }
    }

    // MARK: - Budget

    func testBudgetStopsExponentialPatternQuickly() {
        let subject = Array(String(repeating: "a", count: 40).utf8)
        let pattern = LuaPattern(Array((String(repeating: "a*", count: 20) + "b").utf8))
        let limit = 1_000_000
        var used = 0
        var calls = 0
        var largest = 0
        let clock = ContinuousClock()
        let start = clock.now
        XCTAssertThrowsError(try subject.withUnsafeBufferPointer { sb in
            try pattern.firstMatch(in: sb, from: 0, anchored: false) { steps in
                calls += 1
                largest = max(largest, steps)
                used += steps
                return used <= limit
            }
        }) { error in
            XCTAssertEqual(error as? LuaPattern.Failure, .budgetExceeded)
        }
        let elapsed = clock.now - start
        XCTAssertLessThan(elapsed, .seconds(1), "the budget must stop the matcher promptly")
        XCTAssertGreaterThan(used, limit)
        XCTAssertLessThan(used, limit + 4096, "no more work after the budget said no")
        XCTAssertGreaterThan(calls, 100, "checkBudget is called regularly, not once at the end")
        XCTAssertLessThanOrEqual(largest, LuaPattern.budgetInterval + 64, "about every 1024 steps")
    }

    func testBudgetStopsOtherPathologicalPatterns() {
        let a = Array(String(repeating: "a", count: 60).utf8)
        let patterns = [String(repeating: "a?", count: 40) + String(repeating: "a", count: 40) + "b",
                        String(repeating: "a-", count: 25) + "b",
                        String(repeating: "(a*)", count: 15) + "%1b",
                        String(repeating: ".-", count: 30) + "$b"]
        for p in patterns {
            var used = 0
            let pattern = LuaPattern(Array(p.utf8))
            XCTAssertThrowsError(try a.withUnsafeBufferPointer { sb in
                try pattern.firstMatch(in: sb, from: 0, anchored: false) { used += $0; return used <= 200_000 }
            }, p) { XCTAssertEqual($0 as? LuaPattern.Failure, .budgetExceeded, p) }
        }
    }

    func testBudgetChargesForScanningLongSets() {
        // Each test of a subject byte against a 20000-member set is real work: without charging
        // it, this search would do ~4e8 comparisons on only ~1e5 steps.
        let subject = [UInt8](repeating: UInt8(ascii: "a"), count: 20_000)
        let pattern = LuaPattern([UInt8(ascii: "[")] + [UInt8](repeating: UInt8(ascii: "b"), count: 20_000) + Array("]*c".utf8))
        var used = 0
        let clock = ContinuousClock()
        let start = clock.now
        XCTAssertThrowsError(try subject.withUnsafeBufferPointer { sb in
            try pattern.firstMatch(in: sb, from: 0, anchored: false) { used += $0; return used <= 1_000_000 }
        }) { XCTAssertEqual($0 as? LuaPattern.Failure, .budgetExceeded) }
        XCTAssertLessThan(clock.now - start, .seconds(1))
    }

    func testBudgetIsChargedForOrdinaryWork() {
        // A linear scan over a long subject is charged about one step per byte tried, and a
        // budget below that stops it; the remainder is reported when the search finishes.
        let subject = [UInt8](repeating: UInt8(ascii: "x"), count: 100_000) + Array("needle".utf8)
        let pattern = LuaPattern(Array("n%a+".utf8))
        var used = 0
        let match = try? subject.withUnsafeBufferPointer { sb in
            try pattern.firstMatch(in: sb, from: 0, anchored: false) { used += $0; return true }
        }
        XCTAssertEqual(match?.range, 100_000..<100_006)
        XCTAssertGreaterThanOrEqual(used, 100_000)
        XCTAssertLessThan(used, 1_000_000)
        var refused = 0
        XCTAssertThrowsError(try subject.withUnsafeBufferPointer { sb in
            try pattern.firstMatch(in: sb, from: 0, anchored: false) { refused += $0; return refused < 50_000 }
        }) { XCTAssertEqual($0 as? LuaPattern.Failure, .budgetExceeded) }
        // Small matches report their steps too (the last partial chunk).
        var small = 0
        _ = try? Array("abc".utf8).withUnsafeBufferPointer { sb in
            try pattern.firstMatch(in: sb, from: 0, anchored: false) { small += $0; return true }
        }
        XCTAssertGreaterThan(small, 0)
        // A budget that says no at the final report still stops the call.
        XCTAssertThrowsError(try Array("abc".utf8).withUnsafeBufferPointer { sb in
            try pattern.firstMatch(in: sb, from: 0, anchored: false) { _ in false }
        }) { XCTAssertEqual($0 as? LuaPattern.Failure, .budgetExceeded) }
    }

    func testMalformedPatternWinsOverBudgetInterval() {
        // The error is raised where Lua raises it, even after much budgeted work.
        let subject = [UInt8](repeating: UInt8(ascii: "a"), count: 1500)
        let pattern = LuaPattern(Array("a*b%".utf8) + [])
        XCTAssertNoThrow(try subject.withUnsafeBufferPointer { sb in
            XCTAssertNil(try pattern.firstMatch(in: sb, from: 0, anchored: false, checkBudget: Self.unlimited))
        })
        let bad = LuaPattern(Array("a*%".utf8))
        var reported = 0
        XCTAssertThrowsError(try subject.withUnsafeBufferPointer { sb in
            try bad.firstMatch(in: sb, from: 0, anchored: false) { reported += $0; return true }
        }) { XCTAssertEqual($0 as? LuaPattern.Failure, .malformed("malformed pattern (ends with '%')")) }
        XCTAssertGreaterThan(reported, 1500, "the greedy scan before the error was charged")
    }

    // MARK: - Plain search

    func testFindPlain() throws {
        func plain(_ needle: [UInt8], _ subject: [UInt8], _ start: Int) throws -> Range<Int>? {
            try subject.withUnsafeBufferPointer { sb in
                try needle.withUnsafeBufferPointer { nb in
                    try LuaPattern.findPlain(nb, in: sb, from: start, checkBudget: Self.unlimited)
                }
            }
        }
        let hay = Array("abcabcab".utf8)
        XCTAssertEqual(try plain(Array("cab".utf8), hay, 0), 2..<5)
        XCTAssertEqual(try plain(Array("cab".utf8), hay, 3), 5..<8)
        XCTAssertNil(try plain(Array("cab".utf8), hay, 6))
        XCTAssertEqual(try plain([], hay, 8), 8..<8)
        XCTAssertNil(try plain([], hay, 9))
        XCTAssertNil(try plain(Array("abcabcabc".utf8), hay, 0))
        XCTAssertEqual(try plain(Array("b".utf8), hay, 2), 4..<5)
        XCTAssertEqual(try plain([0, 0], [1, 0, 1, 0, 0, 2], 0), 3..<5)
        XCTAssertEqual(try plain(Array("a.[".utf8), Array("xxa.[".utf8), 0), 2..<5)
        XCTAssertEqual(try plain([], [], 0), 0..<0)
        // Differentially, plain=true, including patterns full of specials.
        var rng = Seeded(state: 0x5EED_0003)
        let bytes = Array("ab%.[".utf8) + [0]
        for _ in 0..<2000 {
            let s = (0..<rng.below(12)).map { _ in rng.pick(bytes) }
            let p = (0..<rng.below(4)).map { _ in rng.pick(bytes) }
            let initial = 1 + rng.below(s.count + 2)
            compared += 1
            let expected = callLuaPlainFind(s, p, initial)
            XCTAssertEqual(Self.ourPlainFind(s, p, initial), expected, "plain \(Self.show(s)) \(Self.show(p)) \(initial)")
        }
    }

    private func callLuaPlainFind(_ s: [UInt8], _ p: [UInt8], _ initial: Int) -> FindOutcome {
        // string.find(s, p, init, true) through a wrapper chunk on the same state.
        let L = lua.L
        let base = lua_gettop(L)
        precondition(luaL_loadstring(L, "local s, p, i = ...; return string.find(s, p, i, true)") == LUA_OK)
        for b in [s, p] {
            b.withUnsafeBufferPointer { buf in
                buf.withMemoryRebound(to: CChar.self) { _ = lua_pushlstring(L, $0.baseAddress, $0.count) }
            }
        }
        lua_pushinteger(L, lua_Integer(initial))
        defer { lua_settop(L, base) }
        guard sa_pcall(L, 3, LUA_MULTRET, 0) == LUA_OK else { return .error("plain find raised") }
        if lua_type(L, base + 1) == LUA_TNIL { return .noMatch }
        return .found(Int(lua_tointegerx(L, base + 1, nil)), Int(lua_tointegerx(L, base + 2, nil)), [])
    }

    func testFindPlainIsBudgeted() {
        let subject = [UInt8](repeating: UInt8(ascii: "a"), count: 200_000)
        let needle = [UInt8](repeating: UInt8(ascii: "a"), count: 500) + [UInt8(ascii: "b")]
        var used = 0
        var largest = 0
        XCTAssertThrowsError(try subject.withUnsafeBufferPointer { sb in
            try needle.withUnsafeBufferPointer { nb in
                try LuaPattern.findPlain(nb, in: sb, from: 0) { largest = max(largest, $0); used += $0; return used <= 1_000_000 }
            }
        }) { XCTAssertEqual($0 as? LuaPattern.Failure, .budgetExceeded) }
        XCTAssertLessThan(used, 1_000_000 + 4096)
        XCTAssertLessThanOrEqual(largest, 2 * LuaPattern.budgetInterval)
    }

    // MARK: - API details

    func testIsPlain() {
        XCTAssertTrue(LuaPattern(Array("hello world".utf8)).isPlain)
        XCTAssertTrue(LuaPattern(Array("a]b)c".utf8)).isPlain)
        XCTAssertTrue(LuaPattern([]).isPlain)
        XCTAssertTrue(LuaPattern([97, 0, 98]).isPlain)
        for special in ["^", "$", "*", "+", "?", ".", "(", "[", "%", "-"] {
            XCTAssertFalse(LuaPattern(Array(("ab" + special).utf8)).isPlain, special)
            XCTAssertFalse(LuaPattern([0] + Array(special.utf8)).isPlain, "after a zero byte: \(special)")
        }
    }

    func testCapturesAreOffsetsAndPositions() throws {
        let subject = Array("  key = value".utf8)
        let pattern = LuaPattern(Array("()(%w+)%s*=%s*(%w+)()".utf8))
        let match = try subject.withUnsafeBufferPointer {
            try pattern.firstMatch(in: $0, from: 0, anchored: false, checkBudget: Self.unlimited)
        }
        XCTAssertEqual(match, LuaPattern.Match(range: 2..<13, captures: [.position(3), .substring(2..<5), .substring(8..<13), .position(14)]))
        let none = try subject.withUnsafeBufferPointer {
            try LuaPattern(Array("k%a+".utf8)).firstMatch(in: $0, from: 0, anchored: false, checkBudget: Self.unlimited)
        }
        XCTAssertEqual(none, LuaPattern.Match(range: 2..<5, captures: []))
        // Anchored: only the given start position is tried.
        let anchored = try subject.withUnsafeBufferPointer {
            try LuaPattern(Array("k".utf8)).firstMatch(in: $0, from: 0, anchored: true, checkBudget: Self.unlimited)
        }
        XCTAssertNil(anchored)
        // Start past the end finds nothing; start at the end can match empty.
        let atEnd = try subject.withUnsafeBufferPointer {
            try LuaPattern(Array("$".utf8)).firstMatch(in: $0, from: subject.count, anchored: false, checkBudget: Self.unlimited)
        }
        XCTAssertEqual(atEnd?.range, 13..<13)
        let past = try subject.withUnsafeBufferPointer {
            try LuaPattern(Array("".utf8)).firstMatch(in: $0, from: subject.count + 1, anchored: false, checkBudget: Self.unlimited)
        }
        XCTAssertNil(past)
    }

    func testUnfinishedCapturesForGsub() throws {
        let subject = Array("abc".utf8)
        let pattern = LuaPattern(Array("(a)(b".utf8))
        let partial = try subject.withUnsafeBufferPointer {
            try pattern.firstPartialMatch(in: $0, from: 0, anchored: false, checkBudget: Self.unlimited)
        }
        XCTAssertEqual(partial, LuaPattern.PartialMatch(range: 0..<2, captures: [.substring(0..<1), nil]))
        XCTAssertThrowsError(try subject.withUnsafeBufferPointer {
            try pattern.firstMatch(in: $0, from: 0, anchored: false, checkBudget: Self.unlimited)
        }) { XCTAssertEqual($0 as? LuaPattern.Failure, .malformed("unfinished capture")) }
    }

    func testDeepNestingFitsASmallStack() {
        // 197 nested steps (Lua allows 200) on a thread with a 512 KiB stack.
        let subject = Array(String(repeating: "a", count: 300).utf8)
        let pattern = LuaPattern(Array((String(repeating: "(a?)", count: 32) + String(repeating: "a?", count: 100)).utf8))
        let done = expectation(description: "matched on a small stack")
        nonisolated(unsafe) var result: LuaPattern.Match?
        let thread = Thread {
            result = try? subject.withUnsafeBufferPointer {
                try pattern.firstMatch(in: $0, from: 0, anchored: false, checkBudget: Self.unlimited)
            }
            done.fulfill()
        }
        thread.stackSize = 512 * 1024
        thread.start()
        wait(for: [done], timeout: 30)
        XCTAssertEqual(result?.range, 0..<132)
        XCTAssertEqual(result?.captures.count, 32)
    }
}

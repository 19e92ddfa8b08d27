#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Lua 5.4 pattern matching over bytes, with a step budget so no pattern can run unbounded.
///
/// Lua's own matcher (string.find/match/gmatch/gsub) runs in C, where the instruction-count hook
/// never fires, so a pathological pattern such as `("a*"):rep(20) .. "b"` could hold the host for
/// hours. This is a reimplementation written from the Lua 5.4 reference manual's description of
/// patterns; it reports its work through `checkBudget` so the caller can stop it.
///
/// Observable behaviour follows Lua 5.4's string library (checked differentially in the tests
/// against the liblua5.4 the host links):
/// - the C locale (ASCII) decides the classes `%a %c %d %g %l %p %s %u %w %x`; `%z` (a NUL byte,
///   still accepted by Lua 5.4) and the upper-case complements are supported too;
/// - positions past the end of the subject read as a NUL byte (as Lua's NUL-terminated strings
///   do), which matters for `%f` at the end of the subject;
/// - errors are raised lazily, only when matching reaches the faulty part of the pattern, with
///   Lua's exact messages;
/// - the nesting limit ("pattern too complex") counts the same nested matching steps as Lua:
///   each capture open/close, each `?` that consumed a character, and each attempt of `*`, `+`
///   and `-`, 200 deep at most, reset for every start position.
public struct LuaPattern {
    public enum Capture: Equatable, Sendable {
        /// Byte offsets into the subject.
        case substring(Range<Int>)
        /// 1-based position, as Lua's `()` capture returns it.
        case position(Int)
    }

    public struct Match: Equatable, Sendable {
        /// The whole match, byte offsets into the subject.
        public var range: Range<Int>
        /// The captures in order; empty when the pattern has none.
        public var captures: [Capture]

        public init(range: Range<Int>, captures: [Capture]) {
            self.range = range
            self.captures = captures
        }
    }

    /// A match whose captures may still be open. Only `string.gsub` needs this: Lua raises
    /// "unfinished capture" there only when the replacement actually reads the open capture.
    public struct PartialMatch: Equatable, Sendable {
        public var range: Range<Int>
        /// `nil` for a capture that was opened but never closed.
        public var captures: [Capture?]

        public init(range: Range<Int>, captures: [Capture?]) {
            self.range = range
            self.captures = captures
        }
    }

    public enum Failure: Error, Equatable, Sendable {
        /// Lua's exact message, e.g. "malformed pattern (ends with '%')".
        case malformed(String)
        /// `checkBudget` returned false.
        case budgetExceeded
    }

    /// Most captures one pattern may hold (LUA_MAXCAPTURES).
    public static let maxCaptures = 32
    /// Deepest nesting of matching steps before "pattern too complex" (Lua's MAXCCALLS).
    public static let maxDepth = 200
    /// Steps of work between two calls of `checkBudget`.
    public static let budgetInterval = 1024

    /// The pattern's bytes, exactly as given.
    public let bytes: [UInt8]

    public init(_ pattern: [UInt8]) {
        self.bytes = pattern
    }

    /// True when the pattern has no special characters (Lua's fast path uses plain search then).
    /// The specials are `^ $ * + ? . ( [ % -`; `]` and `)` alone do not make a pattern special.
    public var isPlain: Bool {
        for b in bytes {
            switch b {
            case UInt8(ascii: "^"), UInt8(ascii: "$"), UInt8(ascii: "*"), UInt8(ascii: "+"),
                 UInt8(ascii: "?"), UInt8(ascii: "."), UInt8(ascii: "("), UInt8(ascii: "["),
                 UInt8(ascii: "%"), UInt8(ascii: "-"):
                return false
            default:
                continue
            }
        }
        return true
    }

    /// Finds the first match starting at byte offset `start` (0-based, already clamped by the caller),
    /// trying successive start positions unless `anchored` (the caller strips a leading '^' for find/match;
    /// gmatch/gsub pass the pattern as documented in the Lua 5.4 manual). `checkBudget(steps)` is called
    /// about every 1024 steps of work with the number of steps done since the last call; when it returns
    /// false, throw `.budgetExceeded`.
    ///
    /// A match that leaves a capture open raises `.malformed("unfinished capture")`, as string.find,
    /// string.match and string.gmatch do. A `start` past the end of the subject finds nothing; a
    /// negative one counts as 0.
    public func firstMatch(in subject: UnsafeBufferPointer<UInt8>, from start: Int, anchored: Bool,
                           checkBudget: (Int) -> Bool) throws -> Match? {
        try firstMatch(in: subject, from: start, anchored: anchored, rejectingEnd: nil,
                       checkBudget: checkBudget)
    }

    /// As `firstMatch(in:from:anchored:checkBudget:)`, but a match that ends at byte offset
    /// `rejectingEnd` does not count, and the search goes on at the next start position: this is
    /// the "not the same empty match again" rule of string.gmatch and string.gsub (pass the end of
    /// their previous match).
    public func firstMatch(in subject: UnsafeBufferPointer<UInt8>, from start: Int, anchored: Bool,
                           rejectingEnd: Int?, checkBudget: (Int) -> Bool) throws -> Match? {
        guard let partial = try firstPartialMatch(in: subject, from: start, anchored: anchored,
                                                  rejectingEnd: rejectingEnd, checkBudget: checkBudget)
        else { return nil }
        var captures: [Capture] = []
        captures.reserveCapacity(partial.captures.count)
        for capture in partial.captures {
            guard let capture else { throw Failure.malformed("unfinished capture") }
            captures.append(capture)
        }
        return Match(range: partial.range, captures: captures)
    }

    /// As `firstMatch(in:from:anchored:rejectingEnd:checkBudget:)`, but a capture left open comes
    /// back as `nil` instead of raising "unfinished capture" (for string.gsub, which raises only
    /// when the replacement reads that capture).
    public func firstPartialMatch(in subject: UnsafeBufferPointer<UInt8>, from start: Int, anchored: Bool,
                                  rejectingEnd: Int? = nil,
                                  checkBudget: (Int) -> Bool) throws -> PartialMatch? {
        let first = max(start, 0)
        if first > subject.count { return nil }
        return try bytes.withUnsafeBufferPointer { pattern in
            try withoutActuallyEscaping(checkBudget) { budget in
                // Capture bookkeeping lives on the stack: no allocation per search.
                try withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * LuaPattern.maxCaptures) { slots in
                    var matcher = Matcher(subject: subject, pattern: pattern, captureSlots: slots.baseAddress!,
                                          budget: budget)
                    return try matcher.search(from: first, anchored: anchored, rejectingEnd: rejectingEnd)
                }
            }
        }
    }

    /// Plain substring search (string.find with plain=true), also budgeted. An empty needle is
    /// found at `start` itself; nothing is found when `start` is past the end of the subject.
    public static func findPlain(_ needle: UnsafeBufferPointer<UInt8>, in subject: UnsafeBufferPointer<UInt8>,
                                 from start: Int, checkBudget: (Int) -> Bool) throws -> Range<Int>? {
        let first = max(start, 0)
        let n = subject.count, m = needle.count
        if first > n { return nil }
        if m == 0 { return first..<first }
        if m > n - first { return nil }
        guard let hay = subject.baseAddress, let pin = needle.baseAddress else { return nil }
        var pending = 0
        func charge(_ steps: Int) throws {
            pending += steps
            if pending >= budgetInterval {
                let done = pending
                pending = 0
                if !checkBudget(done) { throw Failure.budgetExceeded }
            }
        }
        func finish() throws {
            if pending > 0 {
                let done = pending
                pending = 0
                if !checkBudget(done) { throw Failure.budgetExceeded }
            }
        }
        let head = pin[0]
        let last = n - m          // the last offset where the needle still fits
        var i = first
        while i <= last {
            // Look for the needle's first byte in windows of at most budgetInterval bytes.
            let window = min(last - i + 1, budgetInterval)
            guard let hit = memchr(hay + i, Int32(head), window) else {
                try charge(window)
                i += window
                continue
            }
            let at = hay.distance(to: hit.assumingMemoryBound(to: UInt8.self))
            try charge(at - i + 1)
            if m == 1 || memcmp(hay + at + 1, pin + 1, m - 1) == 0 {
                try charge(m - 1)
                try finish()
                return at..<(at + m)
            }
            try charge(m - 1)
            i = at + 1
        }
        try finish()
        return nil
    }
}

// MARK: - The matcher

/// One search of one pattern over one subject. The recursive steps share it `inout` (a struct,
/// so no runtime exclusivity checks), which keeps their own frames small.
private struct Matcher {
    // Special lengths of a capture.
    static let open = -1       // opened, not closed yet
    static let position = -2   // a () position capture

    let src: UnsafeBufferPointer<UInt8>
    let pat: UnsafeBufferPointer<UInt8>
    let srcEnd: Int
    let patEnd: Int
    let budget: (Int) -> Bool

    var level = 0
    var depthLeft = LuaPattern.maxDepth
    /// Where each capture starts and its length (or `open` / `position`); only the first
    /// `level` entries are meaningful, and `level` never exceeds `LuaPattern.maxCaptures`.
    let capStart: UnsafeMutablePointer<Int>
    let capLen: UnsafeMutablePointer<Int>
    var pending = 0

    init(subject: UnsafeBufferPointer<UInt8>, pattern: UnsafeBufferPointer<UInt8>,
         captureSlots: UnsafeMutablePointer<Int>, budget: @escaping (Int) -> Bool) {
        self.capStart = captureSlots
        self.capLen = captureSlots + LuaPattern.maxCaptures
        self.src = subject
        self.pat = pattern
        self.srcEnd = subject.count
        self.patEnd = pattern.count
        self.budget = budget
    }

    // MARK: Budget

    @inline(__always) mutating func step(_ n: Int = 1) throws {
        pending &+= n
        if pending >= LuaPattern.budgetInterval { try flush() }
    }

    mutating func flush() throws {
        guard pending > 0 else { return }
        let done = pending
        pending = 0
        if !budget(done) { throw LuaPattern.Failure.budgetExceeded }
    }

    /// Reports the steps not reported yet; the pattern error (already decided) wins.
    mutating func flushIgnoringResult() {
        if pending > 0 { _ = budget(pending); pending = 0 }
    }

    // MARK: Bytes

    /// The pattern byte at `i`, or NUL past the end (Lua's strings end with a NUL).
    @inline(__always) func pc(_ i: Int) -> UInt8 { i < patEnd ? pat[i] : 0 }

    static func malformed(_ message: String) -> LuaPattern.Failure { .malformed(message) }

    // MARK: Search

    mutating func search(from first: Int, anchored: Bool, rejectingEnd: Int?) throws -> LuaPattern.PartialMatch? {
        var s = first
        do {
            while true {
                level = 0
                depthLeft = LuaPattern.maxDepth
                if let e = try match(s, 0), e != rejectingEnd {
                    var captures: [LuaPattern.Capture?] = []
                    captures.reserveCapacity(level)
                    for l in 0..<level {
                        switch capLen[l] {
                        case Matcher.open: captures.append(nil)
                        case Matcher.position: captures.append(.position(capStart[l] + 1))
                        default: captures.append(.substring(capStart[l]..<(capStart[l] + capLen[l])))
                        }
                    }
                    try flush()
                    return LuaPattern.PartialMatch(range: s..<e, captures: captures)
                }
                if anchored || s >= srcEnd { break }
                s += 1
            }
            try flush()
            return nil
        } catch LuaPattern.Failure.malformed(let message) {
            flushIgnoringResult()
            throw LuaPattern.Failure.malformed(message)
        }
    }

    /// Matches the pattern from `p` against the subject from `s`; the end of the match, or nil.
    mutating func match(_ s0: Int, _ p0: Int) throws -> Int? {
        if depthLeft == 0 { throw Matcher.malformed("pattern too complex") }
        depthLeft -= 1
        defer { depthLeft += 1 }
        var s = s0, p = p0
        while true {
            try step()
            if p == patEnd { return s }
            let c = pat[p]
            if c == UInt8(ascii: "(") {
                if pc(p + 1) == UInt8(ascii: ")") { return try openCapture(s, p + 2, Matcher.position) }
                return try openCapture(s, p + 1, Matcher.open)
            }
            if c == UInt8(ascii: ")") { return try closeCapture(s, p + 1) }
            if c == UInt8(ascii: "$") && p + 1 == patEnd { return s == srcEnd ? s : nil }
            if c == UInt8(ascii: "%") {
                let d = pc(p + 1)
                if d == UInt8(ascii: "b") {
                    guard let e = try balance(s, p + 2) else { return nil }
                    s = e
                    p += 4
                    continue
                }
                if d == UInt8(ascii: "f") {
                    p += 2
                    if pc(p) != UInt8(ascii: "[") { throw Matcher.malformed("missing '[' after '%f' in pattern") }
                    let ep = try classEnd(p)
                    let before: UInt8 = s == 0 ? 0 : src[s - 1]
                    let here: UInt8 = s < srcEnd ? src[s] : 0
                    if !inSet(before, p, ep - 1) && inSet(here, p, ep - 1) {
                        p = ep
                        continue
                    }
                    return nil
                }
                if d >= UInt8(ascii: "0") && d <= UInt8(ascii: "9") {
                    guard let e = try backReference(s, d) else { return nil }
                    s = e
                    p += 2
                    continue
                }
            }
            // A single-character class, maybe followed by a quantifier.
            let ep = try classEnd(p)
            let q = pc(ep)
            if !single(s, p, ep) {
                if q == UInt8(ascii: "*") || q == UInt8(ascii: "?") || q == UInt8(ascii: "-") {
                    p = ep + 1   // zero repetitions are fine
                    continue
                }
                return nil
            }
            switch q {
            case UInt8(ascii: "?"):
                if let e = try match(s + 1, ep + 1) { return e }
                p = ep + 1
            case UInt8(ascii: "+"):
                return try longest(s + 1, p, ep)
            case UInt8(ascii: "*"):
                return try longest(s, p, ep)
            case UInt8(ascii: "-"):
                return try shortest(s, p, ep)
            default:
                s += 1
                p = ep
            }
        }
    }

    /// Greedy repetition: as many characters as match, then give back one at a time.
    mutating func longest(_ s: Int, _ p: Int, _ ep: Int) throws -> Int? {
        var n = 0
        while single(s + n, p, ep) {
            n += 1
            try step()
        }
        while n >= 0 {
            if let e = try match(s + n, ep + 1) { return e }
            n -= 1
        }
        return nil
    }

    /// Lazy repetition: try the rest first, then take one more character.
    mutating func shortest(_ s0: Int, _ p: Int, _ ep: Int) throws -> Int? {
        var s = s0
        while true {
            if let e = try match(s, ep + 1) { return e }
            try step()
            if single(s, p, ep) { s += 1 } else { return nil }
        }
    }

    mutating func openCapture(_ s: Int, _ p: Int, _ kind: Int) throws -> Int? {
        if level >= LuaPattern.maxCaptures { throw Matcher.malformed("too many captures") }
        capStart[level] = s
        capLen[level] = kind
        level += 1
        let e = try match(s, p)
        if e == nil { level -= 1 }
        return e
    }

    mutating func closeCapture(_ s: Int, _ p: Int) throws -> Int? {
        var l = level - 1
        while l >= 0 && capLen[l] != Matcher.open { l -= 1 }
        if l < 0 { throw Matcher.malformed("invalid pattern capture") }
        capLen[l] = s - capStart[l]
        let e = try match(s, p)
        if e == nil { capLen[l] = Matcher.open }
        return e
    }

    /// `%bxy`, with `p` at `x`.
    mutating func balance(_ s0: Int, _ p: Int) throws -> Int? {
        if p + 1 >= patEnd { throw Matcher.malformed("malformed pattern (missing arguments to '%b')") }
        let open = pat[p], close = pat[p + 1]
        guard s0 < srcEnd, src[s0] == open else { return nil }
        var depth = 1
        var s = s0 + 1
        while s < srcEnd {
            try step()
            let c = src[s]
            if c == close {
                depth -= 1
                if depth == 0 { return s + 1 }
            } else if c == open {
                depth += 1
            }
            s += 1
        }
        return nil
    }

    /// `%1`–`%9` (and the invalid `%0`): the same bytes as that closed capture.
    mutating func backReference(_ s: Int, _ digit: UInt8) throws -> Int? {
        let l = Int(digit) - Int(UInt8(ascii: "1"))
        if l < 0 || l >= level || capLen[l] == Matcher.open {
            throw Matcher.malformed("invalid capture index %\(l + 1)")
        }
        let len = capLen[l]
        if len < 0 { return nil }   // a position capture never matches text
        try step(len)
        if srcEnd - s < len { return nil }
        let start = capStart[l]
        var i = 0
        while i < len {
            if src[start + i] != src[s + i] { return nil }
            i += 1
        }
        return s + len
    }

    /// Just past the single-character class that starts at `p`.
    mutating func classEnd(_ p: Int) throws -> Int {
        let c = pat[p]
        var q = p + 1
        if c == UInt8(ascii: "%") {
            if q >= patEnd { throw Matcher.malformed("malformed pattern (ends with '%')") }
            return q + 1
        }
        if c == UInt8(ascii: "[") {
            defer { pending &+= q - p }   // scanning a long set is work too
            if pc(q) == UInt8(ascii: "^") { q += 1 }
            // The first member is taken as is, so a ']' there is literal.
            repeat {
                if q >= patEnd { throw Matcher.malformed("malformed pattern (missing ']')") }
                let m = pat[q]
                q += 1
                if m == UInt8(ascii: "%") && q < patEnd { q += 1 }
            } while pc(q) != UInt8(ascii: "]")
            return q + 1
        }
        return q
    }

    /// Whether the subject byte at `s` (none past the end) matches the class `p..<ep`.
    @inline(__always) mutating func single(_ s: Int, _ p: Int, _ ep: Int) -> Bool {
        if s >= srcEnd { return false }
        let c = src[s]
        switch pat[p] {
        case UInt8(ascii: "."): return true
        case UInt8(ascii: "%"): return Matcher.inClass(c, pat[p + 1])
        case UInt8(ascii: "["): return inSet(c, p, ep - 1)
        case let literal: return literal == c
        }
    }

    /// Whether `c` is in the set `[...]` that opens at `p` and closes at `close`.
    mutating func inSet(_ c: UInt8, _ p: Int, _ close: Int) -> Bool {
        pending &+= (close - p) >> 2   // charged here, reported by the next step()
        var i = p + 1
        var member = true
        if pat[i] == UInt8(ascii: "^") {
            member = false
            i += 1
        }
        while i < close {
            let m = pat[i]
            if m == UInt8(ascii: "%") {
                i += 1
                if Matcher.inClass(c, pat[i]) { return member }
                i += 1
            } else if i + 2 < close && pat[i + 1] == UInt8(ascii: "-") {
                if m <= c && c <= pat[i + 2] { return member }
                i += 3
            } else {
                if m == c { return member }
                i += 1
            }
        }
        return !member
    }

    /// `%x` for the class letter (or escaped character) `cl`, in the C locale.
    static func inClass(_ c: UInt8, _ cl: UInt8) -> Bool {
        let upper = cl >= UInt8(ascii: "A") && cl <= UInt8(ascii: "Z")
        let lower = upper ? cl + 32 : cl
        let isUpper = c >= 65 && c <= 90, isLower = c >= 97 && c <= 122, isDigit = c >= 48 && c <= 57
        let result: Bool
        switch lower {
        case UInt8(ascii: "a"): result = isUpper || isLower
        case UInt8(ascii: "c"): result = c < 32 || c == 127
        case UInt8(ascii: "d"): result = isDigit
        case UInt8(ascii: "g"): result = c > 32 && c < 127
        case UInt8(ascii: "l"): result = isLower
        case UInt8(ascii: "p"): result = c > 32 && c < 127 && !(isUpper || isLower || isDigit)
        case UInt8(ascii: "s"): result = c == 32 || (c >= 9 && c <= 13)
        case UInt8(ascii: "u"): result = isUpper
        case UInt8(ascii: "w"): result = isUpper || isLower || isDigit
        case UInt8(ascii: "x"): result = isDigit || (c >= 65 && c <= 70) || (c >= 97 && c <= 102)
        case UInt8(ascii: "z"): result = c == 0
        default: return cl == c   // an escaped non-class character stands for itself
        }
        return upper ? !result : result
    }
}

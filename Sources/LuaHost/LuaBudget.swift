/// Limits on what a plugin may spend: VM instructions, wall-clock time and memory.
///
/// Time and instructions are checked by a count hook every 1,000 VM instructions (and by the
/// host's own loops, such as the pattern matcher, every ~1,000 steps); memory by the allocator.
/// The defaults suit a plugin that scores or proposes a batch: 1 s and 64 MiB.
///
/// ```swift
/// var budget = LuaBudget.default
/// budget.callTime = .milliseconds(200)
/// ```
public struct LuaBudget: Sendable, Equatable {
    /// Wall-clock limit for one call into the plugin.
    public var callTime: Duration
    /// Wall-clock limit for loading the plugin (running its file).
    public var loadTime: Duration
    /// Wall-clock limit for closing the state (finalizers, to-be-closed variables).
    public var shutdownTime: Duration
    /// VM instructions allowed per call or load; 0 means unlimited (the clock still applies).
    public var instructions: Int64
    /// Bytes the state may hold in total.
    public var memoryBytes: Int
    /// Nesting of host calls (a host function calling back into Lua calling the host …).
    public var hostCallDepth: Int

    public init(callTime: Duration = .seconds(1), loadTime: Duration = .seconds(1),
                shutdownTime: Duration = .milliseconds(250), instructions: Int64 = 200_000_000,
                memoryBytes: Int = 64 << 20, hostCallDepth: Int = 16) {
        self.callTime = callTime
        self.loadTime = loadTime
        self.shutdownTime = shutdownTime
        self.instructions = instructions
        self.memoryBytes = memoryBytes
        self.hostCallDepth = hostCallDepth
    }

    public static let `default` = LuaBudget()
}

extension Duration {
    /// Whole nanoseconds, saturating (never traps on huge durations).
    var saturatingNanoseconds: UInt64 {
        let (s, atto) = components
        if s < 0 { return 0 }
        let (whole, overflow) = UInt64(s).multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return .max }
        let (sum, o2) = whole.addingReportingOverflow(UInt64(atto / 1_000_000_000))
        return o2 ? .max : sum
    }
}

/// The clock the budget reads, injectable so tests can make time pass on demand.
public protocol LuaClock: AnyObject {
    /// Monotonic nanoseconds.
    func now() -> UInt64
}

import CLua
import Foundation
import LuaHost
import XCTest

/// A clock that advances by `step` nanoseconds on every read, so wall-clock budgets run out after
/// a known number of reads: deterministic, and no test has to wait for real time to pass.
final class TickClock: LuaClock {
    private(set) var reads = 0
    private var t: UInt64 = 1_000_000_000
    let step: UInt64
    init(step: UInt64) { self.step = step }
    func now() -> UInt64 {
        reads += 1
        t += step
        return t
    }
}

extension LuaBudget {
    /// Small budgets for hostile code: a runaway plugin is stopped within milliseconds.
    static let hostile = LuaBudget(callTime: .milliseconds(200), loadTime: .milliseconds(200),
                                   shutdownTime: .milliseconds(100), instructions: 2_000_000,
                                   memoryBytes: 16 << 20, hostCallDepth: 8)
    /// For memory bombs: room enough in time and instructions that the memory cap decides.
    static let memoryBomb = LuaBudget(callTime: .seconds(3), loadTime: .seconds(3),
                                      shutdownTime: .milliseconds(100), instructions: 100_000_000,
                                      memoryBytes: 8 << 20, hostCallDepth: 8)
    /// As `hostile`, but only the (real) clock limits time.
    static let clockOnly = LuaBudget(callTime: .milliseconds(100), loadTime: .milliseconds(100),
                                     shutdownTime: .milliseconds(100), instructions: 0,
                                     memoryBytes: 16 << 20, hostCallDepth: 8)
}

/// Builds a plugin file whose table has `score` and `ping` and an `attack` function with the
/// given body; `prologue` runs at load time before the table is built.
func pluginSource(attack: String = "return true", prologue: String = "", extra: String = "") -> String {
    """
    \(prologue)
    local P = {kind = "critic", name = "hostile", params = {threshold = 0.5}}
    function P.score(self, item) return 1 end
    function P.ping(self) return "pong" end
    function P.attack(self, arg)
    \(attack)
    end
    \(extra)
    return P
    """
}

/// The kinds LuaHost's tests load plugins as (LuaHost itself knows none; these mirror an
/// application's: one required function and one optional per kind).
let testKinds = [
    PluginKind(name: "attacker", required: ["propose"], optional: ["observe"]),
    PluginKind(name: "critic", required: ["score"], optional: ["score_batch"]),
    PluginKind(name: "oversight", required: ["decide"], optional: ["decide_batch"]),
]

func loadPlugin(_ source: String, file: String = "test.lua", budget: LuaBudget = .hostile, seed: UInt64 = 0,
                logger: HostLogger = HostLogger(), clock: LuaClock? = nil,
                prepare: ((LuaState) throws -> Void)? = nil) throws -> Plugin {
    try Plugin.load(source: Array(source.utf8), file: file,
                    options: Plugin.Options(budget: budget, seed: seed, kinds: testKinds, logger: logger, clock: clock,
                                            prepare: prepare))
}

/// Runs `code` as a chunk in a fresh sandboxed state and returns its results.
func runLua(_ code: String, budget: LuaBudget = .hostile, seed: UInt64 = 0,
            logger: HostLogger = HostLogger()) throws -> [LuaValue] {
    let state = try LuaState(name: "test", budget: budget, seed: seed, logger: logger)
    return try state.run(source: code, chunkName: "=test")
}

/// The first result of `code` in a fresh sandboxed state.
func evalLua(_ code: String, budget: LuaBudget = .hostile, file: StaticString = #filePath, line: UInt = #line) -> LuaValue {
    do { return try runLua(code, budget: budget).first ?? .nil } catch {
        XCTFail("unexpected error: \(error)", file: file, line: line)
        return .nil
    }
}

/// Expects `body` to throw a `PluginError` and returns it.
@discardableResult
func expectPluginError<T>(_ body: @autoclosure () throws -> T, kind: PluginError.Kind? = nil, phase: PluginError.Phase? = nil,
                          contains: String? = nil, file: StaticString = #filePath, line: UInt = #line) -> PluginError? {
    do {
        let value = try body()
        XCTFail("expected a PluginError\(kind.map { " (\($0.rawValue))" } ?? ""), got \(value)", file: file, line: line)
        return nil
    } catch let error as PluginError {
        if let kind { XCTAssertEqual(error.kind, kind, "\(error)", file: file, line: line) }
        if let phase { XCTAssertEqual(error.phase, phase, "\(error)", file: file, line: line) }
        if let contains {
            XCTAssertTrue(error.message.contains(contains), "message '\(error.message)' lacks '\(contains)'", file: file, line: line)
        }
        return error
    } catch {
        XCTFail("expected a PluginError, got \(type(of: error)): \(error)", file: file, line: line)
        return nil
    }
}

/// Runs a hostile `attack` in a plugin call and checks it ends with a `PluginError` of `kind`
/// within bounded time and memory, and that the same plugin serves the next call.
@discardableResult
func assertAttackFails(_ attack: String, kind: PluginError.Kind, contains: String? = nil, prologue: String = "",
                       extra: String = "", budget: LuaBudget = .hostile, args: [LuaValue] = [],
                       file: StaticString = #filePath, line: UInt = #line) -> PluginError? {
    assertAttackFails(attack, kinds: [kind], contains: contains, prologue: prologue, extra: extra, budget: budget,
                      args: args, file: file, line: line)
}

/// As above, for attacks where whichever limit is reached first decides the kind (a runaway
/// recursion may hit the stack limit, the memory cap or the instruction budget).
@discardableResult
func assertAttackFails(_ attack: String, kinds: Set<PluginError.Kind>, contains: String? = nil, prologue: String = "",
                       extra: String = "", budget: LuaBudget = .hostile, args: [LuaValue] = [],
                       file: StaticString = #filePath, line: UInt = #line) -> PluginError? {
    let plugin: Plugin
    do { plugin = try loadPlugin(pluginSource(attack: attack, prologue: prologue, extra: extra), budget: budget) } catch {
        XCTFail("plugin did not load: \(error)", file: file, line: line)
        return nil
    }
    let start = ContinuousClock.now
    let error = expectPluginError(try plugin.call("attack", args), phase: .call, contains: contains, file: file, line: line)
    if let error, !kinds.contains(error.kind) {
        XCTFail("kind \(error.kind) not in \(kinds.map(\.rawValue).sorted()): \(error)", file: file, line: line)
    }
    let elapsed = ContinuousClock.now - start
    XCTAssertLessThan(elapsed, .seconds(5), "the attack ran for \(elapsed)", file: file, line: line)
    XCTAssertLessThanOrEqual(plugin.state.memoryPeak, budget.memoryBytes + (1 << 20),
                             "memory peaked at \(plugin.state.memoryPeak)", file: file, line: line)
    assertServes(plugin, file: file, line: line)
    return error
}

/// The plugin still answers a plain call, and the host can load and run another plugin.
func assertServes(_ plugin: Plugin, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(try plugin.call("ping", []), ["pong"], file: file, line: line)
    XCTAssertEqual(try plugin.call("score", [.text("x")]), [1], file: file, line: line)
    XCTAssertEqual(try loadPlugin(pluginSource()).call("ping", []), ["pong"], file: file, line: line)
}

/// Runs a hostile load phase and checks it fails with `kind`, bounded, and the host goes on.
@discardableResult
func assertLoadFails(_ source: String, kind: PluginError.Kind, contains: String? = nil, budget: LuaBudget = .hostile,
                     file: StaticString = #filePath, line: UInt = #line) -> PluginError? {
    let start = ContinuousClock.now
    let error = expectPluginError(try loadPlugin(source, budget: budget), kind: kind, phase: .load, contains: contains,
                                  file: file, line: line)
    XCTAssertLessThan(ContinuousClock.now - start, .seconds(5), file: file, line: line)
    XCTAssertEqual(try loadPlugin(pluginSource()).call("ping", []), ["pong"], file: file, line: line)
    return error
}

extension LuaValue {
    /// Shorthand for a sequence table.
    static func list(_ values: [LuaValue]) -> LuaValue { .table(LuaTable(array: values)) }
}

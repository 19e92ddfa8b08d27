import LuaHost
import XCTest

/// A clock that moves only when told to.
final class ManualClock: LuaClock {
    var t: UInt64 = 1_000_000_000
    func now() -> UInt64 { t }
}

/// The host API's own work is the engine's time: a plugin's wall-clock budget counts only what
/// the plugin spends itself.
final class HostTimeTests: XCTestCase {
    func testTimeInsideHostAPICallsDoesNotCountAgainstThePlugin() throws {
        let clock = ManualClock()
        var budget = LuaBudget.clockOnly
        budget.callTime = .milliseconds(50)
        var api = HostAPI(name: "host", summary: "test API")
        api.add("slow", summary: "Takes 40 ms of host time.") { _ in clock.t += 40_000_000; return 0 }
        // 120 ms inside the host, then enough instructions for the budget hook to look at the clock.
        let plugin = try loadPlugin(pluginSource(attack: "for _ = 1, 3 do host.slow() end\nfor _ = 1, 5000 do end\nreturn true"),
                                    budget: budget, clock: clock, prepare: { api.install(into: $0) })
        XCTAssertEqual(try plugin.call("attack", []), [true])
    }

    func testThePluginsOwnTimeStillCounts() throws {
        let clock = ManualClock()
        var budget = LuaBudget.clockOnly
        budget.callTime = .milliseconds(50)
        // A plain host function (not part of the host API) is charged like the plugin's own code.
        let plugin = try loadPlugin(pluginSource(attack: "for _ = 1, 3 do tick() end\nfor _ = 1, 5000 do end\nreturn true"),
                                    budget: budget, clock: clock, prepare: { state in
                                        state.register("tick", HostFunction("tick") { _ in clock.t += 40_000_000; return 0 })
                                    })
        XCTAssertThrowsError(try plugin.call("attack", [])) { e in
            XCTAssertTrue("\(e)".contains("time budget of 50 ms exceeded"), "\(e)")
        }
    }
}

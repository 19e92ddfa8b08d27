import CLua
import CLuaShim
import LuaHost
import XCTest

/// Instruction, wall-clock, memory, load-phase and host-call-nesting budgets.
final class BudgetTests: XCTestCase {
    func testDefaultsAreAsDocumented() {
        let b = LuaBudget.default
        XCTAssertEqual(b.callTime, .seconds(1))
        XCTAssertEqual(b.loadTime, .seconds(1))
        XCTAssertEqual(b.memoryBytes, 64 << 20)
        XCTAssertGreaterThan(b.instructions, 0)
        XCTAssertGreaterThan(b.hostCallDepth, 0)
        XCTAssertEqual(LuaBudget(), .default)
        XCTAssertEqual(Plugin.Options().budget, .default)
    }

    func testDefaultMemoryCapIsEnforced() throws {
        var budget = LuaBudget.default
        budget.instructions = 20_000_000
        let plugin = try loadPlugin(pluginSource(attack: """
            local t = {}
            for i = 1, 1e9 do t[i] = i end
            """), budget: budget)
        expectPluginError(try plugin.call("attack", []), kind: .memory, contains: "64 MiB")
        XCTAssertLessThanOrEqual(plugin.state.memoryPeak, 64 << 20)
        XCTAssertGreaterThan(plugin.state.memoryPeak, 32 << 20)
        assertServes(plugin)
    }

    // MARK: Instructions

    func testInstructionBudgetStopsALoop() throws {
        var budget = LuaBudget.clockOnly
        budget.callTime = .seconds(30)
        budget.instructions = 100_000
        let plugin = try loadPlugin(pluginSource(attack: "while true do end"), budget: budget)
        let error = expectPluginError(try plugin.call("attack", []), kind: .timeout, phase: .call,
                                      contains: "instruction budget of 100000 exceeded")
        XCTAssertEqual(error?.line, 6)
        XCTAssertGreaterThan(plugin.state.instructionsUsed, 100_000)
        XCTAssertLessThanOrEqual(plugin.state.instructionsUsed, 101_000)
        assertServes(plugin)
    }

    func testInstructionBudgetIsPerCall() throws {
        var budget = LuaBudget.clockOnly
        budget.callTime = .seconds(30)
        budget.instructions = 100_000
        let plugin = try loadPlugin(pluginSource(attack: "for i = 1, 20000 do end return true"), budget: budget)
        for _ in 0..<20 { XCTAssertEqual(try plugin.call("attack", []), [true]) }
    }

    func testZeroInstructionsMeansOnlyTheClockLimits() throws {
        let clock = TickClock(step: 1_000_000)
        var budget = LuaBudget.clockOnly
        budget.callTime = .milliseconds(50)
        let plugin = try loadPlugin(pluginSource(attack: "for i = 1, 20000 do end return true"), budget: budget, clock: clock)
        XCTAssertEqual(try plugin.call("attack", []), [true], "20k instructions read the clock ~20 times: within 50 ticks")
        let loop = try loadPlugin(pluginSource(attack: "while true do end"), budget: budget, clock: clock)
        expectPluginError(try loop.call("attack", []), kind: .timeout, contains: "time budget of 50 ms exceeded")
    }

    // MARK: Wall clock

    func testInjectedClockStopsALoopDeterministically() throws {
        let clock = TickClock(step: 1_000_000)   // every read: 1 ms later
        var budget = LuaBudget.clockOnly
        budget.callTime = .milliseconds(50)
        let plugin = try loadPlugin(pluginSource(attack: "while true do end"), budget: budget, clock: clock)
        let before = clock.reads
        expectPluginError(try plugin.call("attack", []), kind: .timeout, phase: .call, contains: "time budget of 50 ms exceeded")
        let reads = clock.reads - before
        // One read sets the deadline, one per hook (every 1000 instructions) until 50 ms passed.
        XCTAssertEqual(reads, 52, "clock reads")
        XCTAssertGreaterThanOrEqual(plugin.state.instructionsUsed, 50_000)
        XCTAssertLessThanOrEqual(plugin.state.instructionsUsed, 52_000)
        let again = clock.reads
        expectPluginError(try plugin.call("attack", []), kind: .timeout)
        XCTAssertEqual(clock.reads - again, 52, "the next call has a fresh, equal budget")
        assertServes(plugin)
    }

    func testRealClockStopsALoop() throws {
        var budget = LuaBudget.clockOnly
        budget.callTime = .milliseconds(50)
        let plugin = try loadPlugin(pluginSource(attack: "while true do end"), budget: budget)
        let start = ContinuousClock.now
        expectPluginError(try plugin.call("attack", []), kind: .timeout, contains: "time budget of 50 ms exceeded")
        let elapsed = ContinuousClock.now - start
        XCTAssertGreaterThanOrEqual(elapsed, .milliseconds(50))
        XCTAssertLessThan(elapsed, .seconds(3))
        assertServes(plugin)
    }

    func testTimeBudgetMessageInSeconds() throws {
        let clock = TickClock(step: 100_000_000)
        var budget = LuaBudget.clockOnly
        budget.callTime = .seconds(2)
        let plugin = try loadPlugin(pluginSource(attack: "while true do end"), budget: budget, clock: clock)
        expectPluginError(try plugin.call("attack", []), kind: .timeout, contains: "time budget of 2 s exceeded")
    }

    func testClockAppliesInsideALongHostStep() throws {
        // The pattern matcher charges its steps and reads the clock: a slow match stops on time.
        let clock = TickClock(step: 1_000_000)
        var budget = LuaBudget.clockOnly
        budget.callTime = .milliseconds(20)
        let plugin = try loadPlugin(pluginSource(attack: #"return string.find(("a"):rep(40), ("a*"):rep(20) .. "b")"#),
                                    budget: budget, clock: clock)
        expectPluginError(try plugin.call("attack", []), kind: .timeout, contains: "time budget")
        assertServes(plugin)
    }

    // MARK: Load phase

    func testLoadPhaseHasItsOwnBudget() throws {
        let clock = TickClock(step: 1_000_000)
        var budget = LuaBudget.clockOnly
        budget.loadTime = .milliseconds(30)
        budget.callTime = .seconds(100)
        let error = expectPluginError(try loadPlugin("while true do end", budget: budget, clock: clock),
                                      kind: .timeout, phase: .load, contains: "time budget of 30 ms exceeded")
        XCTAssertEqual(error?.line, 1)
        XCTAssertEqual(error?.file, "test.lua")
        // The same file body in a call gets the call budget instead.
        let slow = pluginSource(attack: "for i = 1, 100000 do end return 'done'")
        XCTAssertEqual(try loadPlugin(slow, budget: budget, clock: clock).call("attack", []), ["done"])
    }

    func testLoadPhaseInstructionBudget() {
        var budget = LuaBudget.hostile
        budget.instructions = 50_000
        assertLoadFails("local x = 0 while true do x = x + 1 end", kind: .timeout, contains: "instruction budget", budget: budget)
        assertLoadFails(pluginSource(prologue: "for i = 1, 1e9 do end"), kind: .timeout, budget: budget)
    }

    func testLoadPhaseMemoryBudget() {
        var budget = LuaBudget.hostile
        budget.memoryBytes = 4 << 20
        assertLoadFails("local t = {} for i = 1, 1e8 do t[i] = tostring(i) end", kind: .memory, contains: "4 MiB", budget: budget)
    }

    // MARK: Memory

    func testMemoryCapStopsGrowth() throws {
        var budget = LuaBudget.hostile
        budget.memoryBytes = 8 << 20
        budget.instructions = 0
        budget.callTime = .seconds(10)
        let plugin = try loadPlugin(pluginSource(attack: "keep = {} for i = 1, 1e9 do keep[i] = {i} end"), budget: budget)
        expectPluginError(try plugin.call("attack", []), kind: .memory, contains: "memory limit of 8 MiB exceeded")
        XCTAssertLessThanOrEqual(plugin.state.memoryPeak, 8 << 20)
        // The plugin keeps what it stored, stays usable, and calls that need no memory still work.
        assertServes(plugin)
        // Once it lets go, memory comes back.
        let free = try loadPlugin(pluginSource(attack: "local t = {} for i = 1, 1e9 do t[i] = {i} end"), budget: budget)
        expectPluginError(try free.call("attack", []), kind: .memory)
        expectPluginError(try free.call("attack", []), kind: .memory)
        assertServes(free)
    }

    func testMemoryUsedAndPeakAreReported() throws {
        let state = try LuaState(name: "m", budget: .hostile)
        let before = state.memoryUsed
        try state.run(source: "big = string.rep('x', 1 << 20)", chunkName: "=m")
        XCTAssertGreaterThan(state.memoryUsed, 1 << 20)
        XCTAssertLessThan(before, 1 << 20)
        XCTAssertGreaterThanOrEqual(state.memoryPeak, state.memoryUsed)
    }

    func testMemoryCapCanBeChangedOnAState() throws {
        let state = try LuaState(name: "m", budget: .hostile)
        state.budget.memoryBytes = state.memoryUsed + (512 << 10)
        expectPluginError(try state.run(source: "local s = string.rep('x', 1 << 20) return #s", chunkName: "=m"), kind: .memory)
        state.budget.memoryBytes = 16 << 20
        XCTAssertEqual(try state.run(source: "local s = string.rep('x', 1 << 20) return #s", chunkName: "=m"), [.integer(1 << 20)])
    }

    func testMemoryErrorCaughtByPcallLeavesTheCallUsable() throws {
        let plugin = try loadPlugin(pluginSource(attack: """
            local ok, err = pcall(function() local t = {} for i = 1, 1e9 do t[i] = {} end end)
            collectgarbage("count")
            return ok, err
            """))
        XCTAssertEqual(try plugin.call("attack", []), [false, "not enough memory"])
    }

    // MARK: Host call nesting

    /// A host function that calls its Lua function argument back (through a protected call, as
    /// any host callback must), so Lua → Swift → Lua → Swift … nests.
    static func callbackFunction() -> HostFunction {
        HostFunction("callback") { call in
            let L = call.L
            lua_settop(L, 1)
            if sa_pcall(L, 0, 1, 0) != LUA_OK {
                throw HostCallError.message(String(cString: sa_tolstring(L, -1, nil)))
            }
            return 1
        }
    }

    func testHostCallNestingIsLimited() throws {
        let source = pluginSource(attack: """
            local depth = 0
            local function dive() depth = depth + 1; return callback(dive) end
            local ok, err = pcall(dive)
            reached = depth
            error(err, 0)
            """, extra: "function P.depth(self) return reached end")
        var budget = LuaBudget.hostile
        budget.hostCallDepth = 5
        let plugin = try loadPlugin(source, budget: budget) { $0.register("callback", Self.callbackFunction()) }
        let error = expectPluginError(try plugin.call("attack", []), phase: .call, contains: "host call nesting too deep")
        XCTAssertEqual(error?.kind, .runtime)
        XCTAssertEqual(try plugin.call("depth", []), [nil], "the budget error cannot be caught: no instruction ran after it")
        assertServes(plugin)
    }

    func testHostCallsWithinTheNestingLimitWork() throws {
        let source = pluginSource(attack: """
            local function dive(n) if n == 0 then return 'bottom' end return callback(function() return dive(n - 1) end) end
            return dive(arg)
            """)
        var budget = LuaBudget.hostile
        budget.hostCallDepth = 5
        let plugin = try loadPlugin(source, budget: budget) { $0.register("callback", Self.callbackFunction()) }
        XCTAssertEqual(try plugin.call("attack", [5]), ["bottom"])
        expectPluginError(try plugin.call("attack", [6]), contains: "host call nesting too deep")
        XCTAssertEqual(try plugin.call("attack", [5]), ["bottom"], "the depth is counted afresh")
    }

    func testNestingLimitCanBeChangedOnAState() throws {
        let state = try LuaState(name: "n", budget: .hostile)
        state.register("callback", Self.callbackFunction())
        let code = """
            local function dive(n) if n == 0 then return 'bottom' end return callback(function() return dive(n - 1) end) end
            return dive(6)
            """
        state.budget.hostCallDepth = 3
        expectPluginError(try state.run(source: code, chunkName: "=n"), contains: "host call nesting too deep")
        state.budget.hostCallDepth = 10
        XCTAssertEqual(try state.run(source: code, chunkName: "=n"), ["bottom"])
    }

    func testBudgetExceededInsideACallbackReachesTheHost() throws {
        let plugin = try loadPlugin(pluginSource(attack: """
            local ok = pcall(callback, function() while true do end end)
            caught = ok
            return 'survived'
            """, extra: "function P.caught(self) return caught end")) { $0.register("callback", Self.callbackFunction()) }
        expectPluginError(try plugin.call("attack", []), kind: .timeout)
        XCTAssertEqual(try plugin.call("caught", []), [nil])
        assertServes(plugin)
    }
}

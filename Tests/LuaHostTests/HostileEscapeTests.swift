import LuaHost
import XCTest

/// Escape attempts, bad return values and misbehaving error objects.
final class HostileEscapeTests: XCTestCase {
    // MARK: Escape attempts

    func testReachingForTheStringMetatable() {
        assertAttackFails("getmetatable('').__index.upper = nil", kind: .runtime, contains: "index")
        assertAttackFails("setmetatable(getmetatable(''), {})", kind: .runtime)
        XCTAssertEqual(evalLua("return getmetatable('').__gc == nil and getmetatable('').__index == nil"), true)
    }

    func testRawsetOnGlobalsOnlyChangesTheOwnState() throws {
        let plugin = try loadPlugin(pluginSource(attack: """
            rawset(_G, 'io', {open = function() return 'fake' end})
            rawset(_G, 'require', function() return 'fake' end)
            return io.open(), require('os')
            """))
        XCTAssertEqual(try plugin.call("attack", []), ["fake", "fake"])
        // Nothing real came with it.
        expectPluginError(try loadPlugin(pluginSource(attack: "return io.open")).call("attack", []), kind: .forbidden)
    }

    func testForbiddenLibrariesAreForbidden() {
        assertAttackFails("return require('os')", kind: .forbidden, contains: "require")
        assertAttackFails("return package.loadlib('libc.so.6', 'system')", kind: .forbidden, contains: "package")
        assertAttackFails("return debug.getregistry()", kind: .forbidden, contains: "debug")
        assertAttackFails("return io.open('/etc/passwd')", kind: .forbidden, contains: "io")
        assertAttackFails("return os.execute('true')", kind: .forbidden, contains: "os")
        assertAttackFails("return dofile('/etc/passwd')", kind: .forbidden, contains: "dofile")
        assertAttackFails("return loadfile('/etc/passwd')", kind: .forbidden, contains: "loadfile")
        assertAttackFails("return string.dump(function() end)", kind: .forbidden, contains: "string.dump")
        assertAttackFails("return _G['de' .. 'bug']", kind: .forbidden, contains: "debug")
        assertAttackFails("return _ENV.os", kind: .forbidden, contains: "os")
    }

    func testForbiddenLibrariesThroughLoadAndCraftedEnvironments() {
        assertAttackFails("return load('return require')()", kind: .forbidden, contains: "require")
        assertAttackFails("return load('return debug', 'x', 't', _G)()", kind: .forbidden, contains: "debug")
        assertAttackFails("""
            local env = setmetatable({}, {__index = _G})
            return load('return os.getenv(\"HOME\")', 'x', 't', env)()
            """, kind: .forbidden, contains: "os")
        assertAttackFails("""
            local f = load('local _ENV = ... return io', 'x', 't', {})
            return f(_G)
            """, kind: .forbidden, contains: "io")
    }

    func testGcMetatablesInEveryForm() {
        assertAttackFails("setmetatable({}, {__gc = function() while true do end end})", kind: .forbidden, contains: "__gc")
        assertAttackFails("""
            local mt = {}
            local t = setmetatable({}, mt)
            mt.__gc = function() while true do end end
            setmetatable(t, mt)
            """, kind: .forbidden, contains: "__gc")
        assertAttackFails("""
            local mt = setmetatable({}, {__index = function(_, k) if k == '__gc' then return print end end})
            setmetatable({}, mt)
            local t = setmetatable({}, {__gc = true})
            """, kind: .forbidden, contains: "__gc")
    }

    func testCaughtRefusalsDoNotColourLaterErrors() throws {
        let plugin = try loadPlugin(pluginSource(attack: """
            local mt = {__gc = function() while true do end end}
            local ok, err = pcall(setmetatable, {}, mt)
            local ok2, err2 = pcall(function() return require('os') end)
            if arg == 'return' then return ok, err, ok2, err2 end
            error('an ordinary failure')
            """))
        let out = try plugin.call("attack", ["return"])
        XCTAssertEqual(out.first, false)
        XCTAssertEqual(out[1].text?.contains("__gc"), true)
        XCTAssertEqual(out[2], false)
        XCTAssertEqual(out[3].text?.contains("require"), true)
        expectPluginError(try plugin.call("attack", ["raise"]), kind: .runtime, contains: "an ordinary failure")
        let memory = try loadPlugin(pluginSource(attack: """
            pcall(function() local t = {} while true do t[#t + 1] = {} end end)
            error('an ordinary failure')
            """))
        expectPluginError(try memory.call("attack", []), kind: .runtime, contains: "an ordinary failure")
        // Re-raising the refusal itself keeps its kind.
        assertAttackFails("local ok, e = pcall(function() return require end) error(e, 0)", kind: .forbidden, contains: "require")
        assertAttackFails("local ok, e = pcall(function() local t = {} while true do t[#t + 1] = {} end end) error(e, 0)",
                          kind: .memory)
    }

    func testShutdownIsBounded() throws {
        // A state full of pending to-be-closed coroutines, weak tables and garbage closes quickly.
        var plugin: Plugin? = try loadPlugin(pluginSource(attack: """
            keep = {}
            for i = 1, 100 do
              local co = coroutine.create(function()
                local c <close> = setmetatable({}, {__close = function() while true do end end})
                coroutine.yield()
              end)
              coroutine.resume(co)
              keep[i] = co
            end
            weak = setmetatable({}, {__mode = 'k'})
            for i = 1, 10000 do weak[{}] = i end
            return true
            """))
        XCTAssertEqual(try plugin!.call("attack", []), [true])
        let start = ContinuousClock.now
        plugin = nil
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(2))
    }

    func testHostPrimitivesAreNotReachable() {
        XCTAssertEqual(evalLua("return __sandbox_host == nil and __sandbox_spec == nil"), true)
        XCTAssertEqual(evalLua("""
            for k, v in pairs(_G) do if type(v) == 'table' then for k2 in pairs(v) do
              if k2 == 'pmatch' or k2 == 'forbid' or k2 == 'raise' then return k .. '.' .. k2 end
            end end end
            return 'none'
            """), "none")
    }

    // MARK: Bad return values

    func testBadReturnValues() {
        assertAttackFails("return function() end", kind: .validation, contains: "function")
        assertAttackFails("local t = {} t[1] = t return t", kind: .validation, contains: "cycle")
        assertAttackFails("return {coroutine.running()}", kind: .validation, contains: "thread")
        assertAttackFails("return {ok = true, items = {1, 2, {print}}}", kind: .validation, contains: "items[3][1]")
        assertAttackFails("local t = {} for i = 1, 100 do t = {t} end return t", kind: .validation, contains: "deeper")
    }

    // MARK: Error objects

    func testErrorObjectsOfEveryType() throws {
        let plugin = try loadPlugin(pluginSource(attack: "error(arg, 0)"))
        let cases: [(LuaValue, String)] = [
            ("plain", "plain"), (42, "42"), (1.5, "1.5"), (true, "(error object is a boolean value)"),
            (nil, "(error object is nil)"), (.list([1]), "(error object is a table value)"),
        ]
        for (value, message) in cases {
            let error = expectPluginError(try plugin.call("attack", [value]), kind: .runtime, phase: .call)
            XCTAssertEqual(error?.message, message)
            XCTAssertEqual(error?.line, 6)
            XCTAssertEqual(error?.file, "test.lua")
        }
        assertServes(plugin)
    }

    func testErrorObjectsWithTostring() {
        let ok = assertAttackFails("error(setmetatable({}, {__tostring = function() return 'custom message' end}))", kind: .runtime)
        XCTAssertEqual(ok?.message, "custom message")
        let failing = assertAttackFails("error(setmetatable({}, {__tostring = function() error('nested') end}))", kind: .runtime)
        XCTAssertEqual(failing?.message, "(error object is a table value whose __tostring failed)")
        let wrongType = assertAttackFails("error(setmetatable({}, {__tostring = function() return {} end}))", kind: .runtime)
        XCTAssertEqual(wrongType?.message, "(error object is a table value whose __tostring failed)")
        let recursive = assertAttackFails("local e e = setmetatable({}, {__tostring = function() error(e) end}) error(e)", kind: .runtime)
        XCTAssertEqual(recursive?.message, "(error object is a table value whose __tostring failed)")
        let huge = assertAttackFails("error(setmetatable({}, {__tostring = function() return string.rep('x', 1e15) end}))",
                                     kinds: [.runtime, .memory])
        XCTAssertNotNil(huge)
        assertAttackFails("error(setmetatable({}, {__tostring = function() while true do end end}))", kind: .timeout)
        assertAttackFails("error(setmetatable({}, {__index = function() while true do end end, __name = 'N'}))", kind: .runtime)
    }

    func testErrorsInsideErrorHandlers() {
        assertAttackFails("xpcall(error, error) error('after')", kind: .runtime, contains: "after")
        assertAttackFails("local ok, e = xpcall(error, function() error({}) end) error(e, 0)", kind: .runtime)
        assertAttackFails("error(setmetatable({}, {__tostring = function() local t = {} while true do t[#t+1] = {} end end}))",
                          kinds: [.memory, .runtime])
    }

    func testErrorLocationAndTraceback() throws {
        let plugin = try loadPlugin("""
            local P = {kind = "critic", name = "tracer", params = {}}
            local function inner(x)
              return x.missing.field
            end
            local function middle(x) return inner(x) + 1 end
            function P.score(self, item) return middle(item) end
            return P
            """, file: "/plugins/critics/tracer.lua")
        let error = expectPluginError(try plugin.call("score", [.table(LuaTable())]), kind: .runtime, phase: .call)
        XCTAssertEqual(error?.plugin, "tracer")
        XCTAssertEqual(error?.file, "/plugins/critics/tracer.lua")
        XCTAssertEqual(error?.line, 3)
        XCTAssertEqual(error?.message.contains("attempt to index a nil value (field 'missing')"), true, error?.message ?? "")
        XCTAssertEqual(error?.message.hasPrefix("/plugins"), false, "the location is in fields, not twice in the text")
        let traceback = error?.traceback ?? ""
        XCTAssertTrue(traceback.contains("tracer.lua:3"), traceback)
        XCTAssertTrue(traceback.contains("tracer.lua:5"), traceback)
        XCTAssertFalse(traceback.contains("(sandbox)"), traceback)
        XCTAssertLessThanOrEqual(traceback.split(separator: "\n").count, 8)
        XCTAssertEqual(error?.description.contains("at /plugins/critics/tracer.lua:3"), true)
    }

    func testErrorsRaisedInsideSandboxWrappersPointAtThePluginLine() throws {
        let plugin = try loadPlugin(pluginSource(attack: "local r = string.find({}, 'x') return r"))
        let error = expectPluginError(try plugin.call("attack", []), kind: .runtime, contains: "bad argument #1 to 'find'")
        XCTAssertEqual(error?.line, 6)
        XCTAssertEqual(error?.file, "test.lua")
        // A tail call leaves no plugin frame to point at; the error still names the plugin's file.
        let tail = try loadPlugin(pluginSource(attack: "return string.find({}, 'x')"))
        let tailError = expectPluginError(try tail.call("attack", []), kind: .runtime, contains: "bad argument #1 to 'find'")
        XCTAssertEqual(tailError?.file, "test.lua")
        XCTAssertNil(tailError?.line)
    }

    func testLongFileNamesAreKeptWhole() throws {
        let file = "/very/long/directory/name/for/plugins/of/the/superalign/project/critics/some_critic_with_a_long_name.lua"
        let plugin = try loadPlugin(pluginSource(attack: "error('boom')"), file: file)
        let error = expectPluginError(try plugin.call("attack", []), kind: .runtime, contains: "boom")
        XCTAssertEqual(error?.file, file)
        XCTAssertEqual(error?.line, 6)
        XCTAssertEqual(error?.message, "boom")
        let syntax = expectPluginError(try loadPlugin("local x = = 1", file: file), kind: .syntax, phase: .load)
        XCTAssertEqual(syntax?.file, file)
        XCTAssertEqual(syntax?.line, 1)
        let timeout = expectPluginError(try loadPlugin("while true do end", file: file), kind: .timeout, phase: .load)
        XCTAssertEqual(timeout?.file, file)
    }
}

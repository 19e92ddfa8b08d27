import ArgumentParser
import Foundation
import LuaHost

/// `superalign bench lua`: the cost of crossing the Swift/Lua boundary.
struct BenchLuaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lua",
        abstract: "Cost of one Swift→Lua plugin call and one Lua→Swift host call, in ns."
    )

    @Option(help: "Calls per measurement.")
    var calls = 1_000_000

    @Option(help: "Repetitions (the table reports min, median and max).")
    var repeats = 5

    @Flag(help: "Print one JSON document on stdout.")
    var json = false

    func run() throws {
        let source = """
        return {
          kind = "critic", name = "bench",
          score = function(self, x) return x end,
          host_loop = function(self, n) local f = host_noop for i = 1, n do f(i) end end,
          lua_loop = function(self, n) local f = function(v) return v end for i = 1, n do f(i) end end,
        }
        """
        var budget = LuaBudget.default
        budget.callTime = .seconds(120)
        budget.instructions = 0
        let noop = HostFunction("host_noop") { call in call.push(integer: try call.integer(1)); return 1 }
        let plugin = try Plugin.load(source: Array(source.utf8), file: "bench.lua",
                                     options: Plugin.Options(budget: budget, prepare: { $0.register("host_noop", noop) }))
        let arg: [LuaValue] = [.integer(7)]

        func measure(_ body: () throws -> Void) rethrows -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            try body()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / Double(calls)
        }
        var pluginCall: [Double] = [], hostCall: [Double] = [], luaCall: [Double] = []
        for _ in 0..<repeats {
            pluginCall.append(try measure { for _ in 0..<calls { _ = try plugin.call("score", arg) } })
            hostCall.append(try measure { _ = try plugin.call("host_loop", [.integer(Int64(calls))]) })
            luaCall.append(try measure { _ = try plugin.call("lua_loop", [.integer(Int64(calls))]) })
        }
        let rows: [(String, [Double])] = [
            ("swift_to_lua_plugin_call", pluginCall),
            ("lua_to_swift_host_call", hostCall),
            ("lua_to_lua_call_for_reference", luaCall),
        ]
        if json {
            let doc = LuaValue.table(LuaTable(fields: [
                "calls": .integer(Int64(calls)),
                "rows": .table(LuaTable(array: rows.map { name, v in
                    .table(LuaTable(fields: [
                        "name": .text(name), "ns_min": .number(v.min()!), "ns_median": .number(median(v)),
                        "ns_max": .number(v.max()!),
                    ]))
                })),
            ]))
            print(try doc.jsonText())
        } else {
            print("Lua boundary, \(calls) calls × \(repeats) repeats (ns per call)")
            print("measurement                          min     median      max")
            for (name, v) in rows {
                print(name.padding(toLength: 32, withPad: " ", startingAt: 0)
                      + String(format: "%9.1f  %9.1f  %9.1f", v.min()!, median(v), v.max()!))
            }
        }
    }
}

func median(_ values: [Double]) -> Double {
    let s = values.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

import ArgumentParser
import Foundation
import LuaHost
import Logging

/// `superalign plugins …`: load, validate and exercise Lua plugins.
struct PluginsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins",
        abstract: "Check and run Lua plugins in the sandbox.",
        subcommands: [PluginsCheckCommand.self, PluginsExecCommand.self]
    )
}

/// Exit status when any plugin failed (0: all succeeded; 64: usage error, from ArgumentParser).
let pluginFailureExitCode = ExitCode(2)

struct PluginsCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Load each plugin in the sandbox and validate its table."
    )

    @Argument(help: "Plugin files (.lua).")
    var files: [String]

    @Flag(help: "Print one JSON document on stdout.")
    var json = false

    func run() throws {
        var results: [LuaValue] = []
        var failed = false
        for file in files {
            do {
                let plugin = try Plugin.load(file: URL(fileURLWithPath: file), options: pluginOptions())
                results.append(.table(LuaTable(fields: [
                    "file": .text(file), "ok": true, "kind": .text(plugin.kind), "name": .text(plugin.name),
                ])))
                if !json { print("ok    \(file): \(plugin.kind) '\(plugin.name)'") }
            } catch let error as PluginError {
                failed = true
                results.append(failureRecord(file: file, error))
                if !json { print("FAIL  \(file): \(error)") }
            }
        }
        if json { print(try LuaValue.table(LuaTable(fields: ["results": .table(LuaTable(array: results))])).jsonText()) }
        if failed { throw pluginFailureExitCode }
    }
}

struct PluginsExecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Load the files in order in one process and call plugin[NAME](plugin, input) on each."
    )

    @Argument(help: "Plugin files (.lua).")
    var files: [String]

    @Option(name: .customLong("function"), help: "The plugin function to call.")
    var function: String

    @Option(help: "The argument, as JSON (default: null).")
    var input: String?

    @Option(name: .customLong("budget-ms"), help: "Wall-clock budget per call and for loading, in milliseconds.")
    var budgetMs: Int?

    @Option(name: .customLong("memory-mb"), help: "Memory cap per plugin, in MiB.")
    var memoryMb: Int?

    @Flag(help: "Print one JSON document on stdout.")
    var json = false

    func validate() throws {
        if let budgetMs, budgetMs <= 0 { throw ValidationError("--budget-ms must be positive") }
        if let memoryMb, memoryMb <= 0 || memoryMb > 1 << 20 { throw ValidationError("--memory-mb must be in 1...1048576") }
        if let input { do { _ = try LuaValue(json: input) } catch { throw ValidationError("--input: \(error)") } }
    }

    func run() throws {
        var budget = LuaBudget.default
        if let budgetMs { budget.callTime = .milliseconds(budgetMs); budget.loadTime = .milliseconds(budgetMs) }
        if let memoryMb { budget.memoryBytes = memoryMb << 20 }
        let argument = try input.map { try LuaValue(json: $0) } ?? .nil
        var results: [LuaValue] = []
        var failed = false
        for file in files {
            do {
                let plugin = try Plugin.load(file: URL(fileURLWithPath: file), options: pluginOptions(budget: budget))
                let out = try plugin.call(function, [argument])
                let value = out.first ?? .nil
                _ = try value.jsonText() // refuse values JSON cannot carry, before reporting success
                results.append(.table(LuaTable(fields: ["file": .text(file), "ok": true, "value": value])))
                if !json { print("ok    \(file): \(try value.jsonText())") }
            } catch let error as PluginError {
                failed = true
                results.append(failureRecord(file: file, error))
                if !json { print("FAIL  \(file): \(error)") }
            } catch let error as JSONError {
                failed = true
                let e = PluginError(plugin: file, phase: .call, kind: .validation, message: "result: \(error.message)", file: file)
                results.append(failureRecord(file: file, e))
                if !json { print("FAIL  \(file): \(e)") }
            }
        }
        if json { print(try LuaValue.table(LuaTable(fields: ["results": .table(LuaTable(array: results))])).jsonText()) }
        if failed { throw pluginFailureExitCode }
    }
}

/// Plugin options for the command line: output goes to the log on stderr.
func pluginOptions(budget: LuaBudget = .default) -> Plugin.Options {
    let logger = Logger(label: "plugin")
    let hostLogger = HostLogger(sink: { level, source, message in
        switch level {
        case .debug: logger.debug("\(source): \(message)")
        case .info: logger.info("\(source): \(message)")
        case .warning: logger.warning("\(source): \(message)")
        case .error: logger.error("\(source): \(message)")
        }
    })
    return Plugin.Options(budget: budget, logger: hostLogger)
}

func failureRecord(file: String, _ error: PluginError) -> LuaValue {
    var fields: [String: LuaValue] = [
        "kind": .text(error.kind.rawValue), "phase": .text(error.phase.rawValue),
        "message": .text(error.message), "plugin": .text(error.plugin),
    ]
    if let line = error.line { fields["line"] = .integer(Int64(line)) }
    if let f = error.file { fields["source"] = .text(f) }
    if let tb = error.traceback, !tb.isEmpty { fields["traceback"] = .text(tb) }
    return .table(LuaTable(fields: ["file": .text(file), "ok": false, "error": .table(LuaTable(fields: fields))]))
}

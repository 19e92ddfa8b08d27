import ArgumentParser
import Foundation
import LuaHost
import Logging
import Superalign

/// `superalign plugins …`: load, validate and exercise Lua plugins.
struct PluginsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins",
        abstract: "Check and run Lua plugins in the sandbox.",
        subcommands: [PluginsCheckCommand.self, PluginsExecCommand.self, PluginsTestCommand.self, PluginsStubsCommand.self]
    )
}

/// Exit status when any plugin failed (0: all succeeded; 64: usage error, from ArgumentParser).
let pluginFailureExitCode = ExitCode(2)

struct PluginsCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Load each plugin in the sandbox and validate its table as a campaign does.",
        discussion: "Checks the kind's functions, that 'params' is a table of named values and that 'name' matches the file's name."
    )

    @Argument(help: "Plugin files (.lua).")
    var files: [String]

    @OptionGroup var taskOptions: PluginTaskOptions

    @Flag(help: "Print one JSON document on stdout.")
    var json = false

    func run() throws {
        let task = try taskOptions.makeTask()
        var results: [LuaValue] = []
        var failed = false
        for file in files {
            do {
                let plugin = try Plugin.load(file: URL(fileURLWithPath: file), options: pluginOptions(task: task))
                try PluginHarness.check(plugin)
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
        abstract: "Load the files in order in one process and call plugin[NAME](plugin, input) on each.",
        discussion: "Results of the protocol's functions are validated as a campaign validates them (a critic's verdicts, an "
            + "oversight policy's decision or indices, an attacker's prompts), and reading item.answer, item.correct or an "
            + "absent item.reference is an error, as in a campaign."
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

    @OptionGroup var taskOptions: PluginTaskOptions

    @Option(help: "Seed for the plugins' random generators.")
    var seed: UInt64 = 0

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
        let task = try taskOptions.makeTask()
        var results: [LuaValue] = []
        var failed = false
        for file in files {
            do {
                let plugin = try Plugin.load(file: URL(fileURLWithPath: file), options: pluginOptions(task: task, seed: seed, budget: budget))
                try PluginHarness.guardBoundary(plugin)
                let out = try plugin.call(function, [argument])
                try PluginHarness.validate(out, of: function, plugin: plugin, input: argument)
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

/// `--task` and `--task-option` for commands that load plugins (the task behind `sa.task`).
struct PluginTaskOptions: ParsableArguments {
    @Option(help: "The task plugins see through sa.task.")
    var task = "addition"

    @Option(name: .customLong("task-option"), help: "A task option as key=value (repeatable), e.g. digits=3.")
    var taskOption: [String] = []

    func makeTask() throws -> any ProblemTask {
        var options: [String: String] = [:]
        for kv in taskOption {
            guard let eq = kv.firstIndex(of: "=") else { throw ValidationError("--task-option expects key=value, got '\(kv)'") }
            options[String(kv[..<eq])] = String(kv[kv.index(after: eq)...])
        }
        do { return try TaskCatalog.make(task, options: options) } catch { throw ValidationError("\(error)") }
    }
}

/// Plugin options for the command line: Superalign's kinds, the `sa` API bound to `task` (or to
/// `context`); output goes to the log on stderr.
func pluginOptions(task: any ProblemTask, seed: UInt64 = 0, budget: LuaBudget = .default,
                   context: PluginContext? = nil) -> Plugin.Options {
    let logger = Logger(label: "plugin")
    let hostLogger = HostLogger(sink: { level, source, message in
        switch level {
        case .debug: logger.debug("\(source): \(message)")
        case .info: logger.info("\(source): \(message)")
        case .warning: logger.warning("\(source): \(message)")
        case .error: logger.error("\(source): \(message)")
        }
    })
    return Plugin.Options(budget: budget, seed: seed, kinds: SuperalignPlugins.kinds, logger: hostLogger, prepare: { state in
        SuperalignAPI.make(context: context ?? PluginContext(task: task, seed: seed)).install(into: state)
    })
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

/// `superalign plugins test`: one plugin, called as a campaign calls it, on arguments built from
/// a task.
struct PluginsTestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Call a plugin's functions with realistic arguments from a task and validate what they return.",
        discussion: """
            An attacker: propose(ctx, 8), then observe with made-up results. A critic: score on 8 responses of the \
            task (right and wrong in turn), then score_batch. An oversight policy: decide on 8 items with made-up \
            verdicts and a human budget of 3, then decide_batch. sa.learner is a stand-in (the task's answer three \
            times in four), not a trained model. Exit status 2 when a call fails or returns something a campaign refuses.
            """
    )

    @Argument(help: "The plugin file (.lua).")
    var file: String

    @OptionGroup var taskOptions: PluginTaskOptions

    @Option(help: "Seed for the plugin's generator and the made-up data.")
    var seed: UInt64 = 0

    @Flag(help: "Pass the reference answer to a critic (as a campaign does for a critic declared with reference = true).")
    var reference = false

    @Flag(help: "Print one JSON document on stdout.")
    var json = false

    func run() throws {
        let task = try taskOptions.makeTask()
        let context = PluginContext(task: task, seed: seed, learner: PluginHarness.StandInLearner(task: task, seed: seed))
        let report: PluginHarness.Report
        do {
            let plugin = try Plugin.load(file: URL(fileURLWithPath: file), options: pluginOptions(task: task, seed: seed, context: context))
            report = PluginHarness.test(plugin, task: task, seed: seed, reference: reference)
        } catch let error as PluginError {
            if json {
                print(try LuaValue.table(LuaTable(fields: ["results": .table(LuaTable(array: [failureRecord(file: file, error)]))])).jsonText())
            } else {
                print("FAIL  \(file): \(error)")
            }
            throw pluginFailureExitCode
        }
        if json {
            var fields = resultRecordFields(file: file, report.failure)
            fields["kind"] = .text(report.kind)
            fields["name"] = .text(report.name)
            fields["task"] = .text(task.name)
            fields["seed"] = .integer(Int64(bitPattern: seed))
            fields["notes"] = .table(LuaTable(array: report.notes.map { .text($0) }))
            fields["calls"] = .table(LuaTable(array: report.calls.map { call in
                .table(LuaTable(fields: [
                    "function": .text(call.function), "arguments": .text(call.arguments), "result": .text(call.result),
                    "value": (try? call.value.jsonText()) == nil ? .text("(\(call.value.typeName) JSON cannot carry)") : call.value,
                ]))
            }))
            print(try LuaValue.table(LuaTable(fields: ["results": .table(LuaTable(array: [.table(LuaTable(fields: fields))]))])).jsonText())
        } else {
            let options = task.options.keys.sorted().map { "\($0)=\(task.options[$0]!)" }.joined(separator: ", ")
            print("\(report.kind) '\(report.name)' on task \(task.name)\(options.isEmpty ? "" : " (\(options))"), seed \(seed), "
                  + "stand-in learner" + (reference ? ", with the reference" : ""))
            let rows = [("function", "arguments", "result")] + report.calls.map { ($0.function, clip($0.arguments, 64), clip($0.result, 72)) }
            let w0 = rows.map(\.0.count).max() ?? 0, w1 = rows.map(\.1.count).max() ?? 0
            if !report.calls.isEmpty { for r in rows { print("  " + pad(r.0, w0) + "  " + pad(r.1, w1) + "  " + r.2) } }
            for note in report.notes { print("  note: \(note)") }
            if let error = report.failure { print("FAIL  \(file): \(error)") } else { print("ok    \(file)") }
        }
        if !report.ok { throw pluginFailureExitCode }
    }

    private func clip(_ s: String, _ n: Int) -> String { s.count > n ? String(s.prefix(n - 1)) + "…" : s }
    private func pad(_ s: String, _ n: Int) -> String { s + String(repeating: " ", count: max(0, n - s.count)) }
}

/// The fields of a result record: `ok`, and `error` when there is one.
func resultRecordFields(file: String, _ error: PluginError?) -> [String: LuaValue] {
    guard let error else { return ["file": .text(file), "ok": true] }
    return failureRecord(file: file, error).table?.fields ?? [:]
}

/// `superalign plugins stubs`: the LuaLS annotation stubs for the `sa` API and the plugin
/// protocol, generated from the Swift tables that define them.
struct PluginsStubsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stubs",
        abstract: "Write the LuaLS stubs of the host API and the plugin protocol (Plugins/meta/sa.lua, protocol.lua)."
    )

    @Option(help: "The folder to write the stubs into ('-' prints them on stdout).")
    var out = "Plugins/meta"

    @Flag(help: "Do not write: exit 1 when a file differs from the generated stubs.")
    var check = false

    func run() throws {
        let files = SuperalignStubs.files()
        if out == "-" {
            for f in files { print(f.text, terminator: "") }
            return
        }
        if check {
            var stale: [String] = []
            for f in files {
                let path = (out as NSString).appendingPathComponent(f.name)
                if ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "") != f.text { stale.append(path) }
            }
            if !stale.isEmpty {
                FileHandle.standardError.write(Data("\(stale.joined(separator: ", ")) out of date: run `superalign plugins stubs`\n".utf8))
                throw ExitCode(1)
            }
            return
        }
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        for f in files {
            let path = (out as NSString).appendingPathComponent(f.name)
            try Data(f.text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            print("wrote \(path)")
        }
    }
}

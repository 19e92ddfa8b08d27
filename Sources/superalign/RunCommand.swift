import ArgumentParser
import Foundation
import LuaHost
import Superalign

/// `superalign run CAMPAIGN.lua`: run a campaign, a weak-to-strong experiment, or a sweep of
/// them, into run directories.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a Lua campaign (attack, respond, critique, oversee, refine, measure) or a w2s{} experiment.",
        discussion: """
        The script returns campaign{...}, w2s{...} (the options of `superalign w2s`, in snake_case), or a list
        of them. A w2s experiment prints the same table as `superalign w2s`; its results go to run.sqlite.
        """
    )

    @Argument(help: "The campaign script (returns campaign{...}, w2s{...} or a list of them).")
    var campaign: String

    @Option(help: "The run directory (default: runs/<name>-seed<seed>, runs/<name> for w2s). A sweep puts each experiment in a subfolder.")
    var out: String?

    @Option(help: "Override the campaign's seed (a w2s experiment then runs this one seed).")
    var seed: UInt64?

    @Option(name: .customLong("plugin-path"), help: "A folder to search for plugins first (repeatable).")
    var pluginPath: [String] = []

    @Flag(help: "Print one JSON document on stdout.")
    var json = false

    func run() throws {
        let experiments: [ScriptExperiment]
        do { experiments = try CampaignScript.loadExperiments(file: URL(fileURLWithPath: campaign), seedOverride: seed) }
        catch { throw CLIError("\(error)") }
        var reports: [(CampaignReport, CampaignTimings)] = []
        var w2sReports: [W2SReport] = []
        for experiment in experiments {
            let base = out.map { URL(fileURLWithPath: $0) } ?? URL(fileURLWithPath: "runs")
            let dir = (out == nil || experiments.count > 1) ? base.appendingPathComponent(experiment.runName) : base
            switch experiment {
            case .campaign(let config):
                let runner = try CampaignRunner.start(config, in: dir, pluginFolders: pluginPath, progress: stderrLine)
                stderrLine("run directory: \(dir.path)")
                let report = try runCampaign(runner)
                reports.append((report, runner.timings))
            case .w2s(let w2s):
                stderrLine("run directory: \(dir.path)")
                w2sReports.append(try runW2S { try W2SRunDirectory.run(w2s.config, name: w2s.name, in: dir, log: stderrLine) })
            }
        }
        if json {
            // One document per experiment; a sweep prints them as one JSON array.
            let docs = try reports.map { r, t in try RunExport.reportJSON(r, timings: t) } + w2sReports.map { try $0.jsonText() }
            print(docs.count == 1 ? docs[0] : "[" + docs.joined(separator: ",") + "]")
            return
        }
        if !reports.isEmpty { try printReports(reports, json: false) }
        for report in w2sReports { printW2S(report) }
    }
}

/// Runs a weak-to-strong experiment, turning a failure into a message that says what is kept.
func runW2S(_ body: () throws -> W2SReport) throws -> W2SReport {
    do { return try body() } catch let e as RunStoreError {
        throw CLIError("\(e)")   // the directory holds something else: nothing ran, nothing to continue
    } catch {
        throw CLIError("weak-to-strong experiment stopped: \(error)\n(finished results are kept in run.sqlite; "
                       + "rerun the same command or `superalign resume DIR` to continue)")
    }
}

/// The weak-to-strong table, as `superalign w2s` prints it.
func printW2S(_ report: W2SReport) {
    print("\nweak-to-strong on \(report.data) (splits: supervisor \(report.splitSizes["supervisor"] ?? 0), "
          + "unlabeled \(report.splitSizes["unlabeled"] ?? 0), test \(report.splitSizes["test"] ?? 0))")
    print(report.table())
}

/// `superalign resume DIR`: continue a run from its last finished iteration.
struct ResumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "resume",
                                                    abstract: "Continue a killed run from its last finished iteration (or a w2s run from its stored results).")

    @Argument(help: "The run directory.")
    var directory: String

    @Option(name: .customLong("plugin-path"), help: "A folder to search for plugins first (repeatable).")
    var pluginPath: [String] = []

    @Flag(help: "Print one JSON document on stdout (the whole run).")
    var json = false

    func run() throws {
        let dir = URL(fileURLWithPath: directory)
        if try W2SRunDirectory.record(in: dir) != nil {
            let report = try runW2S { try W2SRunDirectory.resume(in: dir, log: stderrLine) }
            if json { print(try report.jsonText()) } else { printW2S(report) }
            return
        }
        let runner = try CampaignRunner.resume(in: dir, pluginFolders: pluginPath, progress: stderrLine)
        let report = try runCampaign(runner)
        try printReports([(report, runner.timings)], json: json)
    }
}

/// `superalign status DIR`: what a run directory holds.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show a run's finished iterations (or a w2s run's results).")

    @Argument(help: "The run directory.")
    var directory: String

    @Flag(help: "Print one JSON document on stdout.")
    var json = false

    func run() throws {
        let storeURL = URL(fileURLWithPath: directory).appendingPathComponent("run.sqlite")
        guard FileManager.default.fileExists(atPath: storeURL.path) else { throw CLIError("\(directory) holds no run (no run.sqlite)") }
        let store = try RunStore(url: storeURL)
        guard let (runID, seed, _) = try store.config() else { throw CLIError("\(directory): the run store is empty") }
        if try store.kind() == .w2s {
            let (report, stored, expected) = try W2SRunDirectory.report(from: store)
            if json { print(try report.jsonText()); return }
            print("weak-to-strong run \(runID): \(stored) of \(expected) results stored"
                  + (stored < expected ? " (continue with `superalign resume \(directory)`)" : ""))
            printW2S(report)
            return
        }
        let all = try store.metrics()
        let baseline = all.first { $0.iteration == 0 }
        let report = CampaignReport(run: runID, seed: seed, baselineCleanAccuracy: baseline?.cleanAccuracy ?? .nan,
                                    baselineOODAccuracy: baseline?.oodAccuracy ?? .nan, iterations: all.filter { $0.iteration > 0 })
        try printReports([(report, nil)], json: json)
    }
}

/// `superalign export DIR --format …`: the run's items in TRL-compatible files.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export",
                                                    abstract: "Export a run's items (jsonl, csv, sft, dpo), or a w2s run's results (jsonl, csv), to stdout.")

    enum Format: String, ExpressibleByArgument, CaseIterable { case jsonl, csv, sft, dpo }

    @Argument(help: "The run directory.")
    var directory: String

    @Option(help: "jsonl (every item), csv, sft (prompt/completion of accepted items), dpo (prompt/chosen/rejected).")
    var format: Format

    func run() throws {
        let storeURL = URL(fileURLWithPath: directory).appendingPathComponent("run.sqlite")
        guard FileManager.default.fileExists(atPath: storeURL.path) else { throw CLIError("\(directory) holds no run (no run.sqlite)") }
        let store = try RunStore(url: storeURL)
        let lines: [String]
        do {
            if try store.kind() == .w2s {
                lines = try RunExport.w2sLines(try W2SRunDirectory.report(from: store).report, format: format.rawValue)
            } else {
                lines = try RunExport.lines(try store.items(), format: format.rawValue)
            }
        } catch let e as CampaignError { throw CLIError("\(directory): \(e)") }
        for line in lines { print(line) }
    }
}

func runCampaign(_ runner: CampaignRunner) throws -> CampaignReport {
    do { return try runner.run() }
    catch let e as PluginError { throw CLIError("campaign stopped: \(e)\n(finished iterations are kept; fix the plugin and run `superalign resume \(runner.directory.path)`)") }
}

func printReports(_ reports: [(CampaignReport, CampaignTimings?)], json: Bool) throws {
    if json {
        let docs = try reports.map { r, t in try RunExport.reportJSON(r, timings: t) }
        print(docs.count == 1 ? docs[0] : "[" + docs.joined(separator: ",") + "]")
        return
    }
    if reports.count > 1 {
        print("\nfinal iteration, side by side")
        print("run                                   clean   OOD     attack  critic  human labels (total)")
        for (r, _) in reports {
            guard let last = r.iterations.last else { continue }
            let human = r.iterations.map(\.humanLabels).reduce(0, +)
            print(r.run.padding(toLength: 36, withPad: " ", startingAt: 0)
                  + "  \(fmt3(last.cleanAccuracy))  \(fmt3(last.oodAccuracy))  \(fmt3(last.attackSuccessRate))  \(fmt3(last.criticAccuracy))  \(human)")
        }
    }
    for (r, t) in reports {
        print("\nrun \(r.run) (seed \(r.seed)); pretrained learner: clean \(fmt3(r.baselineCleanAccuracy)), OOD \(fmt3(r.baselineOODAccuracy))")
        print("iter  clean   OOD     attack  critic  prec    recall  human  distinct  loss")
        for m in r.iterations {
            print(String(format: "%4d  %@  %@  %@  %@  %@  %@  %5d  %@     %@", m.iteration, fmt3(m.cleanAccuracy), fmt3(m.oodAccuracy),
                         fmt3(m.attackSuccessRate), fmt3(m.criticAccuracy), fmt3(m.criticPrecision), fmt3(m.criticRecall),
                         m.humanLabels, fmt3(m.distinctShare), fmt3(m.trainLoss)))
        }
        if let t {
            print(String(format: "wall time %.1fs (pretraining %.1fs); inside Lua %.2fs = %.2f%%; peak memory %.0f MiB",
                         t.totalSeconds, t.pretrainSeconds, t.luaSeconds, 100 * t.luaShare, t.peakMemoryMB))
        }
    }
}

func fmt3(_ x: Double) -> String { x.isFinite ? String(format: "%.3f", x) : "  -  " }

func stderrLine(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

/// An error the command line prints as is.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

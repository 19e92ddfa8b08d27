import ArgumentParser
import Foundation
import LuaHost
import Superalign
import Tensor

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

    @Option(help: "Override the campaign's seeds with this one seed (a w2s experiment then runs this one seed).")
    var seed: UInt64?

    @Option(help: "Run each campaign with seeds 1...N (arms share pretraining per seed); the summary gives intervals over seeds.")
    var seeds: Int?

    @Option(name: .customLong("plugin-path"), help: "A folder to search for plugins first (repeatable).")
    var pluginPath: [String] = []

    @Flag(help: "Print one JSON document on stdout.")
    var json = false

    @Option(name: .customLong("allow-read"), help: "A folder (besides the script's own) whose files the script may read (repeatable).")
    var allowRead: [String] = []

    @Flag(name: .shortAndLong, help: "Show the plugins' print and sa.log lines as they come (they are kept in plugins.log either way).")
    var verbose = false

    func run() throws {
        if let w = BuildInfo.warning() { stderrLine("warning: \(w)") }
        let experiments: [ScriptExperiment]
        if let seeds, !(1...1000).contains(seeds) { throw CLIError("--seeds must be in 1...1000") }
        if seeds != nil && seed != nil { throw CLIError("give --seed or --seeds, not both") }
        do {
            experiments = try CampaignScript.loadExperiments(file: URL(fileURLWithPath: campaign), seedOverride: seed,
                                                             seedsOverride: seeds.map { (1...UInt64($0)).map { $0 } },
                                                             allowRead: allowRead.map { URL(fileURLWithPath: $0) })
        } catch { throw CLIError("\(error)") }
        // A sweep checks every entry (task, plugins, checkpoint) before running the first.
        for experiment in experiments {
            if case .campaign(let config) = experiment {
                do { try CampaignRunner.validate(config, pluginFolders: pluginPath) }
                catch { throw CLIError("\(experiment.runName): \(error)") }
            }
        }
        let base = out.map { URL(fileURLWithPath: $0) } ?? URL(fileURLWithPath: "runs")
        let sweep = out == nil || experiments.count > 1
        if experiments.count > 1 {
            try SweepRecord.write(experiments.map(\.runName), to: base)
        }
        var reports: [(CampaignReport, CampaignTimings)] = []
        var w2sReports: [W2SReport] = []
        for experiment in experiments {
            let dir = sweep ? base.appendingPathComponent(experiment.runName) : base
            switch experiment {
            case .campaign(let config):
                let runner: CampaignRunner
                do {
                    runner = try CampaignRunner.start(config, in: dir, pluginFolders: pluginPath,
                                                      pretrainCache: experiments.count > 1 ? base.appendingPathComponent("pretrained") : nil,
                                                      progress: stderrLine)
                } catch { throw CLIError("\(error)") }
                runner.showProgress = true
                runner.verbose = verbose
                stderrLine("run directory: \(dir.path)")
                let report = try runCampaign(runner)
                reports.append((report, runner.timings))
            case .w2s(let w2s):
                stderrLine("run directory: \(dir.path)")
                w2sReports.append(try runW2S { try W2SRunDirectory.run(w2s.config, name: w2s.name, in: dir, log: stderrLine) })
            }
        }
        let summaries = CampaignSummaries(reports.map(\.0))
        if experiments.count > 1 { try summaries.write(to: base) }
        if json {
            // One document per experiment; a sweep prints them as one JSON array, and campaigns
            // with several seeds or arms add their summaries.
            let docs = try reports.map { r, t in try RunExport.reportJSON(r, timings: t) } + w2sReports.map { try $0.jsonText() }
            if summaries.multiple {
                print(try LuaValue.table(LuaTable(fields: [
                    "runs": .table(LuaTable(array: try docs.map { try LuaValue(json: $0) })),
                    "summaries": .table(LuaTable(array: summaries.all.map(\.value))),
                ])).jsonText())
            } else {
                print(docs.count == 1 ? docs[0] : "[" + docs.joined(separator: ",") + "]")
            }
            return
        }
        if !reports.isEmpty { try printReports(reports, json: false) }
        for report in w2sReports { printW2S(report) }
        if summaries.multiple { for s in summaries.all { print("\n" + s.table()) } }
    }
}

/// The summaries of the campaigns in a set of runs, one per campaign name in order.
struct CampaignSummaries {
    let all: [CampaignSummary]
    /// True when some campaign has more than one run (seeds or arms): then a summary says more than the runs.
    let multiple: Bool

    init(_ reports: [CampaignReport]) {
        var names: [String] = []
        for r in reports where !names.contains(r.name) { names.append(r.name) }
        all = names.map { n in CampaignSummary(reports.filter { $0.name == n }) }
        multiple = names.contains { n in reports.filter { $0.name == n }.count > 1 }
    }

    func write(to base: URL) throws {
        guard multiple else { return }
        for s in all {
            let url = base.appendingPathComponent(all.count == 1 ? "summary.json" : "summary-\(s.name).json")
            try Data((try s.value.jsonText() + "\n").utf8).write(to: url, options: .atomic)
        }
    }
}

/// sweep.json: the run directories of a sweep in script order, so `resume` and `status` on the
/// sweep's folder follow it.
enum SweepRecord {
    static func write(_ names: [String], to base: URL) throws {
        do { try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true) } catch {
            throw CLIError("cannot create \(base.path): \(error.localizedDescription)")
        }
        let url = base.appendingPathComponent("sweep.json")
        if let existing = read(in: base), existing != names {
            throw CLIError("\(base.path) holds another sweep (sweep.json lists other runs); use a new --out")
        }
        let value = LuaValue.table(LuaTable(fields: ["runs": .table(LuaTable(array: names.map { .text($0) }))]))
        do { try Data((try value.jsonText() + "\n").utf8).write(to: url, options: .atomic) } catch {
            throw CLIError("cannot write \(url.path): \(error.localizedDescription)")
        }
    }

    static func read(in base: URL) -> [String]? {
        guard let data = FileManager.default.contents(atPath: base.appendingPathComponent("sweep.json").path),
              let v = try? LuaValue(json: String(decoding: data, as: UTF8.self)),
              let runs = v["runs"].table?.array else { return nil }
        return runs.compactMap(\.text)
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
        if let names = SweepRecord.read(in: dir) {
            var reports: [(CampaignReport, CampaignTimings?)] = []
            for name in names {
                let sub = dir.appendingPathComponent(name)
                if try W2SRunDirectory.record(in: sub) != nil {
                    let report = try runW2S { try W2SRunDirectory.resume(in: sub, log: stderrLine) }
                    if !json { printW2S(report) }
                    continue
                }
                stderrLine("resuming \(sub.path)")
                let runner: CampaignRunner
                do { runner = try CampaignRunner.resume(in: sub, pluginFolders: pluginPath, progress: stderrLine) }
                catch { throw CLIError("\(error)") }
                reports.append((try runCampaign(runner), runner.timings))
            }
            let summaries = CampaignSummaries(reports.map(\.0))
            try summaries.write(to: dir)
            try printReports(reports, json: json)
            if !json, summaries.multiple { for s in summaries.all { print("\n" + s.table()) } }
            return
        }
        let runner: CampaignRunner
        do { runner = try CampaignRunner.resume(in: dir, pluginFolders: pluginPath, progress: stderrLine) }
        catch { throw CLIError("\(error)") }
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
        let dir = URL(fileURLWithPath: directory)
        if let names = SweepRecord.read(in: dir) {
            var reports: [(CampaignReport, CampaignTimings?)] = []
            for name in names {
                let sub = dir.appendingPathComponent(name)
                if let r = try campaignReport(in: sub) { reports.append((r, nil)) } else if !json { print("\(name): w2s run or not started") }
            }
            try printReports(reports, json: json)
            let summaries = CampaignSummaries(reports.map(\.0))
            if !json, summaries.multiple { for s in summaries.all { print("\n" + s.table()) } }
            return
        }
        let storeURL = dir.appendingPathComponent("run.sqlite")
        guard FileManager.default.fileExists(atPath: storeURL.path) else { throw CLIError("\(directory) holds no run (no run.sqlite)") }
        let store = try RunStore(url: storeURL)
        guard let (runID, _, _) = try store.config() else { throw CLIError("\(directory): the run store is empty") }
        if try store.kind() == .w2s {
            let (report, stored, expected) = try W2SRunDirectory.report(from: store)
            if json { print(try report.jsonText()); return }
            print("weak-to-strong run \(runID): \(stored) of \(expected) results stored"
                  + (stored < expected ? " (continue with `superalign resume \(directory)`)" : ""))
            printW2S(report)
            return
        }
        guard let report = try campaignReport(in: dir) else { throw CLIError("\(directory): not a campaign run") }
        try printReports([(report, nil)], json: json)
    }

    /// The report of the campaign run in `dir` (nil for a w2s run or a directory without a store).
    func campaignReport(in dir: URL) throws -> CampaignReport? {
        let storeURL = dir.appendingPathComponent("run.sqlite")
        guard FileManager.default.fileExists(atPath: storeURL.path) else { return nil }
        let store = try RunStore(url: storeURL)
        guard try store.kind() != .w2s, let (runID, seed, json) = try store.config() else { return nil }
        let record = try? JSONDecoder().decode(StoredCampaign.self, from: Data(json.utf8))
        let all = try store.metrics()
        return CampaignReport(run: runID, name: record?.campaign.name ?? runID, arm: record?.campaign.arm ?? "", seed: seed,
                              referenceBased: record?.referenceBased ?? false,
                              baseline: all.first { $0.iteration == 0 } ?? IterationMetrics(iteration: 0),
                              iterations: all.filter { $0.iteration > 0 })
    }

    struct StoredCampaign: Decodable {
        struct Campaign: Decodable { var name: String; var arm: String? }
        var campaign: Campaign
        var referenceBased: Bool?
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
    for (r, t) in reports {
        print("\nrun \(r.run) (seed \(r.seed)\(r.arm.isEmpty ? "" : ", arm \(r.arm)")); pretrained learner: clean "
              + "\(fmt3(r.baseline["clean_accuracy"])), OOD \(fmt3(r.baseline["ood_accuracy"]))")
        if r.referenceBased { print("critic numbers are REFERENCE-BASED: a critic read the answer; this is not a weak supervisor") }
        print("iter  clean   OOD     attack  critic  prec    recall  blind   human  trained  lbl-acc  loss")
        for m in r.iterations {
            print(String(format: "%4d  %@  %@  %@  %@  %@  %@  %@  %5@  %7@  %@    %@", m.iteration,
                         fmt3(m["clean_accuracy"]), fmt3(m["ood_accuracy"]), fmt3(m["attack_success_rate"]),
                         fmt3(m["critic_accuracy"]), fmt3(m["critic_precision"]), fmt3(m["critic_recall"]),
                         fmt3(m["critic_blind_spot"]), m["human_labels"].map { String(Int($0)) } ?? "–",
                         m["train_items"].map { String(Int($0)) } ?? "–", fmt3(m["train_label_accuracy"]), fmt3(m["train_loss"])))
        }
        if let t {
            print(String(format: "wall time %.1fs (pretraining %.1fs); inside Lua %.2fs = %.2f%%; peak memory %.0f MiB",
                         t.totalSeconds, t.pretrainSeconds, t.luaSeconds, 100 * t.luaShare, t.peakMemoryMB))
        }
    }
}

func fmt3(_ x: Double?) -> String { x.map { $0.isFinite ? String(format: "%.3f", $0) : "  –  " } ?? "  –  " }

func stderrLine(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

/// An error the command line prints as is.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

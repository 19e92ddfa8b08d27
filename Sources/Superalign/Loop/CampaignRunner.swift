import Foundation
import LuaHost
import Models
import Tensor

/// What a finished (or resumed) campaign reports.
public struct CampaignReport: Codable, Equatable, Sendable {
    public var run: String
    /// The campaign's name (shared by its seeds and arms) and this run's arm ("" with one arm).
    public var name: String
    public var arm: String
    public var seed: UInt64
    /// True when a critic read the reference answer: its numbers are not a weak supervisor's.
    public var referenceBased: Bool
    /// The pretrained learner, before any iteration.
    public var baseline: IterationMetrics
    public var iterations: [IterationMetrics]

    public init(run: String, name: String, arm: String, seed: UInt64, referenceBased: Bool, baseline: IterationMetrics,
                iterations: [IterationMetrics]) {
        self.run = run
        self.name = name
        self.arm = arm
        self.seed = seed
        self.referenceBased = referenceBased
        self.baseline = baseline
        self.iterations = iterations
    }

    /// The report of the run a store holds.
    public static func from(store: RunStore, config: CampaignConfig) throws -> CampaignReport {
        let all = try store.metrics()
        return CampaignReport(run: config.runName, name: config.name, arm: config.arm, seed: config.seed,
                              referenceBased: config.referenceBased,
                              baseline: all.first { $0.iteration == 0 } ?? IterationMetrics(iteration: 0),
                              iterations: all.filter { $0.iteration > 0 })
    }
}

/// Wall-clock figures, kept apart from the deterministic results.
public struct CampaignTimings: Sendable {
    public var totalSeconds: Double = 0
    public var luaSeconds: Double = 0
    public var pretrainSeconds: Double = 0
    public var luaShare: Double { totalSeconds > 0 ? luaSeconds / totalSeconds : 0 }
    /// The process's peak resident memory (VmHWM), in MiB, when the run ended.
    public var peakMemoryMB: Double = 0
}

/// The process's peak resident set size in MiB: Linux `VmHWM` (which `/proc/self/clear_refs`
/// can reset), else the lifetime peak from `getrusage`.
public func peakResidentMegabytes() -> Double {
    if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
       let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
       let kb = Double(line.split(separator: " ").dropFirst().first ?? "") {
        return kb / 1024
    }
    var usage = rusage()
    #if os(Linux)
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_maxrss) / 1024          // kilobytes on Linux
    #else
    getrusage(RUSAGE_SELF, &usage)
    return Double(usage.ru_maxrss) / (1024 * 1024) // bytes on Darwin
    #endif
}

/// Runs a campaign: pretrain the learner, then attack → respond → critique → oversee → refine
/// → measure (one file per phase in this folder), committing each iteration to the run store
/// after its checkpoint is written.
///
/// Every random draw comes from seeds derived from the campaign seed, the iteration and a
/// `SeedPurpose`, and plugin state is saved with each iteration, so a run resumed from its last
/// finished iteration ends identical to an uninterrupted one.
public final class CampaignRunner {
    public let config: CampaignConfig
    public let directory: URL
    public let store: RunStore
    public let task: any ProblemTask
    public let partitions: TaskPartitions
    public private(set) var learner: Learner
    let attacker: LuaAttacker
    let critics: [LuaCritic]
    let oversight: LuaOversight
    let refinement: SupervisedRefinement
    let contexts: [PluginContext]
    var oracle: HumanOracle
    let runID: String
    /// A folder where pretrained learners are kept by configuration and seed, shared by the
    /// arms of a comparison (nil: pretrain in place).
    let pretrainCache: URL?
    public private(set) var timings = CampaignTimings()
    /// Progress lines (the command line prints them on stderr).
    public var progress: (String) -> Void = { _ in }
    /// Shows a progress bar while pretraining (the command line turns it on).
    public var showProgress = false
    /// Plugin `print` and `sa.log` lines: kept in plugins.log with each iteration; `verbose`
    /// also shows them as progress lines.
    public var verbose: Bool {
        get { pluginLog.echo != nil }
        set { pluginLog.echo = newValue ? { [weak self] in self?.progress($0) } : nil }
    }
    let pluginLog = PluginLog()
    /// Sees every refinement's examples before training (tests check exactly what the learner
    /// is trained on).
    public var refinementObserver: ((Int, [PromptCompletion]) -> Void)?
    private var completed: Int

    var oracleRemaining: Int { oracle.remaining }
    var luaPlugins: [(key: String, plugin: Plugin)] {
        [("attacker", attacker.plugin)] + critics.enumerated().map { ($0 == 0 ? "critic" : "critic\($0 + 1)", $1.plugin) }
            + [("oversight", oversight.plugin)]
    }

    // MARK: Starting and resuming

    /// Starts a new run in `directory` (created if needed; refused if it holds another run).
    public static func start(_ config: CampaignConfig, in directory: URL, pluginFolders: [String] = [], pretrainCache: URL? = nil,
                             progress: @escaping (String) -> Void = { _ in }) throws -> CampaignRunner {
        try RunDirectory.create(directory)
        return try CampaignRunner(config: config, directory: directory, pluginFolders: pluginFolders, resume: false,
                                  pretrainCache: pretrainCache, progress: progress)
    }

    /// Reopens the run in `directory` at its last finished iteration.
    public static func resume(in directory: URL, pluginFolders: [String] = [],
                              progress: @escaping (String) -> Void = { _ in }) throws -> CampaignRunner {
        let record = try RunRecord.read(in: directory)
        return try CampaignRunner(config: record.campaign, directory: directory, pluginFolders: pluginFolders, resume: true,
                                  pretrainCache: nil, progress: progress)
    }

    /// config.json: the resolved campaign, its seed, the partition rule, plugin hashes and the version.
    struct RunRecord: Codable {
        var run: String
        var version: String
        var seed: UInt64
        var referenceBased: Bool
        var partitions: TaskPartitions
        var plugins: [String: String]
        var campaign: CampaignConfig

        static func read(in directory: URL) throws -> RunRecord {
            let url = directory.appendingPathComponent("config.json")
            guard FileManager.default.fileExists(atPath: directory.appendingPathComponent("run.sqlite").path),
                  let data = FileManager.default.contents(atPath: url.path) else {
                throw CampaignError.invalid("\(directory.path) is not a run directory (no config.json and run.sqlite)")
            }
            do { return try JSONDecoder().decode(RunRecord.self, from: data) } catch {
                throw CampaignError.invalid("\(url.path): cannot read the run's configuration (\(error)); "
                                            + "written by another version of superalign?")
            }
        }
    }

    private init(config: CampaignConfig, directory: URL, pluginFolders: [String], resume: Bool, pretrainCache: URL?,
                 progress: @escaping (String) -> Void) throws {
        self.config = config
        self.directory = directory
        self.progress = progress
        self.pretrainCache = pretrainCache
        var taskOptions = config.task
        let taskName = taskOptions.removeValue(forKey: "name") ?? "addition"
        let task = try TaskCatalog.make(taskName, options: taskOptions)
        self.task = task
        runID = config.runName
        partitions = TaskPartitions(seed: SeedPurpose.partitions.seed(config.seed), evalShare: config.evalShare)

        // Plugins: one context (task, seeded generator) each; the learner is attached below.
        let loaded = try Self.loadPlugins(config, task: task, pluginFolders: pluginFolders, log: pluginLog)
        attacker = loaded.attacker
        critics = loaded.critics
        oversight = loaded.oversight
        contexts = loaded.contexts
        let hashes = loaded.hashes
        refinement = SupervisedRefinement(name: config.refine.method, steps: config.refine.steps, batch: config.refine.batch,
                                          learningRate: config.refine.learningRate)

        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        let record = RunRecord(run: runID, version: SuperalignAPI.version, seed: config.seed, referenceBased: config.referenceBased,
                               partitions: partitions, plugins: hashes, campaign: config)
        let recordJSON = try encoder.encode(record)
        let storeURL = directory.appendingPathComponent("run.sqlite")
        if !resume {
            if FileManager.default.fileExists(atPath: storeURL.path) {
                throw CampaignError.invalid("\(directory.path) already holds a run: use `superalign resume \(directory.path)`")
            }
            try RunDirectory.write(recordJSON, to: directory.appendingPathComponent("config.json"))
        }
        store = try RunStore(url: storeURL)
        try store.begin(runID: runID, seed: config.seed, configJSON: String(decoding: recordJSON, as: UTF8.self))

        var spent = 0
        var savedStates: LuaValue?
        if resume, let last = try store.lastIteration() {
            learner = try Learner(checkpoint: directory.appendingPathComponent(last.checkpoint), task: task)
            completed = last.iteration
            spent = last.humanBudgetSpent
            savedStates = try LuaValue(json: last.pluginStates)
        } else if let initial = config.learner.initCheckpoint {
            learner = try Learner(checkpoint: URL(fileURLWithPath: initial), task: task)
            completed = -1
        } else {
            learner = try Learner(task: task, config: config.learner, seed: SeedPurpose.learnerInit.seed(config.seed))
            completed = -1
        }
        oracle = HumanOracle(total: config.human.budget, spent: spent, corrections: config.human.corrections,
                             errorRate: config.human.errorRate, seed: 0)
        if let savedStates { for (key, plugin) in luaPlugins { plugin.restore(savedStates[key]) } }
        for c in contexts { c.learner = learner }
    }

    struct LoadedPlugins {
        var attacker: LuaAttacker
        var critics: [LuaCritic]
        var oversight: LuaOversight
        var contexts: [PluginContext]
        var hashes: [String: String]
    }

    /// Loads and checks the campaign's plugins: kind, name against file name, params.
    static func loadPlugins(_ config: CampaignConfig, task: any ProblemTask, pluginFolders: [String],
                            log: PluginLog) throws -> LoadedPlugins {
        let catalog = PluginCatalog(extraFolders: pluginFolders)
        var contexts: [PluginContext] = []
        var hashes: [String: String] = [:]
        func load(_ ref: CampaignConfig.PluginRef, kind: String, key: String, purpose: SeedPurpose, index: Int) throws -> Plugin {
            let (bytes, origin) = try catalog.source(kind: kind, name: ref.plugin)
            hashes[key] = "\(origin) fnv1a64:\(String(fnv1a64(bytes), radix: 16))"
            let seed = mixSeed(purpose.seed(config.seed), 0, UInt64(index))
            let context = PluginContext(task: task, seed: seed)
            contexts.append(context)
            let plugin = try Plugin.load(source: bytes, file: origin, options: Plugin.Options(
                seed: seed, kinds: SuperalignPlugins.kinds, logger: HostLogger(sink: { level, source, message in log.add("[\(level.rawValue)] \(source): \(message)") }),
                prepare: { SuperalignAPI.make(context: context).install(into: $0) }))
            guard plugin.kind == kind else {
                throw CampaignError.invalid("\(origin) is a \(plugin.kind) plugin, but the campaign uses it as the \(key)")
            }
            let expected = origin.split(separator: "/").last.map { String($0.dropLast($0.hasSuffix(".lua") ? 4 : 0)) }
            if let expected, expected != plugin.name {
                throw CampaignError.invalid("\(origin): the plugin's name is '\(plugin.name)' but its file is \(expected).lua; "
                                            + "a plugin is found by its file name, so they must match")
            }
            try PluginParams.check(ref.params, against: plugin, key: key)
            plugin.setParams(ref.params)
            return plugin
        }
        let attacker = try LuaAttacker(try load(config.attacker, kind: "attacker", key: "attacker", purpose: .attackerPlugin, index: 0))
        let critics = try config.critics.enumerated().map { n, ref in
            try LuaCritic(try load(ref, kind: "critic", key: n == 0 ? "critic" : "critic\(n + 1)", purpose: .criticPlugin, index: n),
                          reference: ref.reference)
        }
        let oversight = try LuaOversight(try load(config.oversight, kind: "oversight", key: "oversight", purpose: .oversightPlugin,
                                                  index: 0))
        return LoadedPlugins(attacker: attacker, critics: critics, oversight: oversight, contexts: contexts, hashes: hashes)
    }

    /// Checks everything a run would check before it starts — the task and its options, every
    /// plugin (kind, name, params), the initial checkpoint — without touching the disk, so a
    /// sweep can refuse a bad entry before running the first.
    public static func validate(_ config: CampaignConfig, pluginFolders: [String] = []) throws {
        var taskOptions = config.task
        let taskName = taskOptions.removeValue(forKey: "name") ?? "addition"
        let task = try TaskCatalog.make(taskName, options: taskOptions)
        _ = try loadPlugins(config, task: task, pluginFolders: pluginFolders, log: PluginLog())
        if let initial = config.learner.initCheckpoint { _ = try Learner(checkpoint: URL(fileURLWithPath: initial), task: task) }
    }

    // MARK: Running

    /// Runs every iteration not yet finished and returns the whole run's report.
    /// `stopAfter`: finish at most that many iterations in total, then return (the run stays
    /// resumable, exactly as after a kill).
    @discardableResult
    public func run(stopAfter: Int? = nil) throws -> CampaignReport {
        let start = monotonicSeconds()
        defer {
            timings.totalSeconds += monotonicSeconds() - start
            timings.peakMemoryMB = peakResidentMegabytes()
        }
        if completed < 0 {
            let t0 = monotonicSeconds()
            try pretrain()
            timings.pretrainSeconds = monotonicSeconds() - t0
        }
        while completed < min(config.iterations, stopAfter ?? .max) {
            let i = completed + 1
            do { try runIteration(i) } catch let e as CampaignError {
                throw CampaignError.invalid("iteration \(i): \(e)")
            }
        }
        return try report()
    }

    /// The report from what the store holds.
    public func report() throws -> CampaignReport {
        try CampaignReport.from(store: store, config: config)
    }

    /// The problems the learner was pretrained on (from the `pretrain` partition only); refinement
    /// rehearses from them.
    func pretrainingSet() throws -> [Problem] {
        if let cached = pretrainingSetCache { return cached }
        var rng = RandomGenerator(seed: SeedPurpose.pretrainData.seed(config.seed))
        let count = max(256, min(20_000, config.learner.pretrainSteps * config.learner.pretrainBatch / 4))
        let set = try partitions.sample(count, from: .pretrain, task: task, &rng)
        pretrainingSetCache = set
        return set
    }
    private var pretrainingSetCache: [Problem]?

    /// The fixed eval and ood sets, drawn once from their partitions.
    func evaluationSets() throws -> (clean: [Problem], ood: [Problem]) {
        if let cached = evaluationSetsCache { return cached }
        var rng = RandomGenerator(seed: SeedPurpose.evaluationSets.seed(config.seed))
        let clean = try partitions.sample(config.evalClean, from: .eval, task: task, &rng, distinct: true)
        let ood = config.evalOOD > 0 ? try partitions.sample(config.evalOOD, from: .ood, task: task, &rng, distinct: true) : []
        evaluationSetsCache = (clean, ood)
        return (clean, ood)
    }
    private var evaluationSetsCache: (clean: [Problem], ood: [Problem])?

    private func pretrain() throws {
        let set = try pretrainingSet()
        var loss: Double?
        let cached = try pretrainCache.map { try PretrainCache(folder: $0, config: config) }
        if let initial = config.learner.initCheckpoint {
            progress("learner taken from \(initial) (no pretraining; items are placed by the task's partitions)")
        } else if let cached, let found = try cached.load(task: task) {
            learner = found.learner
            loss = found.loss
            for c in contexts { c.learner = learner }
            progress("pretrained learner for seed \(config.seed) taken from \(cached.checkpoint.path)")
        } else {
            progress("pretraining the learner: \(config.learner.pretrainSteps) steps on \(set.count) \(task.name) problems "
                     + "(pretrain partition)")
            let pairs = set.map { PromptCompletion(prompt: $0.prompt, completion: $0.answer) }
            let bar = showProgress && config.learner.pretrainSteps > 0
                ? ProgressBar(total: config.learner.pretrainSteps, label: "pretrain") : nil
            let l = try learner.train(pairs, steps: config.learner.pretrainSteps, batch: config.learner.pretrainBatch,
                                      learningRate: config.learner.learningRate, seed: SeedPurpose.pretrainOrder.seed(config.seed),
                                      progress: bar.map { b in { b.update($0, loss: $1) } })
            bar?.finish()
            loss = l.isFinite ? l : nil
            try cached?.save(learner, loss: loss)
        }
        let (clean, ood) = try evaluate()
        var metrics = IterationMetrics(iteration: 0)
        metrics["clean_accuracy"] = clean
        metrics["ood_accuracy"] = ood
        metrics["train_loss"] = loss
        try commit(iteration: 0, items: [], metrics: metrics)
        progress("pretrained: clean accuracy \(fmt(clean)), OOD accuracy \(fmt(ood))")
    }

    func timedLua<T>(_ body: () throws -> T) rethrows -> T {
        let t0 = monotonicSeconds()
        defer { timings.luaSeconds += monotonicSeconds() - t0 }
        return try body()
    }

    func runIteration(_ i: Int) throws {
        let t0 = monotonicSeconds()
        // Per-iteration seeds: nothing depends on how earlier iterations consumed randomness.
        for (k, (entry, context)) in zip(luaPlugins, contexts).enumerated() {
            let s = mixSeed(config.seed, UInt64(i), UInt64(k + 1))
            context.rng = RandomGenerator(seed: s)
            try entry.plugin.state.run(source: "math.randomseed(\(Int64(bitPattern: s >> 1)))", chunkName: "=(reseed)")
        }
        oracle = HumanOracle(total: oracle.total, spent: oracle.spent, corrections: oracle.corrections, errorRate: oracle.errorRate,
                             seed: SeedPurpose.humanOracle.seed(config.seed, iteration: i))
        let spentBefore = oracle.spent
        pluginLog.begin(iteration: i)
        for (entry, _) in zip(luaPlugins, contexts) { entry.plugin.state.logger.clear() }
        func phase(_ name: String, _ body: () throws -> Void) throws {
            progress("iteration \(i)/\(config.iterations): \(name)")
            do { try body() } catch var e as PluginError {
                e.message = "iteration \(i), \(name): " + e.message
                throw e
            } catch let e as CampaignError {
                throw CampaignError.invalid("\(name): \(e)")
            }
        }
        var attackResult = AttackResult(problems: [], invalid: 0)
        var items: [IterationItem] = []
        var refined: (loss: Double?, rehearsal: Int) = (nil, 0)
        try phase("attack") { attackResult = try attack(i) }
        try phase("respond (\(attackResult.problems.count) queries)") { items = try respond(i, attackResult) }
        try phase("critique") { try critique(&items) }
        try phase("oversee") { try oversee(i, &items) }
        try phase("refine (\(config.refine.method))") { refined = try refine(i, &items) }
        var metrics = IterationMetrics(iteration: i)
        try phase("measure") {
            metrics = try measure(i, items, invalid: attackResult.invalid, loss: refined.loss, rehearsal: refined.rehearsal,
                                  humanSpent: oracle.spent - spentBefore)
        }
        try phase("observe") { try timedLua { try attacker.observe(items) } }
        try commit(iteration: i, items: items, metrics: metrics)
        progress("iteration \(i)/\(config.iterations) done in \(String(format: "%.1f", monotonicSeconds() - t0))s: clean "
                 + "\(fmt(metrics["clean_accuracy"])), OOD \(fmt(metrics["ood_accuracy"])), attack success "
                 + "\(fmt(metrics["attack_success_rate"])), human labels \(oracle.spent - spentBefore)")
    }

    /// Writes the checkpoint atomically, then commits the iteration in one transaction.
    private func commit(iteration: Int, items: [IterationItem], metrics: IterationMetrics) throws {
        let relative = "checkpoints/iter-\(iteration)/model.safetensors"
        let url = directory.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try learner.save(to: url)
        var states: [String: LuaValue] = [:]
        for (key, plugin) in luaPlugins { states[key] = try plugin.snapshot() }
        let statesJSON = try LuaValue.table(LuaTable(fields: states)).jsonText()
        let (stored, samples) = try Self.storedRecords(iteration: iteration, items: items)
        try store.commit(iteration: iteration, checkpoint: relative, pluginStates: statesJSON, humanBudgetSpent: oracle.spent,
                         items: stored, samples: samples, metrics: metrics)
        completed = iteration
        try pluginLog.flush(to: directory.appendingPathComponent("plugins.log"))
        // metrics.jsonl mirrors the store (rewritten whole, so a kill between the commit and
        // this write leaves nothing missing after the next commit).
        let lines = try store.metrics().map { String(decoding: try JSONEncoder.sorted.encode($0), as: UTF8.self) }
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: directory.appendingPathComponent("metrics.jsonl"),
                                                                   options: .atomic)
    }

    static func verdictsJSON(_ verdicts: [CriticVerdict]) throws -> String {
        try LuaValue.table(LuaTable(array: verdicts.map(\.luaValue))).jsonText()
    }

    static func storedRecords(iteration: Int, items: [IterationItem]) throws -> ([StoredItem], [StoredSample]) {
        var stored: [StoredItem] = [], samples: [StoredSample] = []
        for it in items {
            let texts = try LuaValue.table(LuaTable(array: it.samples.map { .text($0.text) })).jsonText()
            stored.append(StoredItem(
                iteration: iteration, position: it.position, query: it.prompt, answer: it.reference, response: it.response,
                samples: it.samples.count > 1 ? texts : "[]", correct: it.correct, criticScore: it.verdict.score,
                criticLabel: it.verdict.label, criticConfidence: it.verdict.confidence, critique: it.verdict.critique,
                escalated: it.escalated, humanLabel: it.humanLabel, finalLabel: it.finalLabel, labelSource: it.labelSource,
                partition: it.partition.rawValue, criticVerdicts: try verdictsJSON(it.sampleVerdicts[it.chosen]),
                humanCorrection: it.humanCorrection, trainedCompletion: it.trainedCompletion, greedy: it.greedy.text,
                greedyCorrect: it.greedyCorrect))
            for (k, s) in it.samples.enumerated() {
                samples.append(StoredSample(iteration: iteration, position: it.position, k: k, text: s.text,
                                            logprob: s.logprob.isFinite ? s.logprob : nil, correct: it.sampleCorrect[k],
                                            verdicts: try verdictsJSON(it.sampleVerdicts[k]),
                                            aggregateScore: it.sampleAggregates[k].score, aggregateLabel: it.sampleAggregates[k].label,
                                            chosen: k == it.chosen))
            }
        }
        return (stored, samples)
    }
}

/// Plugin log lines of the iteration under way, appended to plugins.log once it is committed
/// (a killed iteration's lines are written again when it reruns, not twice).
final class PluginLog {
    private var lines: [String] = []
    private var iteration = 0
    var echo: ((String) -> Void)?

    func begin(iteration: Int) {
        self.iteration = iteration
        lines.removeAll()
    }

    func add(_ line: String) {
        let text = "iteration \(iteration) \(line)"
        lines.append(text)
        echo?(text)
    }

    func flush(to url: URL) throws {
        guard !lines.isEmpty else { return }
        let data = Data((lines.joined(separator: "\n") + "\n").utf8)
        lines.removeAll()
        if !FileManager.default.fileExists(atPath: url.path) {
            try RunDirectory.write(data, to: url)
            return
        }
        do {
            let handle = try FileHandle(forWritingTo: url)
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: data)
        } catch {
            throw CampaignError.invalid("cannot append to \(url.path): \(RunDirectory.reason(error))")
        }
    }
}

func fmt(_ x: Double?) -> String { x.map { String(format: "%.3f", $0) } ?? "–" }

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }
}

func fnv1a64(_ bytes: [UInt8]) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
    return h
}

func monotonicSeconds() -> Double {
    Double(DispatchTime.now().uptimeNanoseconds) / 1e9
}

import Foundation
import LuaHost
import Models
import Tensor

/// What a finished (or resumed) campaign reports.
public struct CampaignReport: Codable, Equatable, Sendable {
    public var run: String
    public var seed: UInt64
    /// Clean and out-of-distribution accuracy of the pretrained learner, before any iteration.
    public var baselineCleanAccuracy: Double
    public var baselineOODAccuracy: Double
    public var iterations: [IterationMetrics]

    public init(run: String, seed: UInt64, baselineCleanAccuracy: Double, baselineOODAccuracy: Double,
                iterations: [IterationMetrics]) {
        self.run = run
        self.seed = seed
        self.baselineCleanAccuracy = baselineCleanAccuracy
        self.baselineOODAccuracy = baselineOODAccuracy
        self.iterations = iterations
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
/// → measure, committing each iteration to the run store after its checkpoint is written.
///
/// Every random draw comes from seeds derived from the campaign seed and the iteration, and
/// plugin state is saved with each iteration, so a run resumed from its last finished
/// iteration ends identical to an uninterrupted one.
public final class CampaignRunner {
    public let config: CampaignConfig
    public let directory: URL
    public let store: RunStore
    public let task: any ProblemTask
    public private(set) var learner: Learner
    let plugins: CampaignPlugins
    let runID: String
    public private(set) var timings = CampaignTimings()
    /// Progress lines (the command line prints them on stderr).
    public var progress: (String) -> Void = { _ in }
    private var completed: Int
    private var humanSpent: Int

    // MARK: Starting and resuming

    /// Starts a new run in `directory` (created if needed; refused if it holds another run).
    public static func start(_ config: CampaignConfig, in directory: URL, pluginFolders: [String] = [],
                             progress: @escaping (String) -> Void = { _ in }) throws -> CampaignRunner {
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("checkpoints"), withIntermediateDirectories: true)
        let runner = try CampaignRunner(config: config, directory: directory, pluginFolders: pluginFolders, resume: false, progress: progress)
        return runner
    }

    /// Reopens the run in `directory` at its last finished iteration.
    public static func resume(in directory: URL, pluginFolders: [String] = [],
                              progress: @escaping (String) -> Void = { _ in }) throws -> CampaignRunner {
        let url = directory.appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw CampaignError.invalid("\(directory.path) is not a run directory (no config.json)")
        }
        let record = try JSONDecoder().decode(RunRecord.self, from: data)
        return try CampaignRunner(config: record.campaign, directory: directory, pluginFolders: pluginFolders, resume: true,
                                  progress: progress)
    }

    /// config.json: the resolved campaign, its seed, plugin hashes and the version.
    struct RunRecord: Codable {
        var run: String
        var version: String
        var seed: UInt64
        var plugins: [String: String]
        var campaign: CampaignConfig
    }

    private init(config: CampaignConfig, directory: URL, pluginFolders: [String], resume: Bool,
                 progress: @escaping (String) -> Void) throws {
        self.config = config
        self.directory = directory
        self.progress = progress
        var taskOptions = config.task
        let taskName = taskOptions.removeValue(forKey: "name") ?? "addition"
        let task = try TaskCatalog.make(taskName, options: taskOptions)
        self.task = task
        runID = "\(config.name)-seed\(config.seed)"

        // Plugins: one context (task, seeded generator) each; the learner is attached below.
        let catalog = PluginCatalog(extraFolders: pluginFolders)
        var contexts: [PluginContext] = []
        var hashes: [String: String] = [:]
        func load(_ ref: CampaignConfig.PluginRef, kind: String, index: UInt64) throws -> Plugin {
            let (bytes, origin) = try catalog.source(kind: kind, name: ref.plugin)
            hashes[kind] = "\(origin) fnv1a64:\(String(fnv1a64(bytes), radix: 16))"
            let context = PluginContext(task: task, seed: mixSeed(config.seed, 0, index))
            contexts.append(context)
            let plugin = try Plugin.load(source: bytes, file: origin, options: Plugin.Options(
                seed: mixSeed(config.seed, 0, index), prepare: { SuperalignAPI.make(context: context).install(into: $0) }))
            guard plugin.kind == kind else {
                throw CampaignError.invalid("\(origin) is a \(plugin.kind) plugin, but the campaign uses it as the \(kind)")
            }
            plugin.setParams(ref.params.mapValues(\.luaValue))
            return plugin
        }
        plugins = CampaignPlugins(attacker: try load(config.attacker, kind: "attacker", index: 1),
                                  critic: try load(config.critic, kind: "critic", index: 2),
                                  oversight: try load(config.oversight, kind: "oversight", index: 3), contexts: contexts)

        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        let record = RunRecord(run: runID, version: SuperalignAPI.version, seed: config.seed, plugins: hashes, campaign: config)
        let recordJSON = try encoder.encode(record)
        let storeURL = directory.appendingPathComponent("run.sqlite")
        if !resume {
            let configURL = directory.appendingPathComponent("config.json")
            if FileManager.default.fileExists(atPath: storeURL.path) {
                throw CampaignError.invalid("\(directory.path) already holds a run: use `superalign resume \(directory.path)`")
            }
            try recordJSON.write(to: configURL, options: .atomic)
        }
        store = try RunStore(url: storeURL)
        try store.begin(runID: runID, seed: config.seed, configJSON: String(decoding: recordJSON, as: UTF8.self))

        if resume, let last = try store.lastIteration() {
            learner = try Learner(checkpoint: directory.appendingPathComponent(last.checkpoint), task: task)
            completed = last.iteration
            humanSpent = last.humanBudgetSpent
            let states = try LuaValue(json: last.pluginStates)
            for (key, plugin) in zip(["attacker", "critic", "oversight"], plugins.all) { plugin.restore(states[key]) }
        } else {
            learner = try Learner(task: task, config: config.learner, seed: mixSeed(config.seed, 0, 7))
            completed = -1
            humanSpent = 0
        }
        for c in plugins.contexts { c.learner = learner }
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
            try runIteration(completed + 1)
        }
        return try report()
    }

    /// The report from what the store holds.
    public func report() throws -> CampaignReport {
        let all = try store.metrics()
        let baseline = all.first { $0.iteration == 0 }
        return CampaignReport(run: runID, seed: config.seed, baselineCleanAccuracy: baseline?.cleanAccuracy ?? .nan,
                              baselineOODAccuracy: baseline?.oodAccuracy ?? .nan, iterations: all.filter { $0.iteration > 0 })
    }

    private func pretrain() throws {
        var rng = RandomGenerator(seed: mixSeed(config.seed, 0, 11))
        let count = max(256, min(20_000, config.learner.pretrainSteps * config.learner.pretrainBatch / 4))
        let pairs = task.sample(count, &rng).map { PromptCompletion(prompt: $0.prompt, completion: $0.answer) }
        progress("pretraining the learner: \(config.learner.pretrainSteps) steps on \(pairs.count) \(task.name) problems")
        let loss = try learner.train(pairs, steps: config.learner.pretrainSteps, batch: config.learner.pretrainBatch,
                                     learningRate: config.learner.learningRate, seed: mixSeed(config.seed, 0, 12))
        let (clean, ood) = try evaluate()
        let metrics = IterationMetrics(iteration: 0, cleanAccuracy: clean, oodAccuracy: ood, attackSuccessRate: 0, criticAccuracy: 0,
                                       criticPrecision: 0, criticRecall: 0, humanLabels: 0, distinctShare: 0,
                                       trainLoss: loss.isFinite ? loss : 0, invalidQueries: 0)
        try commit(iteration: 0, items: [], metrics: metrics)
        progress(String(format: "pretrained: clean accuracy %.3f, OOD accuracy %.3f", clean, ood))
    }

    /// The fixed clean and OOD evaluation sets, drawn once from the campaign seed.
    private lazy var evaluationSets: (clean: [Problem], ood: [Problem]) = {
        var rng = RandomGenerator(seed: mixSeed(config.seed, 0, 13))
        let clean = task.sample(config.evalClean, &rng, from: .standard)
        return (clean, task.sample(config.evalOOD, &rng, from: .outOfDistribution))
    }()

    /// Accuracy of greedy answers on the fixed clean and OOD evaluation sets.
    func evaluate() throws -> (clean: Double, ood: Double) {
        let (clean, ood) = evaluationSets
        learner.generationSeed = mixSeed(config.seed, 0, 14)
        func accuracy(_ problems: [Problem]) throws -> Double {
            guard !problems.isEmpty else { return 0 }
            let answers = try learner.answer(problems.map(\.prompt))
            return Double(zip(problems, answers).filter { task.verify($0, response: $1).correct }.count) / Double(problems.count)
        }
        return (try accuracy(clean), try accuracy(ood))
    }

    private func timedLua<T>(_ body: () throws -> T) rethrows -> T {
        let t0 = monotonicSeconds()
        defer { timings.luaSeconds += monotonicSeconds() - t0 }
        return try body()
    }

    func runIteration(_ i: Int) throws {
        let t0 = monotonicSeconds()
        // Per-iteration seeds: nothing depends on how earlier iterations consumed randomness.
        for (k, (plugin, context)) in zip(plugins.all, plugins.contexts).enumerated() {
            let s = mixSeed(config.seed, UInt64(i), UInt64(k + 1))
            context.rng = RandomGenerator(seed: s)
            try plugin.state.run(source: "math.randomseed(\(Int64(bitPattern: s >> 1)))", chunkName: "=(reseed)")
        }
        learner.generationSeed = mixSeed(config.seed, UInt64(i), 20)
        let remaining = max(0, config.humanBudget - humanSpent)
        let ctx = LuaValue.table(LuaTable(fields: [
            "iteration": .integer(Int64(i)), "iterations": .integer(Int64(config.iterations)),
            "human_budget_remaining": .integer(Int64(remaining)),
        ]))

        progress("iteration \(i)/\(config.iterations): attack")
        let (queries, invalid) = try timedLua { try plugins.propose(context: ctx, count: config.queriesPerIteration, task: task) }
        guard !queries.isEmpty else {
            throw CampaignError.invalid("iteration \(i): the attacker proposed no usable query (\(invalid) invalid)")
        }

        progress("iteration \(i)/\(config.iterations): respond (\(queries.count) queries)")
        let prompts = queries.map(\.prompt)
        let greedy = try learner.answer(prompts)
        let problems = queries.map { Problem(prompt: $0.prompt, answer: $0.answer) }
        let greedyCorrect = zip(problems, greedy).map { task.verify($0, response: $1).correct }
        var candidates = greedy
        var samplesJSON = [String](repeating: "[]", count: queries.count)
        var sampleTexts: [[String]] = []
        if config.refine.method == "rft" {
            learner.generationSeed = mixSeed(config.seed, UInt64(i), 21)
            sampleTexts = try learner.generate(prompts: prompts, samples: config.refine.samples, temperature: config.refine.temperature,
                                               topK: 0, maxTokens: learner.maxAnswerTokens).map { $0.map(\.text) }
            samplesJSON = try sampleTexts.map { try LuaValue.table(LuaTable(array: $0.map { .text($0) })).jsonText() }
        }

        progress("iteration \(i)/\(config.iterations): critique")
        func item(_ q: AttackQuery, _ response: String) -> LuaValue {
            .table(LuaTable(fields: ["prompt": .text(q.prompt), "response": .text(response), "answer": .text(q.answer)]))
        }
        var verdicts: [CriticVerdict]
        if config.refine.method == "rft" {
            // The critic scores every sample; its best becomes the candidate.
            let flat = zip(queries, sampleTexts).flatMap { q, s in s.map { item(q, $0) } }
            let scored = try timedLua { try plugins.score(flat) }
            verdicts = []
            let k = config.refine.samples
            for (j, texts) in sampleTexts.enumerated() {
                let group = Array(scored[(j * k)..<(j * k + texts.count)])
                let best = group.indices.max { group[$0].score < group[$1].score || (group[$0].score == group[$1].score && $0 > $1) } ?? 0
                candidates[j] = texts.isEmpty ? greedy[j] : texts[best]
                verdicts.append(texts.isEmpty ? try timedLua { try plugins.score([item(queries[j], greedy[j])])[0] } : group[best])
            }
        } else {
            verdicts = try timedLua { try plugins.score(zip(queries, candidates).map { item($0, $1) }) }
        }

        progress("iteration \(i)/\(config.iterations): oversee")
        var items: [StoredItem] = []
        var spentNow = 0
        for (j, q) in queries.enumerated() {
            let correct = task.verify(problems[j], response: candidates[j]).correct
            let left = max(0, config.humanBudget - humanSpent - spentNow)
            let budget = LuaValue.table(LuaTable(fields: [
                "remaining": .integer(Int64(left)), "spent": .integer(Int64(humanSpent + spentNow)),
                "total": .integer(Int64(config.humanBudget)),
            ]))
            let ask = try timedLua { try plugins.decide(item: item(q, candidates[j]), verdict: verdicts[j], budget: budget) }
            let human: Bool? = ask && left > 0 ? correct : nil
            if human != nil { spentNow += 1 }
            items.append(StoredItem(iteration: i, position: j, query: q.prompt, answer: q.answer, response: candidates[j],
                                    samples: samplesJSON[j], correct: correct, criticScore: verdicts[j].score,
                                    criticLabel: verdicts[j].label, criticConfidence: verdicts[j].confidence,
                                    critique: verdicts[j].critique, escalated: ask, humanLabel: human,
                                    finalLabel: human ?? verdicts[j].label, labelSource: human == nil ? "critic" : "human"))
        }
        humanSpent += spentNow

        progress("iteration \(i)/\(config.iterations): refine (\(config.refine.method))")
        var pairs: [PromptCompletion] = []
        for it in items {
            if it.finalLabel { pairs.append(PromptCompletion(prompt: it.query, completion: it.response)) }
            else if it.humanLabel == false { pairs.append(PromptCompletion(prompt: it.query, completion: it.answer)) }
        }
        var rng = RandomGenerator(seed: mixSeed(config.seed, UInt64(i), 22))
        pairs += task.sample(config.refine.replay, &rng).map { PromptCompletion(prompt: $0.prompt, completion: $0.answer) }
        let loss = try learner.train(pairs, steps: config.refine.steps, batch: config.refine.batch,
                                     learningRate: config.refine.learningRate, seed: mixSeed(config.seed, UInt64(i), 23))

        progress("iteration \(i)/\(config.iterations): measure")
        let (clean, ood) = try evaluate()
        let truePositives = items.filter { $0.criticLabel && $0.correct }.count
        let predictedPositive = items.filter(\.criticLabel).count
        let actualPositive = items.filter(\.correct).count
        let metrics = IterationMetrics(
            iteration: i, cleanAccuracy: clean, oodAccuracy: ood,
            attackSuccessRate: Double(greedyCorrect.filter { !$0 }.count) / Double(queries.count),
            criticAccuracy: Double(items.filter { $0.criticLabel == $0.correct }.count) / Double(items.count),
            criticPrecision: predictedPositive > 0 ? Double(truePositives) / Double(predictedPositive) : 1,
            criticRecall: actualPositive > 0 ? Double(truePositives) / Double(actualPositive) : 1,
            humanLabels: spentNow, distinctShare: Double(Set(items.map(\.response)).count) / Double(items.count),
            trainLoss: loss.isFinite ? loss : 0, invalidQueries: invalid)

        let results = LuaValue.table(LuaTable(array: items.map { it in
            .table(LuaTable(fields: ["prompt": .text(it.query), "answer": .text(it.answer), "response": .text(it.response),
                                     "correct": .boolean(it.correct), "label": .boolean(it.finalLabel),
                                     "score": .number(it.criticScore), "human": .boolean(it.humanLabel != nil)]))
        }))
        try timedLua { try plugins.observe(results) }
        try commit(iteration: i, items: items, metrics: metrics)
        progress(String(format: "iteration %d/%d done in %.1fs: clean %.3f, OOD %.3f, attack success %.3f, human labels %d",
                        i, config.iterations, monotonicSeconds() - t0, clean, ood, metrics.attackSuccessRate, spentNow))
    }

    /// Writes the checkpoint atomically, then commits the iteration in one transaction.
    private func commit(iteration: Int, items: [StoredItem], metrics: IterationMetrics) throws {
        let relative = "checkpoints/iter-\(iteration)/model.safetensors"
        let url = directory.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try learner.save(to: url)
        var states: [String: LuaValue] = [:]
        for (key, plugin) in zip(["attacker", "critic", "oversight"], plugins.all) { states[key] = try plugin.snapshot() }
        let statesJSON = try LuaValue.table(LuaTable(fields: states)).jsonText()
        try store.commit(iteration: iteration, checkpoint: relative, pluginStates: statesJSON, humanBudgetSpent: humanSpent,
                         items: items, metrics: metrics)
        completed = iteration
        // metrics.jsonl mirrors the store (rewritten whole, so a kill between the commit and
        // this write leaves nothing missing after the next commit).
        let lines = try store.metrics().map { String(decoding: try JSONEncoder.sorted.encode($0), as: UTF8.self) }
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: directory.appendingPathComponent("metrics.jsonl"),
                                                                   options: .atomic)
    }
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }
}

/// Derives a seed from the campaign seed and two indices (SplitMix64 finalizer).
func mixSeed(_ seed: UInt64, _ a: UInt64, _ b: UInt64) -> UInt64 {
    var z = seed &+ 0x9E37_79B9_7F4A_7C15 &* (a &+ 1) &+ 0xD1B5_4A32_D192_ED03 &* (b &+ 1)
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

func fnv1a64(_ bytes: [UInt8]) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
    return h
}

func monotonicSeconds() -> Double {
    Double(DispatchTime.now().uptimeNanoseconds) / 1e9
}

import Foundation
import LuaHost

/// One experiment a campaign script declares.
public enum ScriptExperiment: Equatable, Sendable {
    /// `campaign{…}`: the refinement loop.
    case campaign(CampaignConfig)
    /// `w2s{…}`: a weak-to-strong generalization experiment.
    case w2s(W2SExperiment)

    /// The run directory's name within a sweep: `<name>-seed<seed>` for a campaign, `<name>`
    /// for a weak-to-strong experiment (which covers several seeds).
    public var runName: String {
        switch self {
        case .campaign(let c): return "\(c.name)-seed\(c.seed)"
        case .w2s(let e): return e.name
        }
    }
}

/// Loads campaign scripts: a Lua file that returns `campaign{…}` or `w2s{…}`, or a list of
/// them (a sweep; the two kinds may be mixed). The script runs in the plugin sandbox with three
/// more functions: `campaign` and `w2s`, which mark a table as a campaign or a weak-to-strong
/// experiment, and `read_text`, which reads a file under the script's folder (nothing else on
/// disk is reachable; no processes).
public enum CampaignScript {
    /// The campaigns of a script that declares only campaigns; a `w2s{…}` entry is an error
    /// (use `loadExperiments`).
    public static func load(file url: URL, seedOverride: UInt64? = nil) throws -> [CampaignConfig] {
        try loadExperiments(file: url, seedOverride: seedOverride).enumerated().map { i, e in
            guard case .campaign(let c) = e else {
                throw CampaignError.invalid("\(url.lastPathComponent): entry \(i + 1) is a w2s{...}, not a campaign{...}")
            }
            return c
        }
    }

    /// Every experiment the script returns, in order. `seedOverride` replaces a campaign's
    /// seed and a weak-to-strong experiment's seed list (it then runs that one seed).
    public static func loadExperiments(file url: URL, seedOverride: UInt64? = nil) throws -> [ScriptExperiment] {
        let folder = url.deletingLastPathComponent().standardizedFileURL
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw CampaignError.invalid("cannot read campaign \(url.path): \(error.localizedDescription)")
        }
        var budget = LuaBudget.default
        budget.loadTime = .seconds(10)
        let state = try LuaState(name: url.lastPathComponent, budget: budget)
        state.register("read_text", HostFunction("read_text") { call in
            let rel = try call.string(1)
            let target = folder.appendingPathComponent(rel).standardizedFileURL
            guard target.path.hasPrefix(folder.path + "/") else {
                throw HostCallError.forbidden("read_text: '\(rel)' is outside the campaign's folder")
            }
            guard let bytes = FileManager.default.contents(atPath: target.path) else {
                throw HostCallError.message("read_text: cannot read '\(rel)'")
            }
            guard bytes.count <= 16 << 20 else { throw HostCallError.message("read_text: '\(rel)' is over 16 MiB") }
            call.push(.string([UInt8](bytes)))
            return 1
        })
        try state.run(source: """
            function campaign(t)
              if type(t) ~= "table" then error("campaign{...} expects a table", 2) end
              t.__campaign = true
              return t
            end
            function w2s(t)
              if type(t) ~= "table" then error("w2s{...} expects a table", 2) end
              t.__w2s = true
              return t
            end
            """, chunkName: "=(campaign prelude)")
        let results: [LuaValue]
        do {
            results = try state.run(bytes: [UInt8](data), chunkName: "@" + url.path, phase: .load)
        } catch let e as PluginError {
            throw CampaignError.script(e)
        } catch let e as MarshalError {
            throw CampaignError.invalid("\(url.lastPathComponent): \(e)")
        }
        guard let top = results.first, let table = top.table else {
            throw CampaignError.invalid("\(url.lastPathComponent): the script must return campaign{...}, w2s{...} or a list of them")
        }
        let single = top["__campaign"] == true || top["__w2s"] == true
        let list: [LuaValue] = single ? [top] : table.array
        guard !list.isEmpty else { throw CampaignError.invalid("\(url.lastPathComponent): the script returned no campaign") }
        let experiments: [ScriptExperiment] = try list.enumerated().map { i, v in
            let isCampaign = v["__campaign"] == true
            guard isCampaign || v["__w2s"] == true else {
                throw CampaignError.invalid("\(url.lastPathComponent): entry \(i + 1) is not a campaign{...} or w2s{...}")
            }
            let kind = isCampaign ? "campaign" : "w2s"
            let label = list.count == 1 ? url.lastPathComponent : "\(url.lastPathComponent) \(kind) #\(i + 1)"
            if isCampaign {
                var config = try parse(v, where: label, folder: folder)
                if let seedOverride { config.seed = seedOverride }
                return .campaign(config)
            }
            var experiment = try parseW2S(v, where: label, folder: folder)
            if let seedOverride { experiment.config.seeds = [seedOverride] }
            return .w2s(experiment)
        }
        // Each experiment of a sweep gets its own run directory, named after it.
        var seen: [String: Int] = [:]
        for (i, e) in experiments.enumerated() {
            if let first = seen[e.runName] {
                throw CampaignError.invalid("\(url.lastPathComponent): entries \(first + 1) and \(i + 1) would share the run "
                                            + "directory '\(e.runName)'; give them distinct names")
            }
            seen[e.runName] = i
        }
        return experiments
    }

    /// Reads one campaign table; every field is checked and unknown fields are errors.
    static func parse(_ v: LuaValue, where label: String, folder: URL) throws -> CampaignConfig {
        var r = FieldReader(value: v, path: label)
        let name = try r.string("name", default: "campaign")
        let seed = try r.int("seed", default: 1, 0...Int(Int64.max))
        let iterations = try r.int("iterations", default: 4, 1...1000)
        let queries = try r.int("queries", default: 64, 1...100_000)
        let evalClean = try r.int("eval_clean", default: 200, 1...100_000)
        let evalOOD = try r.int("eval_ood", default: 200, 0...100_000)

        var task = try r.table("task")
        var taskOptions: [String: String] = [:]
        let taskName = try task.string("name", default: "addition")
        for (k, value) in task.remaining() {
            switch value {
            case .string: taskOptions[k] = value.text!
            case .integer(let i): taskOptions[k] = String(i)
            case .boolean(let b): taskOptions[k] = String(b)
            default: throw CampaignError.invalid("\(task.path).\(k): expected a string, integer or boolean")
            }
        }
        if taskName == "jsonl", let file = taskOptions["file"] {
            let target = folder.appendingPathComponent(file).standardizedFileURL
            guard target.path.hasPrefix(folder.path + "/") else {
                throw CampaignError.invalid("\(task.path).file: '\(file)' is outside the campaign's folder")
            }
            taskOptions["file"] = target.path
        }
        taskOptions["name"] = taskName

        var l = try r.table("learner")
        let learner = CampaignConfig.Learner(
            layers: try l.int("layers", default: 2, 1...24), width: try l.int("width", default: 64, 8...1024),
            heads: try l.int("heads", default: 4, 1...64), pretrainSteps: try l.int("pretrain_steps", default: 400, 0...1_000_000),
            pretrainBatch: try l.int("pretrain_batch", default: 64, 1...4096),
            learningRate: try l.double("lr", default: 3e-3, 1e-7...1))
        try l.finish()
        guard learner.width % learner.heads == 0 else {
            throw CampaignError.invalid("\(l.path): width (\(learner.width)) must be a multiple of heads (\(learner.heads))")
        }

        func pluginRef(_ key: String, default plugin: String) throws -> (CampaignConfig.PluginRef, FieldReader) {
            var p = try r.table(key)
            let name = try p.string("plugin", default: plugin)
            var params: [String: JSONValue] = [:]
            if case .table(let t) = p.take("params") {
                for (k, x) in t.fields { params[k] = try JSONValue(x) }
            }
            return (CampaignConfig.PluginRef(plugin: name, params: params), p)
        }
        let (attacker, a) = try pluginRef("attacker", default: "random")
        try a.finish()
        let (critic, c) = try pluginRef("critic", default: "exact_verifier")
        try c.finish()
        var (oversight, o) = try pluginRef("oversight", default: "never")
        let budget = try o.int("budget", default: 0, 0...10_000_000)
        try o.finish()

        var f = try r.table("refine")
        let method = try f.string("method", default: "sft")
        guard ["sft", "rft"].contains(method) else {
            throw CampaignError.invalid("\(f.path).method: '\(method)' is not a refinement method (sft, rft)")
        }
        let refine = CampaignConfig.Refine(
            method: method, steps: try f.int("steps", default: 60, 0...1_000_000), batch: try f.int("batch", default: 32, 1...4096),
            learningRate: try f.double("lr", default: 1e-3, 1e-7...1),
            samples: try f.int("samples", default: method == "rft" ? 4 : 1, 1...64),
            temperature: try f.double("temperature", default: method == "rft" ? 1.0 : 0, 0...10),
            replay: try f.int("replay", default: 32, 0...100_000))
        try f.finish()
        try r.finish()
        return CampaignConfig(name: name, seed: UInt64(seed), iterations: iterations, queriesPerIteration: queries,
                              task: taskOptions, learner: learner, attacker: attacker, critic: critic, oversight: oversight,
                              humanBudget: budget, refine: refine, evalClean: evalClean, evalOOD: evalOOD)
    }
}

/// Reads fields of a config table by name, with defaults and ranges; `finish()` rejects
/// fields nobody read (a typo is an error, not a silent default).
struct FieldReader {
    var fields: [String: LuaValue]
    let path: String

    init(value: LuaValue, path: String) {
        var f = value.table?.fields ?? [:]
        f["__campaign"] = nil
        f["__w2s"] = nil
        fields = f
        self.path = path
    }

    mutating func take(_ key: String) -> LuaValue { fields.removeValue(forKey: key) ?? .nil }

    mutating func string(_ key: String, default d: String) throws -> String {
        let v = take(key)
        if v.isNil { return d }
        guard case .string = v, let s = v.text else { throw CampaignError.invalid("\(path).\(key): expected a string, got \(v.typeName)") }
        return s
    }

    mutating func int(_ key: String, default d: Int, _ range: ClosedRange<Int>) throws -> Int {
        let v = take(key)
        if v.isNil { return d }
        guard let i = v.int else { throw CampaignError.invalid("\(path).\(key): expected an integer, got \(v.typeName)") }
        guard range.contains(i) else { throw CampaignError.invalid("\(path).\(key): \(i) is outside \(range.lowerBound)...\(range.upperBound)") }
        return i
    }

    mutating func double(_ key: String, default d: Double, _ range: ClosedRange<Double>) throws -> Double {
        let v = take(key)
        if v.isNil { return d }
        guard let x = v.double, x.isFinite else { throw CampaignError.invalid("\(path).\(key): expected a number, got \(v.typeName)") }
        guard range.contains(x) else { throw CampaignError.invalid("\(path).\(key): \(x) is outside \(range.lowerBound)...\(range.upperBound)") }
        return x
    }

    mutating func table(_ key: String) throws -> FieldReader {
        let v = take(key)
        if v.isNil { return FieldReader(value: .table(LuaTable()), path: "\(path).\(key)") }
        guard v.table != nil else { throw CampaignError.invalid("\(path).\(key): expected a table, got \(v.typeName)") }
        return FieldReader(value: v, path: "\(path).\(key)")
    }

    func remaining() -> [(String, LuaValue)] { fields.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }

    func finish() throws {
        if let k = fields.keys.sorted().first { throw CampaignError.invalid("\(path).\(k): unknown field") }
    }
}

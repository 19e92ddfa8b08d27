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
        case .campaign(let c): return c.runName
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
    /// seeds and a weak-to-strong experiment's seed list (it then runs that one seed);
    /// `seedsOverride` (`--seeds N`) replaces a campaign's seeds with the given list.
    /// `allowRead`: folders besides the script's own whose files the script may name
    /// (`--allow-read DIR`).
    public static func loadExperiments(file url: URL, seedOverride: UInt64? = nil, seedsOverride: [UInt64]? = nil,
                                       allowRead: [URL] = []) throws -> [ScriptExperiment] {
        let folder = CampaignFiles(folder: url.deletingLastPathComponent(), allowed: allowRead)
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw CampaignError.invalid("cannot read campaign \(url.path): \(error.localizedDescription)")
        }
        var budget = LuaBudget.default
        budget.loadTime = .seconds(10)
        let state = try LuaState(name: url.lastPathComponent, budget: budget)
        state.register("read_text", HostFunction("read_text") { call in
            let rel = try call.string(1)
            let target: String
            do { target = try folder.resolve(rel, field: "read_text") } catch {
                throw HostCallError.forbidden("read_text: '\(rel)' is outside the campaign's folder and the --allow-read "
                                              + "folders (symbolic links are followed)")
            }
            guard let bytes = FileManager.default.contents(atPath: target) else {
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
        let experiments: [ScriptExperiment] = try list.enumerated().flatMap { i, v -> [ScriptExperiment] in
            let isCampaign = v["__campaign"] == true
            guard isCampaign || v["__w2s"] == true else {
                throw CampaignError.invalid("\(url.lastPathComponent): entry \(i + 1) is not a campaign{...} or w2s{...}")
            }
            let kind = isCampaign ? "campaign" : "w2s"
            let label = list.count == 1 ? url.lastPathComponent : "\(url.lastPathComponent) \(kind) #\(i + 1)"
            if isCampaign {
                return try expand(v, where: label, folder: folder,
                                  seeds: seedOverride.map { [$0] } ?? seedsOverride).map { .campaign($0) }
            }
            var experiment = try parseW2S(v, where: label, folder: folder)
            if let seedOverride { experiment.config.seeds = [seedOverride] }
            return [.w2s(experiment)]
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

    /// The runs one `campaign{…}` declares: one per seed (`seed = S` or `seeds = {…}`) and arm
    /// (`arms = { {name = …, oversight = …}, … }`, each arm overriding whole sections of the
    /// campaign). Arms of one seed share the pretrained learner and the query stream.
    static func expand(_ v: LuaValue, where label: String, folder: CampaignFiles, seeds override: [UInt64]?) throws -> [CampaignConfig] {
        guard let table = v.table else { throw CampaignError.invalid("\(label): expected a table") }
        var base = table.fields
        base["__campaign"] = nil
        let seedsValue = base.removeValue(forKey: "seeds")
        let armsValue = base.removeValue(forKey: "arms")
        var seeds: [UInt64] = []
        if let seedsValue {
            guard base["seed"] == nil else { throw CampaignError.invalid("\(label): give either seed or seeds, not both") }
            guard let list = seedsValue.table, list.hash.isEmpty, !list.array.isEmpty, list.array.count <= 1000 else {
                throw CampaignError.invalid("\(label).seeds: expected a list of 1 to 1000 seeds")
            }
            for (i, s) in list.array.enumerated() {
                guard let n = s.int, n >= 0 else { throw CampaignError.invalid("\(label).seeds[\(i + 1)]: expected a non-negative integer") }
                guard !seeds.contains(UInt64(n)) else { throw CampaignError.invalid("\(label).seeds: \(n) appears twice") }
                seeds.append(UInt64(n))
            }
        }
        if let override { seeds = override; base["seed"] = nil }

        var arms: [(name: String, fields: [String: LuaValue])] = [("", [:])]
        if let armsValue {
            guard let list = armsValue.table, list.hash.isEmpty, !list.array.isEmpty else {
                throw CampaignError.invalid("\(label).arms: expected a list of arm tables")
            }
            let overridable: Set<String> = ["attacker", "critic", "critics", "aggregate", "oversight", "refine"]
            arms = try list.array.enumerated().map { i, a in
                guard var f = a.table?.fields else { throw CampaignError.invalid("\(label).arms[\(i + 1)]: expected a table") }
                guard case .string = f["name"] ?? .nil, let name = f.removeValue(forKey: "name")?.text, !name.isEmpty else {
                    throw CampaignError.invalid("\(label).arms[\(i + 1)].name: every arm needs a name")
                }
                try checkRunName(name, field: "\(label).arms[\(i + 1)].name")
                if let bad = f.keys.sorted().first(where: { !overridable.contains($0) }) {
                    throw CampaignError.invalid("\(label).arms[\(i + 1)].\(bad): an arm may set \(overridable.sorted().joined(separator: ", "))")
                }
                return (name, f)
            }
            var seen = Set<String>()
            for a in arms where !seen.insert(a.name).inserted {
                throw CampaignError.invalid("\(label).arms: two arms are named '\(a.name)'")
            }
        }
        var out: [CampaignConfig] = []
        for seed in seeds.isEmpty ? [nil] : seeds.map(Optional.some) {
            for arm in arms {
                var fields = base
                // An arm's critic replaces the campaign's critics, and the other way round.
                if arm.fields["critic"] != nil || arm.fields["critics"] != nil { fields["critic"] = nil; fields["critics"] = nil }
                for (k, x) in arm.fields { fields[k] = x }
                if let seed { fields["seed"] = .integer(Int64(bitPattern: seed)) }
                var config = try parse(.table(LuaTable(fields: fields)), where: arm.name.isEmpty ? label : "\(label) arm \(arm.name)",
                                       folder: folder)
                config.arm = arm.name
                out.append(config)
            }
        }
        return out
    }

    /// A run or arm name becomes a folder name: no path separators, no dot-only names.
    static func checkRunName(_ name: String, field: String) throws {
        guard !name.isEmpty, !name.contains("/"), !name.contains("\\"), name != ".", name != "..", !name.hasPrefix("."),
              name.count <= 100, !name.contains("\0") else {
            throw CampaignError.invalid("\(field): '\(name)' cannot name a run directory (no path separators, not empty, "
                                        + "no leading dot, at most 100 characters)")
        }
    }

    /// Reads one campaign table; every field is checked and unknown fields are errors.
    static func parse(_ v: LuaValue, where label: String, folder: CampaignFiles) throws -> CampaignConfig {
        var r = FieldReader(value: v, path: label)
        let name = try r.string("name", default: "campaign")
        try checkRunName(name, field: "\(label).name")
        let seed = try r.int("seed", default: 1, 0...Int(Int64.max))
        let iterations = try r.int("iterations", default: 4, 1...1000)
        let queries = try r.int("queries", default: 64, 1...100_000)
        let evalClean = try r.int("eval_clean", default: 200, 1...100_000)
        let evalOOD = try r.int("eval_ood", default: 200, 0...100_000)
        let evalShare = try r.double("eval_share", default: 0.1, 0.01...0.5)

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
            taskOptions["file"] = try folder.resolve(file, field: "\(task.path).file")
        }
        taskOptions["name"] = taskName

        var l = try r.table("learner")
        let learner = CampaignConfig.Learner(
            layers: try l.int("layers", default: 2, 1...24), width: try l.int("width", default: 64, 8...1024),
            heads: try l.int("heads", default: 4, 1...64), pretrainSteps: try l.int("pretrain_steps", default: 400, 0...1_000_000),
            pretrainBatch: try l.int("pretrain_batch", default: 64, 1...4096),
            learningRate: try l.double("lr", default: 3e-3, 1e-7...1))
        var learnerConfig = learner
        let initPath = try l.string("init", default: "")
        if !initPath.isEmpty {
            learnerConfig.initCheckpoint = try folder.resolve(initPath, field: "\(l.path).init")
            learnerConfig.pretrainSteps = 0
        }
        try l.finish()
        guard learner.width % learner.heads == 0 else {
            throw CampaignError.invalid("\(l.path): width (\(learner.width)) must be a multiple of heads (\(learner.heads))")
        }

        func pluginRef(_ p: inout FieldReader, default plugin: String) throws -> CampaignConfig.PluginRef {
            let name = try p.string("plugin", default: plugin)
            var params: [String: LuaValue] = [:]
            let raw = p.take("params")
            if !raw.isNil {
                guard let t = raw.table, t.array.isEmpty else { throw CampaignError.invalid("\(p.path).params: expected a table of named parameters") }
                for (k, x) in t.fields {
                    // Params go to config.json: they must have a JSON form (no NaN, string keys).
                    do { _ = try x.jsonText() } catch {
                        throw CampaignError.invalid("\(p.path).params.\(k): \(error)")
                    }
                    if case .table(let inner) = x, !inner.hash.isEmpty, inner.fields.count != inner.hash.count + inner.array.count {
                        throw CampaignError.invalid("\(p.path).params.\(k): parameter tables need string keys")
                    }
                    params[k] = x
                }
            }
            return CampaignConfig.PluginRef(plugin: name, params: params)
        }
        var a = try r.table("attacker")
        let attacker = try pluginRef(&a, default: "random")
        try a.finish()

        // `critic = {…}` or `critics = { {…}, {…} }`; the default critic is reference-free.
        var critics: [CampaignConfig.PluginRef] = []
        let criticsValue = r.take("critics")
        if !criticsValue.isNil {
            guard r.fields["critic"] == nil else { throw CampaignError.invalid("\(label): give either critic or critics, not both") }
            guard let list = criticsValue.table, list.hash.isEmpty, !list.array.isEmpty, list.array.count <= 16 else {
                throw CampaignError.invalid("\(label).critics: expected a list of 1 to 16 critic tables")
            }
            for (i, c) in list.array.enumerated() {
                var f = FieldReader(value: c, path: "\(label).critics[\(i + 1)]")
                guard c.table != nil else { throw CampaignError.invalid("\(f.path): expected a table") }
                var ref = try pluginRef(&f, default: "casting_out_nines")
                ref.reference = try f.bool("reference", default: false)
                try f.finish()
                critics.append(ref)
            }
        } else {
            var c = try r.table("critic")
            var ref = try pluginRef(&c, default: "casting_out_nines")
            ref.reference = try c.bool("reference", default: false)
            try c.finish()
            critics = [ref]
        }
        let aggregate = try r.string("aggregate", default: "first")
        guard ["first", "mean", "majority", "all"].contains(aggregate) else {
            throw CampaignError.invalid("\(label).aggregate: '\(aggregate)' is not an aggregation rule (first, mean, majority, all)")
        }

        var o = try r.table("oversight")
        let oversight = try pluginRef(&o, default: "never")
        let human = CampaignConfig.Human(budget: try o.int("budget", default: 0, 0...10_000_000),
                                         corrections: try o.bool("corrections", default: false),
                                         errorRate: try o.double("human_error_rate", default: 0, 0...0.5))
        try o.finish()

        var f = try r.table("refine")
        let method = try f.string("method", default: "sft")
        guard ["sft", "rft"].contains(method) else {
            throw CampaignError.invalid("\(f.path).method: '\(method)' is not a refinement method (sft, rft)")
        }
        if !f.take("replay").isNil {
            throw CampaignError.invalid("\(f.path).replay: removed: fresh problems with true answers are ground truth the "
                                        + "budget did not pay for; use rehearsal (problems from the learner's pretraining set)")
        }
        let refine = CampaignConfig.Refine(
            method: method, steps: try f.int("steps", default: 60, 0...1_000_000), batch: try f.int("batch", default: 32, 1...4096),
            learningRate: try f.double("lr", default: 1e-3, 1e-7...1),
            samples: try f.int("samples", default: method == "rft" ? 4 : 1, 1...64),
            temperature: try f.double("temperature", default: method == "rft" ? 1.0 : 0, 0...10),
            rehearsal: try f.int("rehearsal", default: 32, 0...100_000))
        try f.finish()
        try r.finish()
        if learnerConfig.initCheckpoint != nil && refine.rehearsal > 0 {
            throw CampaignError.invalid("\(f.path).rehearsal: a learner started from a checkpoint (learner.init) has no "
                                        + "pretraining set to rehearse from; set rehearsal = 0")
        }
        return CampaignConfig(name: name, arm: "", seed: UInt64(seed), iterations: iterations, queriesPerIteration: queries,
                              task: taskOptions, evalShare: evalShare, learner: learnerConfig, attacker: attacker, critics: critics,
                              aggregate: aggregate, oversight: oversight, human: human, refine: refine,
                              evalClean: evalClean, evalOOD: evalOOD)
    }
}

/// Files a campaign may read: under its own folder or an `--allow-read` folder, by real path
/// (symbolic links resolved), so a link inside the folder cannot reach the rest of the disk.
struct CampaignFiles {
    /// The script's folder, as a real path.
    let folder: URL
    /// Real paths of the folders the script may read besides its own.
    let allowed: [String]

    init(folder: URL, allowed: [URL] = []) {
        self.folder = URL(fileURLWithPath: Self.realPath(folder))
        self.allowed = allowed.map(Self.realPath)
    }

    static func realPath(_ url: URL) -> String {
        url.standardizedFileURL.resolvingSymlinksInPath().path
    }

    /// The real path of `path` (relative to the script's folder, or absolute); an error naming
    /// `field` when it lies outside every readable folder.
    func resolve(_ path: String, field: String) throws -> String {
        let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : folder.appendingPathComponent(path)
        let target = Self.realPath(url)
        guard ([folder.path] + allowed).contains(where: { target.hasPrefix($0 == "/" ? "/" : $0 + "/") }) else {
            throw CampaignError.invalid("\(field): '\(path)' is outside the campaign's folder; pass --allow-read DIR to read "
                                        + "data elsewhere")
        }
        return target
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

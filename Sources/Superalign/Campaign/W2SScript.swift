import Foundation
import LuaHost

/// A weak-to-strong experiment declared by `w2s{…}` in a campaign script.
///
/// The fields are the options of `superalign w2s`, in snake_case; every one is checked and an
/// unknown field is an error that names it:
///
/// ```lua
/// return w2s{
///   name = "w2s-carry",                 -- the run directory's name in a sweep (default "w2s")
///   task = "carry",                     -- carry, parity, div3 … or
///   -- data = "data.csv", label = "y",  -- a .csv/.jsonl file under the script's folder
///   examples = 4000, digits = 3,        -- built-in tasks only
///   weak = "mlp:4",                     -- a spec or a list of specs (default: by data kind)
///   strong = { "mlp:256,256+pretrain", "gpt:2x64+pretrain" },
///   loss = { "xent", "logconf" },       -- xent, logconf, bootstrap (default: xent and logconf)
///   via = { "mlp:64+pretrain" },        -- bootstrap chain, weakest first
///   seeds = 3,                          -- a count (seeds 0 … N−1) or a list of seeds
///   test_fraction = 0.25, supervisor_fraction = 0.5,
///   weak_steps = 600, strong_steps = 80, pretrain_steps = 1500,
///   batch = 64, lr = 1e-3, eval_every = 10,
///   alpha = 0.5, alpha_warmup = 0.2,    -- logconf
///   soft_labels = false,
/// }
/// ```
public struct W2SExperiment: Equatable, Sendable {
    /// The experiment's name: its run id, and its run directory's name in a sweep.
    public var name: String
    public var config: W2SConfig

    public init(name: String, config: W2SConfig) {
        self.name = name
        self.config = config
    }
}

extension CampaignScript {
    /// Reads one `w2s{…}` table (see `W2SExperiment` for the fields).
    static func parseW2S(_ v: LuaValue, where label: String, folder: CampaignFiles) throws -> W2SExperiment {
        var r = FieldReader(value: v, path: label)
        let name = try r.string("name", default: "w2s")
        guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
            throw CampaignError.invalid("\(label).name: '\(name)' cannot name a run directory")
        }
        let task = try r.optionalString("task")
        var dataPath = try r.optionalString("data")
        let labelColumn = try r.optionalString("label")
        guard (task == nil) != (dataPath == nil) else {
            throw CampaignError.invalid("\(label): give exactly one of task (\(W2STasks.tasks.map(\.name).joined(separator: ", "))) and data")
        }
        if let task, !W2STasks.tasks.contains(where: { $0.name == task }) {
            throw CampaignError.invalid("\(label).task: '\(task)' is not a built-in task (\(W2STasks.tasks.map(\.name).joined(separator: ", ")))")
        }
        if labelColumn != nil, dataPath == nil { throw CampaignError.invalid("\(label).label: applies to data files only") }
        if let file = dataPath {
            // Same sandbox as read_text: a script reaches files under its own folder only.
            dataPath = try folder.resolve(file, field: "\(label).data")
        }
        if task == nil, let key = ["digits", "examples"].first(where: { r.fields[$0] != nil }) {
            throw CampaignError.invalid("\(label).\(key): applies to built-in tasks only")
        }
        let examples = try r.int("examples", default: 4000, 10...1_000_000)
        let digits = try r.optionalInt("digits", 1...8)

        func specs(_ key: String) throws -> [W2SModelSpec] {
            try r.stringList(key).map { text in
                do { return try W2SModelSpec(text) } catch { throw CampaignError.invalid("\(label).\(key): \(error)") }
            }
        }
        let weak = try specs("weak")
        let strong = try specs("strong")
        let via = try specs("via")
        let lossNames = try r.stringList("loss")
        let losses = try (lossNames.isEmpty ? ["xent", "logconf"] : lossNames).map { name -> W2SLoss in
            guard let loss = W2SLoss(rawValue: name) else {
                throw CampaignError.invalid("\(label).loss: '\(name)' is not a loss (xent, logconf, bootstrap)")
            }
            return loss
        }
        guard Set(losses).count == losses.count else { throw CampaignError.invalid("\(label).loss: a loss is listed twice") }

        let seeds: [UInt64]
        switch r.take("seeds") {
        case .nil: seeds = [0, 1, 2]
        case let v where v.int != nil:
            let count = v.int ?? 0
            guard (1...1000).contains(count) else { throw CampaignError.invalid("\(label).seeds: \(count) is outside 1...1000") }
            seeds = (0..<UInt64(count)).map { $0 }
        case .table(let t) where t.hash.isEmpty && !t.array.isEmpty:
            seeds = try t.array.enumerated().map { i, x in
                guard let s = x.int, s >= 0 else {
                    throw CampaignError.invalid("\(label).seeds[\(i + 1)]: expected a non-negative integer, got \(x.typeName)")
                }
                return UInt64(s)
            }
            guard Set(seeds).count == seeds.count else { throw CampaignError.invalid("\(label).seeds: a seed is listed twice") }
        case let v:
            throw CampaignError.invalid("\(label).seeds: expected a count or a list of seeds, got \(v.typeName)")
        }

        let testFraction = try r.double("test_fraction", default: 0.25, 0.01...0.99)
        let supervisorFraction = try r.double("supervisor_fraction", default: 0.5, 0.01...0.99)
        let training = W2STraining(
            weakSteps: try r.int("weak_steps", default: 600, 1...1_000_000),
            strongSteps: try r.int("strong_steps", default: 80, 1...1_000_000),
            pretrainSteps: try r.int("pretrain_steps", default: 1500, 0...1_000_000),
            batchSize: try r.int("batch", default: 64, 1...4096),
            learningRate: Float(try r.double("lr", default: 1e-3, 1e-7...1)),
            evalEvery: try r.int("eval_every", default: 10, 1...1_000_000))
        let confidence = ConfidenceWarmup(finalAlpha: try r.double("alpha", default: 0.5, 0...1),
                                          warmupFraction: try r.double("alpha_warmup", default: 0.2, 0...1))
        let softLabels = try r.bool("soft_labels", default: false)
        try r.finish()
        return W2SExperiment(name: name, config: W2SConfig(
            task: task, dataPath: dataPath, labelColumn: labelColumn, taskExamples: examples, taskDigits: digits,
            weak: weak, strong: strong, losses: losses, intermediates: via, seeds: seeds,
            testFraction: testFraction, supervisorFraction: supervisorFraction, confidence: confidence,
            softLabels: softLabels, training: training))
    }
}

extension FieldReader {
    mutating func optionalString(_ key: String) throws -> String? {
        let v = take(key)
        if v.isNil { return nil }
        guard case .string = v, let s = v.text else { throw CampaignError.invalid("\(path).\(key): expected a string, got \(v.typeName)") }
        return s
    }

    mutating func optionalInt(_ key: String, _ range: ClosedRange<Int>) throws -> Int? {
        if fields[key] == nil { return nil }
        return try int(key, default: range.lowerBound, range)
    }

    mutating func bool(_ key: String, default d: Bool) throws -> Bool {
        let v = take(key)
        if v.isNil { return d }
        guard let b = v.bool else { throw CampaignError.invalid("\(path).\(key): expected a boolean, got \(v.typeName)") }
        return b
    }

    /// A string or a list of strings (empty when absent).
    mutating func stringList(_ key: String) throws -> [String] {
        let v = take(key)
        switch v {
        case .nil: return []
        case .string: return [v.text ?? ""]
        case .table(let t) where t.hash.isEmpty && !t.array.isEmpty:
            return try t.array.enumerated().map { i, x in
                guard case .string = x, let s = x.text else {
                    throw CampaignError.invalid("\(path).\(key)[\(i + 1)]: expected a string, got \(x.typeName)")
                }
                return s
            }
        default:
            throw CampaignError.invalid("\(path).\(key): expected a string or a list of strings, got \(v.typeName)")
        }
    }
}

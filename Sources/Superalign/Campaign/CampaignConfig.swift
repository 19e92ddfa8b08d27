import LuaHost

/// A campaign, as its Lua script declares it with `campaign{…}`, resolved and validated.
///
/// ```lua
/// return campaign{
///   name = "quickstart", seed = 1, iterations = 4,
///   task = { name = "addition", digits = 2 },
///   learner = { layers = 2, width = 64, heads = 4, pretrain_steps = 400 },
///   attacker = { plugin = "carry_chain" },
///   critic = { plugin = "digit_rubric" },
///   oversight = { plugin = "uncertainty_budget", budget = 40 },
///   refine = { method = "sft", steps = 60 },
/// }
/// ```
public struct CampaignConfig: Codable, Equatable, Sendable {
    public struct PluginRef: Codable, Equatable, Sendable {
        public var plugin: String
        public var params: [String: LuaValue]
        /// A critic that reads the reference answer (`item.reference`). Its numbers are marked
        /// "reference-based" wherever they appear: it is not a weak supervisor.
        public var reference: Bool

        public init(plugin: String, params: [String: LuaValue] = [:], reference: Bool = false) {
            self.plugin = plugin
            self.params = params
            self.reference = reference
        }
    }

    public struct Learner: Codable, Equatable, Sendable {
        public var layers: Int
        public var width: Int
        public var heads: Int
        public var pretrainSteps: Int
        public var pretrainBatch: Int
        public var learningRate: Double
        /// A checkpoint (from `superalign train` or a run) to start from instead of pretraining.
        public var initCheckpoint: String?
    }

    /// The simulated human oracle (DESIGN.md, "The human oracle").
    public struct Human: Codable, Equatable, Sendable {
        /// Labels the campaign may buy in total: one label = one verdict on one sample = 1.
        public var budget: Int
        /// A "wrong" label also supplies the right answer, for 1 more from the budget.
        public var corrections: Bool
        /// Probability that the simulated human's verdict is wrong.
        public var errorRate: Double
    }

    public struct Refine: Codable, Equatable, Sendable {
        /// `sft` or `rft`.
        public var method: String
        public var steps: Int
        public var batch: Int
        public var learningRate: Double
        /// Samples per query (K) for `rft`; 1 for `sft`.
        public var samples: Int
        public var temperature: Double
        /// Problems from the learner's own pretraining set mixed into each refinement (guards
        /// against forgetting without bringing in new ground truth).
        public var rehearsal: Int
    }

    public var name: String
    /// The arm of a comparison this run belongs to ("" when the campaign has one arm).
    public var arm: String
    public var seed: UInt64
    public var iterations: Int
    public var queriesPerIteration: Int
    public var task: [String: String]
    /// Share of the task's standard problems held out as the `eval` partition.
    public var evalShare: Double
    public var learner: Learner
    public var attacker: PluginRef
    /// One or more critics; the aggregation rule combines their verdicts into the one the
    /// oversight policy and refinement see (the others travel along as `verdict.others`).
    public var critics: [PluginRef]
    /// `first`, `mean`, `majority` or `all`.
    public var aggregate: String
    public var oversight: PluginRef
    public var human: Human
    public var refine: Refine
    public var evalClean: Int
    public var evalOOD: Int

    /// True when any critic reads the reference answer.
    public var referenceBased: Bool { critics.contains(where: \.reference) }

    /// The run's name: `<name>-seed<seed>`, or `<name>-<arm>-seed<seed>` in a comparison.
    public var runName: String { arm.isEmpty ? "\(name)-seed\(seed)" : "\(name)-\(arm)-seed\(seed)" }
}

public enum CampaignError: Error, Equatable, CustomStringConvertible {
    case invalid(String)
    case script(PluginError)

    public var description: String {
        switch self {
        case .invalid(let m): return m
        case .script(let e):
            // A campaign script is not a plugin: say what failed in the script's own terms.
            var where_ = ""
            if let file = e.file { where_ = e.line.map { " at \(file):\($0)" } ?? " in \(file)" }
            return "campaign script \(e.plugin) failed (\(e.kind.rawValue))\(where_): \(e.message)"
        }
    }
}

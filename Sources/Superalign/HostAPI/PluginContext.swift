import LuaHost
import Tensor

/// What the learner offers plugins through `sa.learner`: batched calls only (never one call
/// per token). The refinement loop attaches the live learner; without one, `sa.learner`
/// functions fail with a clear message.
public protocol LearnerProbe: AnyObject {
    /// `samples` completions per prompt, with their total log-probabilities.
    func generate(prompts: [String], samples: Int, temperature: Double, topK: Int, maxTokens: Int) throws
        -> [[(text: String, logprob: Double)]]
    /// Log-probability of each completion given its prompt.
    func logprob(prompts: [String], completions: [String]) throws -> [Double]
    /// The learner's confidence in its own greedy answer to each prompt (probability of the
    /// greedy completion).
    func confidence(prompts: [String]) throws -> [Double]
}

/// The state behind one plugin's `sa` table: the campaign's task, the plugin's own seeded
/// generator, and (during a campaign) the learner.
public final class PluginContext {
    public var task: any ProblemTask
    public var rng: RandomGenerator
    public var learner: LearnerProbe?

    public init(task: any ProblemTask, seed: UInt64, learner: LearnerProbe? = nil) {
        self.task = task
        self.rng = RandomGenerator(seed: seed)
        self.learner = learner
    }
}

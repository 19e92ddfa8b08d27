import LuaHost
import Models

/// What an attacker sees when asked for queries.
public struct AttackContext: Sendable {
    public var iteration: Int
    public var iterations: Int
    public var humanBudgetRemaining: Int
}

/// Phase 1. Proposes prompts (never answers: the task computes the truth).
public protocol Attacker: AnyObject {
    /// Up to `count` prompts; the task decides which are valid.
    func propose(_ context: AttackContext, count: Int) throws -> [String]
    /// What became of the last queries: critic verdicts and the human labels bought.
    func observe(_ items: [IterationItem]) throws
}

/// Phase 3. Scores responses. A reference-based critic also receives the reference answer.
public protocol Critic: AnyObject {
    var name: String { get }
    var usesReference: Bool { get }
    /// One verdict per (item, sample) pair, in order.
    func score(_ items: [IterationItem], samples: [(item: Int, sample: Int)]) throws -> [CriticVerdict]
}

/// The human budget as a policy sees it.
public struct BudgetView: Sendable {
    public var remaining: Int
    public var spent: Int
    public var total: Int
    public var iteration: Int
    public var iterations: Int
}

/// Phase 4. Picks the items the human oracle should label.
public protocol OversightPolicy: AnyObject {
    /// Calls `buy(i)` (0-based) for each item it wants labelled, most wanted first. `buy`
    /// returns the budget after the purchase, or nil when nothing was bought (no budget left,
    /// or the item was already labelled); an item not bought is neither labelled nor counted.
    func select(_ items: [IterationItem], budget: BudgetView, buy: (Int) throws -> BudgetView?) throws
}

/// Phase 5. Trains the learner on the iteration's labelled data.
public protocol RefinementMethod {
    var name: String { get }
    /// Trains on `examples`; the mean loss of the last quarter of steps (nil without training).
    func refine(_ learner: LearnerModel, examples: [PromptCompletion], seed: UInt64) throws -> Double?
}

/// The learner as the loop uses it: batched generation, scoring and training, checkpoints.
public protocol LearnerModel: LearnerProbe {
    var maxAnswerTokens: Int { get }
    var generationSeed: UInt64 { get set }
    func respond(_ prompts: [String]) throws -> [ResponseSample]
    func train(_ pairs: [PromptCompletion], steps: Int, batch: Int, learningRate: Double, seed: UInt64) throws -> Double
}

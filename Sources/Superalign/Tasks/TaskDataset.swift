import Models
import Tensor

/// A task's problems as supervised data for `superalign train` / `eval --task`: distinct
/// problems drawn with a seed and split into a training set and a held-out test set that
/// shares no prompt with it, plus a sample of the task's out-of-distribution problems.
///
/// The same task, options, seed and `draws` give the same split, so `eval --task` with the
/// training seed scores exactly the problems training never saw. For small problem spaces
/// (2-digit addition has 10,000) the draws cover most of the space and the split is 90 / 10.
///
/// ```swift
/// let task = try TaskCatalog.make("addition", options: ["digits": "2"])
/// let data = TaskDataset(task: task, seed: 0)
/// data.trainPairs[0]   // PromptCompletion(prompt: "47+85=", completion: "132")
/// ```
public struct TaskDataset: Sendable {
    /// Problems drawn (before duplicates are removed) when the caller does not say.
    public static let defaultDraws = 20_000

    public let task: any ProblemTask
    public let train: [Problem]
    /// Held out: none of these prompts is in `train`.
    public let test: [Problem]
    /// Drawn from the task's out-of-distribution variant (it may repeat training prompts when
    /// the task has no separate OOD problems, as a JSONL task without `"split":"ood"` lines).
    public let outOfDistribution: [Problem]

    /// Draws `draws` problems from the standard distribution, drops repeated prompts, holds out
    /// a tenth of the distinct ones (at least one when there are two or more) and draws
    /// `oodCount` out-of-distribution problems.
    public init(task: any ProblemTask, seed: UInt64, draws: Int = TaskDataset.defaultDraws, oodCount: Int = 500) {
        self.task = task
        // The constant keeps these draws apart from other users of the same seed.
        var rng = RandomGenerator(seed: seed ^ 0x5EED_7A5C)
        var seen = Set<String>()
        var distinct: [Problem] = []
        for problem in task.sample(draws, &rng, from: .standard) where seen.insert(problem.prompt).inserted {
            distinct.append(problem)
        }
        // The draws are independent, so the order of first appearance is already random: the
        // first tenth is as good a held-out set as any.
        let heldOut = distinct.count >= 2 ? max(1, distinct.count / 10) : 0
        test = Array(distinct[..<heldOut])
        train = Array(distinct[heldOut...])
        outOfDistribution = task.sample(oodCount, &rng, from: .outOfDistribution)
    }

    public var trainPairs: [PromptCompletion] { Self.pairs(train) }
    public var testPairs: [PromptCompletion] { Self.pairs(test) }
    public var outOfDistributionPairs: [PromptCompletion] { Self.pairs(outOfDistribution) }

    /// Problems as SFT pairs: the prompt, and the reference answer as the completion.
    public static func pairs(_ problems: [Problem]) -> [PromptCompletion] {
        problems.map { PromptCompletion(prompt: $0.prompt, completion: $0.answer) }
    }

    /// The character tokenizer for the task (its whole alphabet, so OOD prompts encode too).
    public var tokenizer: CharTokenizer { CharTokenizer(characters: task.alphabet.flatMap(\.unicodeScalars)) }

    /// A context long enough for any problem of the task, OOD included, with BOS and EOS
    /// (the campaign learner's sizing).
    public var context: Int { task.maxLength + 4 }
}

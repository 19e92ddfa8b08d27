import Foundation
import Models
import Tensor

/// The learner of a campaign: a char-level GPT with its tokenizer, pretrained on the task's
/// standard distribution and refined from the loop's labelled items. It answers `sa.learner`
/// calls in batches.
public final class Learner: LearnerModel {
    public let model: GPT
    public let tokenizer: CharTokenizer
    /// New tokens a response may have: the task's longest answer and the stop token.
    public let maxAnswerTokens: Int
    /// Seed for the next generation call (the loop sets it per iteration and phase).
    public var generationSeed: UInt64 = 0

    /// A fresh learner sized for `task`.
    public init(task: any ProblemTask, config: CampaignConfig.Learner, seed: UInt64) throws {
        tokenizer = CharTokenizer(characters: task.alphabet.flatMap { $0.unicodeScalars })
        maxAnswerTokens = task.maxLength / 2 + 2
        let context = task.maxLength + 4
        model = try GPT(config: GPTConfig(layers: config.layers, width: config.width, heads: config.heads,
                                          context: context, vocabulary: tokenizer.vocabularySize), seed: seed)
    }

    /// A learner restored from a checkpoint written by `save` or by `superalign train`: it must
    /// be a GPT with a vocabulary that covers the task's characters and a context long enough
    /// for its problems.
    public init(checkpoint url: URL, task: any ProblemTask) throws {
        let (gpt, tok) = try GPT.load(from: url)
        guard let tok else { throw CampaignError.invalid("\(url.path): the checkpoint has no vocabulary") }
        let missing = task.alphabet.filter { c in !c.unicodeScalars.allSatisfy { tok.id(of: $0) != nil } }
        guard missing.isEmpty else {
            throw CampaignError.invalid("\(url.path): the checkpoint's vocabulary lacks the task's characters "
                                        + "\(String(missing).debugDescription)")
        }
        guard gpt.config.context >= task.maxLength + 2 else {
            throw CampaignError.invalid("\(url.path): the checkpoint's context (\(gpt.config.context)) is shorter than the "
                                        + "task's problems need (\(task.maxLength + 2))")
        }
        model = gpt
        tokenizer = tok
        maxAnswerTokens = task.maxLength / 2 + 2
    }

    public func save(to url: URL) throws {
        try model.save(to: url, tokenizer: tokenizer)
    }

    /// Supervised fine-tuning on (prompt, completion) pairs; returns the mean loss of the last
    /// quarter of the steps. A NaN/Inf loss stops with an error and the last good weights.
    @discardableResult
    public func train(_ pairs: [PromptCompletion], steps: Int, batch: Int, learningRate: Double, seed: UInt64) throws -> Double {
        try train(pairs, steps: steps, batch: batch, learningRate: learningRate, seed: seed, progress: nil)
    }

    /// As `train`, reporting `(step, loss)` after each step (a progress bar).
    public func train(_ pairs: [PromptCompletion], steps: Int, batch: Int, learningRate: Double, seed: UInt64,
                      progress: ((Int, Float) -> Void)?) throws -> Double {
        guard steps > 0, !pairs.isEmpty else { return .nan }
        let options = TrainingOptions(steps: steps, batchSize: min(batch, pairs.count), learningRate: Float(learningRate),
                                      warmupSteps: min(20, steps / 10), cosineDecay: true, seed: seed)
        let trainer = Trainer(parameters: model.parameters, noDecay: model.noDecayParameters, options: options)
        let context = model.config.context
        let report = try trainer.run(exampleCount: pairs.count, loss: { tape, indices in
            let b = try SequenceBatch(indices.map { pairs[$0] }, tokenizer: tokenizer, context: context)
            return try model.sftLoss(tape, b)
        }, progress: progress)
        let tail = report.losses.suffix(max(1, report.losses.count / 4))
        return tail.reduce(0.0) { $0 + Double($1) } / Double(tail.count)
    }

    /// Greedy answers, one per prompt.
    public func answer(_ prompts: [String]) throws -> [String] {
        try respond(prompts).map(\.text)
    }

    /// Greedy answers with their log-probabilities, one per prompt (one batched call).
    public func respond(_ prompts: [String]) throws -> [ResponseSample] {
        try model.generate(prompts, tokenizer: tokenizer,
                           options: SamplingOptions(maxNewTokens: maxAnswerTokens, temperature: 0, seed: generationSeed))
            .map { ResponseSample(text: $0.text, logprob: Double($0.totalLogProb)) }
    }

    // MARK: LearnerProbe

    public func generate(prompts: [String], samples: Int, temperature: Double, topK: Int, maxTokens: Int) throws
        -> [[(text: String, logprob: Double)]] {
        let out = try model.generate(prompts, tokenizer: tokenizer, options: SamplingOptions(
            maxNewTokens: min(maxTokens, maxAnswerTokens), temperature: Float(temperature), topK: topK > 0 ? topK : nil,
            samplesPerPrompt: samples, seed: generationSeed))
        var grouped = [[(text: String, logprob: Double)]](repeating: [], count: prompts.count)
        for g in out { grouped[g.promptIndex].append((g.text, Double(g.totalLogProb))) }
        return grouped
    }

    public func logprob(prompts: [String], completions: [String]) throws -> [Double] {
        let pairs = zip(prompts, completions).map { PromptCompletion(prompt: $0, completion: $1) }
        return try model.logProbabilities(of: pairs, tokenizer: tokenizer).map { Double($0.total) }
    }

    public func confidence(prompts: [String]) throws -> [Double] {
        try generate(prompts: prompts, samples: 1, temperature: 0, topK: 0, maxTokens: maxAnswerTokens)
            .map { exp($0.first?.logprob ?? -.infinity) }
    }
}

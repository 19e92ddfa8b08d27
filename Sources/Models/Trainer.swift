import Tensor

/// Optimiser settings for `Trainer` (AdamW with PyTorch semantics, from the engine).
public struct TrainingOptions: Sendable {
    public var steps: Int
    public var batchSize: Int
    /// Peak learning rate.
    public var learningRate: Float
    /// Linear warm-up steps; after them the rate decays along a cosine to `minimumLearningRate`
    /// (nanoGPT's schedule). With `cosineDecay = false` it stays at the peak.
    public var warmupSteps: Int
    public var cosineDecay: Bool
    public var minimumLearningRate: Float
    public var weightDecay: Float
    public var beta1: Float
    public var beta2: Float
    /// Global gradient-norm clip (nil: none).
    public var gradientClip: Float?
    /// Seeds the mini-batch order.
    public var seed: UInt64

    public init(steps: Int, batchSize: Int = 64, learningRate: Float = 1e-3, warmupSteps: Int = 0,
                cosineDecay: Bool = true, minimumLearningRate: Float? = nil, weightDecay: Float = 0.1,
                beta1: Float = 0.9, beta2: Float = 0.99, gradientClip: Float? = 1.0, seed: UInt64 = 0) {
        self.steps = steps
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.warmupSteps = warmupSteps
        self.cosineDecay = cosineDecay
        self.minimumLearningRate = minimumLearningRate ?? learningRate / 10
        self.weightDecay = weightDecay
        self.beta1 = beta1
        self.beta2 = beta2
        self.gradientClip = gradientClip
        self.seed = seed
    }

    /// The engine schedule these options describe.
    public var schedule: LearningRateSchedule {
        cosineDecay
            ? .warmupCosine(peak: learningRate, warmupSteps: warmupSteps, totalSteps: steps, minimum: minimumLearningRate)
            : .linearWarmup(peak: learningRate, warmupSteps: max(warmupSteps, 1))
    }
}

/// What a training run did.
public struct TrainingReport: Sendable {
    /// Loss of every step, in order.
    public var losses: [Float]
    public var seconds: Double
    public var stepsPerSecond: Double { seconds > 0 ? Double(losses.count) / seconds : 0 }
}

/// A training loop that never leaves a model half-updated.
///
/// Each step: `loss = lossFunction(tape, batchIndices)`; if the loss is NaN/±∞ the parameters
/// are restored to the last weights that gave a finite loss and `ModelsError.nonFiniteLoss` is
/// thrown. Otherwise backward, optional clipping, and one AdamW update (the engine's AdamW
/// refuses non-finite gradients before touching any weight). The copy that makes the restore
/// possible is one `memcpy` of the parameters per step, into buffers allocated once.
///
/// ```swift
/// let trainer = Trainer(parameters: gpt.parameters, noDecay: gpt.noDecayParameters,
///                       options: TrainingOptions(steps: 2000, batchSize: 64, learningRate: 1e-3))
/// let report = try trainer.run(exampleCount: data.count) { tape, idx in
///     let batch = try SequenceBatch(idx.map { data[$0] }, tokenizer: tok, context: 16)
///     return try gpt.sftLoss(tape, batch)
/// } progress: { step, loss in bar.update(step, loss: loss) }
/// ```
public final class Trainer {
    public let parameters: [Tensor]
    public let options: TrainingOptions
    public let optimizer: AdamW
    private let snapshot: [Tensor]
    /// The tape every step records on (attach a `TapeProfile` to it to time the ops).
    public let tape = Tape()

    public init(parameters: [Tensor], noDecay: [Tensor] = [], options: TrainingOptions) {
        self.parameters = parameters
        self.options = options
        self.optimizer = AdamW(parameters: parameters, learningRate: options.learningRate, beta1: options.beta1,
                               beta2: options.beta2, weightDecay: options.weightDecay, noDecay: noDecay)
        self.snapshot = parameters.map { $0.detached().clone() }
    }

    /// Runs `options.steps` steps over mini-batches of `exampleCount` examples.
    /// `progress(step, loss)` is called after each step with the 1-based step number.
    @discardableResult
    public func run(exampleCount: Int,
                    loss lossFunction: (Tape, [Int]) throws -> Tensor,
                    progress: ((Int, Float) -> Void)? = nil) throws -> TrainingReport {
        guard exampleCount > 0 else { throw ModelsError.invalidArgument(op: "Trainer.run", detail: "no training examples") }
        guard options.steps >= 0, options.batchSize > 0 else {
            throw ModelsError.invalidArgument(op: "Trainer.run", detail: "steps must be ≥ 0 and batch size > 0")
        }
        var batches = MiniBatches(count: exampleCount, batchSize: options.batchSize, seed: options.seed)
        let schedule = options.schedule
        var losses: [Float] = []
        losses.reserveCapacity(options.steps)
        let start = ProgressBar.monotonicSeconds()
        for step in 0..<options.steps {
            let indices = batches.next()
            tape.reset()
            tape.profile?.mark()
            let loss = try lossFunction(tape, indices)
            let value = loss.item
            guard value.isFinite else {
                tape.reset()
                restoreLastGood(afterStep: step)
                throw ModelsError.nonFiniteLoss(step: step + 1, loss: "\(value)")
            }
            try tape.backward(loss)
            let profile = tape.profile
            let t0 = profile == nil ? 0 : TapeProfile.now()
            if let clip = options.gradientClip { try clipGradientNorm(parameters, maxNorm: clip) }
            optimizer.learningRate = schedule.learningRate(at: step)
            // The weights before this update gave a finite loss: the optimizer copies them into
            // `snapshot` as it reads them, to restore if a later loss is not finite.
            try optimizer.step(keepingPreviousIn: snapshot)
            if let profile { profile.charge("trainer: clip + AdamW step (+ keep last good weights)", seconds: TapeProfile.now() - t0) }
            losses.append(value)
            progress?(step + 1, value)
        }
        return TrainingReport(losses: losses, seconds: ProgressBar.monotonicSeconds() - start)
    }

    private func restoreLastGood(afterStep step: Int) {
        // Before the first update the current weights are the initial ones: nothing to undo.
        guard step > 0 else { return }
        for (s, p) in zip(snapshot, parameters) { p.data.update(from: s.data, count: p.count) }
        for p in parameters { p.zeroGrad() }
    }
}

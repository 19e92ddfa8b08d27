import Models
import Tensor

/// Phase 5, refine: the learner trains on what the labels support and nothing else —
/// accepted responses (critic or human), the answers a human supplied as corrections, and
/// rehearsal problems from its own pretraining set. Items in the `eval` or `ood` partition are
/// never trained on.
extension CampaignRunner {
    /// The refinement examples an iteration's items give (the item's `trainedCompletion` is set).
    static func trainingExamples(_ items: inout [IterationItem]) -> [PromptCompletion] {
        var out: [PromptCompletion] = []
        for j in items.indices where items[j].partition == .pretrain {
            let it = items[j]
            let completion: String?
            if it.finalLabel { completion = it.response } else { completion = it.humanCorrection }
            if let completion {
                items[j].trainedCompletion = completion
                out.append(PromptCompletion(prompt: it.prompt, completion: completion))
            }
        }
        return out
    }

    func refine(_ i: Int, _ items: inout [IterationItem]) throws -> (loss: Double?, rehearsal: Int) {
        var examples = Self.trainingExamples(&items)
        var rehearsal = 0
        if config.refine.rehearsal > 0 && !examples.isEmpty {
            var rng = RandomGenerator(seed: SeedPurpose.rehearsal.seed(config.seed, iteration: i))
            let set = try pretrainingSet()
            for _ in 0..<config.refine.rehearsal {
                let p = set[rng.below(set.count)]
                examples.append(PromptCompletion(prompt: p.prompt, completion: p.answer))
            }
            rehearsal = config.refine.rehearsal
        }
        refinementObserver?(i, examples)
        let loss = try refinement.refine(learner, examples: examples, seed: SeedPurpose.refineOrder.seed(config.seed, iteration: i))
        return (loss, rehearsal)
    }
}

/// SFT on the labelled examples (`rft` differs only in how the candidate is chosen: the
/// critics' best of K samples, in the critique phase).
struct SupervisedRefinement: RefinementMethod {
    let name: String
    let steps: Int
    let batch: Int
    let learningRate: Double

    func refine(_ learner: LearnerModel, examples: [PromptCompletion], seed: UInt64) throws -> Double? {
        guard steps > 0, !examples.isEmpty else { return nil }
        let loss = try learner.train(examples, steps: steps, batch: batch, learningRate: learningRate, seed: seed)
        return loss.isFinite ? loss : nil
    }
}

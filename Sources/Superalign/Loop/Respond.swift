/// Phase 2, respond: the learner answers every query in one batched greedy generation (attack
/// success is measured on it); RFT also draws K samples per query in one batched call.
extension CampaignRunner {
    func respond(_ i: Int, _ attack: AttackResult) throws -> [IterationItem] {
        let prompts = attack.problems.map(\.problem.prompt)
        learner.generationSeed = SeedPurpose.respond.seed(config.seed, iteration: i)
        let greedy = try learner.respond(prompts)
        var sampled: [[ResponseSample]] = []
        if config.refine.method == "rft" {
            learner.generationSeed = SeedPurpose.sampleResponses.seed(config.seed, iteration: i)
            sampled = try learner.generate(prompts: prompts, samples: config.refine.samples, temperature: config.refine.temperature,
                                           topK: 0, maxTokens: learner.maxAnswerTokens)
                .map { $0.map { ResponseSample(text: $0.text, logprob: $0.logprob) } }
        }
        return attack.problems.enumerated().map { j, entry in
            let (p, partition) = entry
            let samples = sampled.isEmpty || sampled[j].isEmpty ? [greedy[j]] : sampled[j]
            var item = IterationItem(position: j, prompt: p.prompt, reference: p.answer, partition: partition, features: p.features,
                                     greedy: greedy[j], greedyCorrect: task.verify(p, response: greedy[j].text).correct,
                                     samples: samples)
            item.sampleCorrect = samples.map { task.verify(p, response: $0.text).correct }
            return item
        }
    }
}

import Tensor

/// Phase 6, measure: greedy accuracy on the fixed eval and ood sets (drawn once from their
/// partitions), and the critic, label and training metrics of the iteration's items.
extension CampaignRunner {
    /// Accuracy of greedy answers on the eval and ood sets (nil for an empty set).
    func evaluate() throws -> (clean: Double?, ood: Double?) {
        let (clean, ood) = try evaluationSets()
        learner.generationSeed = SeedPurpose.evaluationGeneration.seed(config.seed)
        func accuracy(_ problems: [Problem]) throws -> Double? {
            guard !problems.isEmpty else { return nil }
            let answers = try learner.respond(problems.map(\.prompt))
            return Double(zip(problems, answers).filter { task.verify($0, response: $1.text).correct }.count) / Double(problems.count)
        }
        return (try accuracy(clean), try accuracy(ood))
    }

    func measure(_ i: Int, _ items: [IterationItem], invalid: Int, loss: Double?, rehearsal: Int,
                 humanSpent: Int) throws -> IterationMetrics {
        let (clean, ood) = try evaluate()
        var m = IterationMetrics(iteration: i)
        m["clean_accuracy"] = clean
        m["ood_accuracy"] = ood
        for (k, v) in IterationMeasures(items).values { m[k] = v }
        m["escalated"] = Double(items.filter(\.escalated).count)
        m["human_labels"] = Double(humanSpent)
        m["human_corrections"] = Double(items.filter { $0.humanCorrection != nil }.count)
        let trained = items.filter { $0.trainedCompletion != nil }
        m["train_items"] = Double(trained.count)
        m["train_label_accuracy"] = trained.isEmpty ? nil
            : Double(trained.filter { task.verify(Problem(prompt: $0.prompt, answer: $0.reference), response: $0.trainedCompletion!).correct }.count)
                / Double(trained.count)
        m["rehearsal_items"] = Double(rehearsal)
        m["train_loss"] = loss
        m["invalid_queries"] = Double(invalid)
        return m
    }
}

/// Phase 4, oversee: the policy picks items; the human oracle labels them while the budget
/// lasts (human labels override the critics'; every label keeps its source).
extension CampaignRunner {
    func oversee(_ i: Int, _ items: inout [IterationItem]) throws {
        func view() -> BudgetView {
            BudgetView(remaining: oracle.remaining, spent: oracle.spent, total: oracle.total, iteration: i, iterations: config.iterations)
        }
        var labelled = items
        try timedLua {
            try oversight.select(items, budget: view()) { j in
                guard labelled.indices.contains(j), !labelled[j].escalated,
                      let answer = oracle.label(correct: labelled[j].correct, reference: labelled[j].reference) else { return nil }
                labelled[j].escalated = true
                labelled[j].humanLabel = answer.label
                labelled[j].humanCorrection = answer.correction
                return view()
            }
        }
        items = labelled
    }
}

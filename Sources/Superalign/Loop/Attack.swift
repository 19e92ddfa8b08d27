import Tensor

/// Phase 1, attack: the attacker proposes prompts; the task resolves each to a problem (its
/// truth stays with the engine) and places it in a partition. Prompts the task cannot answer,
/// or past the query count, are counted as invalid.
extension CampaignRunner {
    struct AttackResult {
        var problems: [(problem: Problem, partition: Partition)]
        var invalid: Int
    }

    func attack(_ i: Int) throws -> AttackResult {
        let context = AttackContext(iteration: i, iterations: config.iterations, humanBudgetRemaining: oracleRemaining)
        let prompts = try timedLua { try attacker.propose(context, count: config.queriesPerIteration) }
        var problems: [(Problem, Partition)] = []
        var invalid = 0
        for prompt in prompts {
            guard problems.count < config.queriesPerIteration, !prompt.isEmpty, let p = task.problem(forPrompt: prompt),
                  p.prompt.count + p.answer.count <= task.maxLength + 2 else {
                invalid += 1
                continue
            }
            problems.append((p, partitions.partition(of: p.prompt, in: task)))
        }
        guard !problems.isEmpty else {
            throw CampaignError.invalid("iteration \(i), attack: the attacker proposed no usable query (\(invalid) invalid)")
        }
        return AttackResult(problems: problems, invalid: invalid)
    }
}

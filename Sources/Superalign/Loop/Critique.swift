/// Phase 3, critique: every critic scores every sample (one batched call per critic); the
/// campaign's rule aggregates them, and with several samples the best aggregated score becomes
/// the candidate (ties: the earlier sample).
extension CampaignRunner {
    func critique(_ items: inout [IterationItem]) throws {
        var pairs: [(item: Int, sample: Int)] = []
        for (j, it) in items.enumerated() { for k in it.samples.indices { pairs.append((j, k)) } }
        var perCritic: [[CriticVerdict]] = []
        for critic in critics { perCritic.append(try timedLua { try critic.score(items, samples: pairs) }) }
        for j in items.indices {
            items[j].sampleVerdicts = Array(repeating: [], count: items[j].samples.count)
        }
        for (n, pair) in pairs.enumerated() {
            items[pair.item].sampleVerdicts[pair.sample] = perCritic.map { $0[n] }
        }
        for j in items.indices {
            items[j].sampleAggregates = items[j].sampleVerdicts.map { CriticAggregation.combine($0, rule: config.aggregate) }
            let scores = items[j].sampleAggregates.map(\.score)
            items[j].chosen = scores.indices.max { scores[$0] < scores[$1] || (scores[$0] == scores[$1] && $0 > $1) } ?? 0
        }
    }
}

/// How several critics' verdicts on one sample become one.
///
/// - `first`: the first critic decides; the others are information (`verdict.others`).
/// - `mean`: score = mean score, label = (mean score ≥ 0.5), confidence = mean confidence.
/// - `majority`: label = more than half accept; score = mean score; confidence = the share of
///   critics that agree with the label.
/// - `all`: label = every critic accepts; score = the lowest score; confidence = the lowest
///   confidence of the accepting critics when accepted, else the highest of the rejecting ones.
public enum CriticAggregation {
    public static func combine(_ verdicts: [CriticVerdict], rule: String) -> CriticVerdict {
        guard let first = verdicts.first else { return CriticVerdict(score: 0, label: false, confidence: 0, critique: "") }
        if verdicts.count == 1 || rule == "first" { return first }
        let n = Double(verdicts.count)
        let meanScore = verdicts.map(\.score).reduce(0, +) / n
        let critique = verdicts.map { "\($0.critic): \($0.critique)" }.joined(separator: "; ")
        switch rule {
        case "mean":
            return CriticVerdict(score: meanScore, label: meanScore >= 0.5, confidence: verdicts.map(\.confidence).reduce(0, +) / n,
                                 critique: critique, critic: "mean")
        case "majority":
            let accept = verdicts.filter(\.label).count
            let label = 2 * accept > verdicts.count
            let agree = label ? accept : verdicts.count - accept
            return CriticVerdict(score: meanScore, label: label, confidence: Double(agree) / n, critique: critique, critic: "majority")
        default: // all
            let label = verdicts.allSatisfy(\.label)
            let confidence = label ? verdicts.map(\.confidence).min()! : verdicts.filter { !$0.label }.map(\.confidence).max()!
            return CriticVerdict(score: verdicts.map(\.score).min()!, label: label, confidence: confidence, critique: critique,
                                 critic: "all")
        }
    }
}

import Tensor

/// Where a problem belongs (DESIGN.md, "Partitions"): pretraining and rehearsal draw only from
/// `pretrain`; `eval` is the held-out clean evaluation; `ood` is the shifted distribution.
/// Items whose prompt lies in `eval` or `ood` are never trained on.
public enum Partition: String, Codable, Sendable, CaseIterable {
    case pretrain, eval, ood
}

/// A task's problems split into disjoint, seeded partitions. Membership is a pure function of
/// the prompt, the seed and the share, so any prompt an attacker writes can be placed, and the
/// rule (stored in config.json) is the whole of the split:
///
/// - a prompt of the task's out-of-distribution region is `ood`;
/// - otherwise it is `eval` when `hash(seed, prompt) < evalShare` (a 64-bit FNV-1a hash mixed
///   with the seed, mapped to [0, 1)), else `pretrain`.
///
/// ```swift
/// let parts = TaskPartitions(seed: 7, evalShare: 0.1)
/// parts.partition(of: "47+85=", in: task)        // .pretrain or .eval, the same every time
/// ```
public struct TaskPartitions: Codable, Equatable, Sendable {
    public var seed: UInt64
    public var evalShare: Double

    public init(seed: UInt64, evalShare: Double) {
        self.seed = seed
        self.evalShare = evalShare
    }

    /// The hash of a prompt under this split, uniform in [0, 1).
    func unit(_ prompt: String) -> Double {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325 ^ seed
        for b in prompt.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        // SplitMix64 finalizer: FNV's low bits alone are poorly mixed for short strings.
        h = (h ^ (h >> 30)) &* 0xBF58_476D_1CE4_E5B9
        h = (h ^ (h >> 27)) &* 0x94D0_49BB_1331_11EB
        h ^= h >> 31
        return Double(h >> 11) / Double(1 << 53)
    }

    public func partition(of prompt: String, in task: any ProblemTask) -> Partition {
        if task.region(ofPrompt: prompt) == .outOfDistribution { return .ood }
        return unit(prompt) < evalShare ? .eval : .pretrain
    }

    /// `count` problems of `partition`, drawn from the task's distribution by rejection. Draws
    /// avoid repeats while the partition has enough distinct problems; a partition that yields
    /// nothing in many draws (a tiny data file) is an error naming it.
    public func sample(_ count: Int, from partition: Partition, task: any ProblemTask,
                       _ rng: inout RandomGenerator, distinct: Bool = false) throws -> [Problem] {
        let distribution: ProblemDistribution = partition == .ood ? .outOfDistribution : .standard
        var out: [Problem] = []
        out.reserveCapacity(count)
        var seen = Set<String>()
        var tries = 0
        let limit = 200 * max(count, 1) + 10_000
        while out.count < count {
            tries += 1
            guard tries <= limit else {
                if out.isEmpty {
                    throw CampaignError.invalid("the task's \(partition.rawValue) partition yielded no problem in \(limit) draws "
                                                + "(too few problems for eval_share?)")
                }
                // Fewer distinct problems than asked for: repeat the ones found.
                let found = out
                while out.count < count { out.append(found[rng.below(found.count)]) }
                break
            }
            let p = task.sample(&rng, from: distribution)
            guard self.partition(of: p.prompt, in: task) == partition else { continue }
            if distinct && !seen.insert(p.prompt).inserted { continue }
            out.append(p)
        }
        return out
    }
}

/// Every random stream of a campaign, derived from the campaign seed, the iteration and its
/// purpose: nothing depends on how another stream was consumed, so a resumed run draws what an
/// uninterrupted one would, and arms that share a seed share pretraining and queries.
public enum SeedPurpose: UInt64, Sendable {
    case attackerPlugin = 1, criticPlugin = 2, oversightPlugin = 3
    case learnerInit = 7
    case pretrainData = 11, pretrainOrder = 12
    case evaluationSets = 13, evaluationGeneration = 14
    case partitions = 15
    case respond = 20, sampleResponses = 21, rehearsal = 22, refineOrder = 23, humanOracle = 24

    /// The seed of this purpose at `iteration` (0 for what happens before the first).
    public func seed(_ campaignSeed: UInt64, iteration: Int = 0) -> UInt64 {
        mixSeed(campaignSeed, UInt64(iteration), rawValue)
    }
}

/// Derives a seed from the campaign seed and two indices (SplitMix64 finalizer).
func mixSeed(_ seed: UInt64, _ a: UInt64, _ b: UInt64) -> UInt64 {
    var z = seed &+ 0x9E37_79B9_7F4A_7C15 &* (a &+ 1) &+ 0xD1B5_4A32_D192_ED03 &* (b &+ 1)
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

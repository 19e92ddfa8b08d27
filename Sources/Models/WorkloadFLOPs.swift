/// Matrix-multiply flops of one training step (forward and backward) of a `GPT` or an `MLP`,
/// computed from the shapes; `superalign bench train` divides them by the step time to report
/// GFLOP/s and the share of the machine's measured peak (`PeakFLOPS`).
///
/// Only matrix multiplies count (a multiply-add is 2 flops): layer norm, GELU/ReLU, softmax,
/// cross-entropy, bias adds and the optimizer are left out, being a few percent of the work at
/// these sizes. Backward multiplies cost as much as forward ones: for `y = x·Wᵀ`, both
/// `dX = dY·W` and `dW = dYᵀ·x` are as large as the forward product, so a layer whose input
/// needs a gradient costs 3× its forward flops per step, one whose input does not (an MLP's
/// first layer, fed the data) 2×, since the tape skips its `dX`.
///
///     WorkloadFLOPs.gptTrainingStep(GPTConfig(layers: 4, width: 128, heads: 4, context: 32, vocabulary: 16),
///                                   batch: 64)                              // 10_091_495_424
///     WorkloadFLOPs.mlpTrainingStep(widths: [784, 256, 256, 10], batch: 128)   // 155_058_176
public enum WorkloadFLOPs {
    /// Forward matrix-multiply flops of a GPT on `batch` sequences of the full context `T`:
    ///
    /// - per layer, with `N = batch·T` rows: `c_attn` (C → 3C), `attn.c_proj` (C → C), MLP up
    ///   (C → 4C) and down (4C → C) are `2·N·(3 + 1 + 4 + 4)·C² = 2·N·12C²`;
    /// - per layer, attention scores `Q·Kᵀ` and `P·V`: `2 · 2·batch·T²·C` (each head is a
    ///   `T×D` by `D×T` or `T×T` by `T×D` product, and the heads' `D`s add up to `C`). This
    ///   counts the full `T×T` square, the usual convention for model flops (PaLM's MFU);
    ///   the causal kernels (`AttentionKernels`) skip most of the masked upper triangle, so
    ///   they run fewer: the count overstates the work by at most half the attention term,
    ///   about 2% of the benchmark GPT's total;
    /// - the tied LM head (C → V): `2·N·C·V`;
    /// - the classification head when `classes > 0`: `2·batch·C·classes` (last position only).
    ///
    /// Token and position embeddings are gathers, not multiplies.
    public static func gptForward(_ config: GPTConfig, batch: Int) -> Int {
        let (t, c) = (config.context, config.width)
        let n = batch * t
        let perLayer = 2 * n * 12 * c * c + 2 * 2 * batch * t * t * c
        return config.layers * perLayer + 2 * n * c * config.vocabulary + 2 * batch * c * config.classes
    }

    /// Forward plus backward: 3× `gptForward`. Every multiply's inputs need gradients (the
    /// first block's input is the embeddings' sum, a parameter's output), so each costs its
    /// forward product again for `dX` and again for `dW`; in attention, backward runs four
    /// products (`dP = dY·Vᵀ`, `dV = Pᵀ·dY`, `dQ = dS·K`, `dK = dSᵀ·Q`) for forward's two.
    public static func gptTrainingStep(_ config: GPTConfig, batch: Int) -> Int {
        3 * gptForward(config, batch: batch)
    }

    /// Forward matrix-multiply flops of an MLP with layer widths `widths` (input first) on
    /// `batch` rows: `2·batch·Σ widths[i]·widths[i+1]`.
    public static func mlpForward(widths: [Int], batch: Int) -> Int {
        zip(widths, widths.dropFirst()).reduce(0) { $0 + 2 * batch * $1.0 * $1.1 }
    }

    /// Forward plus backward: every layer's `dW` costs its forward flops and every layer but
    /// the first its `dX` too; the first layer's input is the data, which needs no gradient,
    /// and the tape does not compute it (nor does PyTorch). So `3× forward − first layer`.
    public static func mlpTrainingStep(widths: [Int], batch: Int) -> Int {
        guard widths.count >= 2 else { return 0 }
        return 3 * mlpForward(widths: widths, batch: batch) - 2 * batch * widths[0] * widths[1]
    }
}

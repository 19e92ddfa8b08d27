import XCTest
@testable import Tensor

/// Finite-difference checks of every op's gradient rule.
final class GradientCheckTests: XCTestCase {
    func testLinearWithEachActivationAndResidual() throws {
        for act in [Tape.Activation.none, .gelu, .relu] {
            let x = randomTensor([2, 3, 6], seed: 1, requiresGrad: true)
            let w = randomTensor([5, 6], seed: 2, scale: 0.5, requiresGrad: true)
            let b = randomTensor([5], seed: 3, requiresGrad: true)
            let res = randomTensor([2, 3, 5], seed: 4, requiresGrad: true)
            try checkGradients([x, w, b, res]) { try $0.linear(x, w, b, activation: act, residual: res) }
        }
    }

    func testResidualGradientsThroughChainedAndSharedResiduals() throws {
        // Backward hands a linear's output gradient to a residual that has none yet instead of
        // copying it (h below: its other use, u = h ⊙ h, is differentiated later and adds into
        // the handed-over buffer), and adds it when the residual already has one (x: the first
        // layer's own input, whose gradient that layer wrote just before).
        for act in [Tape.Activation.none, .gelu] {
            let x = randomTensor([3, 4], seed: 11, requiresGrad: true)
            let w1 = randomTensor([4, 4], seed: 12, scale: 0.5, requiresGrad: true)
            let b1 = randomTensor([4], seed: 13, requiresGrad: true)
            let w2 = randomTensor([4, 4], seed: 14, scale: 0.5, requiresGrad: true)
            let b2 = randomTensor([4], seed: 15, requiresGrad: true)
            try checkGradients([x, w1, b1, w2, b2]) { t in
                let h = try t.linear(x, w1, b1, activation: act, residual: x)
                let u = try t.mul(h, h)
                let y = try t.linear(u, w2, b2, residual: h)
                return try t.mul(y, x)
            }
        }
    }

    func testMatmulInAllLayouts() throws {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = randomTensor(ta ? [4, 3] : [3, 4], seed: 5, requiresGrad: true)
            let b = randomTensor(tb ? [5, 4] : [4, 5], seed: 6, requiresGrad: true)
            try checkGradients([a, b]) { try $0.matmul(a, b, transposeA: ta, transposeB: tb) }
            let ba = randomTensor(ta ? [2, 4, 3] : [2, 3, 4], seed: 7, requiresGrad: true)
            let bb = randomTensor(tb ? [2, 5, 4] : [2, 4, 5], seed: 8, requiresGrad: true)
            try checkGradients([ba, bb]) { try $0.batchedMatmul(ba, bb, transposeA: ta, transposeB: tb) }
        }
    }

    func testBroadcastingAddSubMul() throws {
        let a = randomTensor([2, 3, 4], seed: 9, requiresGrad: true)
        let b = randomTensor([3, 4], seed: 10, requiresGrad: true)
        let s = randomTensor([], seed: 11, requiresGrad: true)
        try checkGradients([a, b]) { try $0.add(a, b) }
        try checkGradients([a, b]) { try $0.sub(b, a) }
        try checkGradients([a, b]) { try $0.mul(a, b) }
        try checkGradients([a, s]) { try $0.mul(s, a) }
        try checkGradients([a]) { try $0.mul(a, a) }
    }

    func testUnaryOps() throws {
        let x = randomTensor([3, 7], seed: 12, requiresGrad: true)
        try checkGradients([x]) { try $0.gelu(x) }
        try checkGradients([x]) { try $0.sigmoid(x) }
        try checkGradients([x]) { try $0.logSigmoid(x) }
        try checkGradients([x]) { try $0.tanh(x) }
        try checkGradients([x]) { try $0.exp(x) }
        try checkGradients([x]) { try $0.scale(x, -2.5) }
        try checkGradients([x]) { try $0.addScalar(x, 3) }
        // Keep ReLU and log away from their kinks/poles.
        let p = try Tensor(shape: [6], values: [0.5, 1.5, 2, 3, 0.7, 1.1], requiresGrad: true)
        try checkGradients([p]) { try $0.log(p) }
        let q = try Tensor(shape: [6], values: [-1, 0.5, -0.3, 2, -2, 0.9], requiresGrad: true)
        try checkGradients([q]) { try $0.relu(q) }
    }

    func testReductionsAndShapeOps() throws {
        let x = randomTensor([3, 4, 5], seed: 13, requiresGrad: true)
        try checkGradients([x]) { try $0.sum(x) }
        try checkGradients([x]) { try $0.mean(x) }
        try checkGradients([x]) { try $0.sumLastAxis(x) }
        try checkGradients([x]) { try $0.sumLastAxis(x, mean: true) }
        try checkGradients([x]) { try $0.reshape(x, [12, -1]) }
        try checkGradients([x]) { try $0.sliceRows(x, 1..<3) }
        let y = randomTensor([2, 4, 5], seed: 14, requiresGrad: true)
        try checkGradients([x, y]) { try $0.concatRows([x, y, x]) }
        let ids = try IndexTensor(shape: [3, 4], values: (0..<12).map { Int32($0 % 5) })
        try checkGradients([x]) { try $0.gather(x, ids) }
    }

    func testSoftmaxLogSoftmaxLayerNorm() throws {
        let x = randomTensor([4, 9], seed: 15, scale: 2, requiresGrad: true)
        try checkGradients([x]) { try $0.softmax(x) }
        try checkGradients([x]) { try $0.logSoftmax(x) }
        let w = randomTensor([9], seed: 16, requiresGrad: true), b = randomTensor([9], seed: 17, requiresGrad: true)
        try checkGradients([x, w, b]) { try $0.layerNorm(x, weight: w, bias: b) }
    }

    func testEmbeddingWithRepeatedIds() throws {
        let table = randomTensor([6, 5], seed: 18, requiresGrad: true)
        let ids = try IndexTensor(shape: [2, 4], values: [1, 5, 1, 0, 3, 3, 3, 2])
        try checkGradients([table]) { try $0.embedding(table, ids) }
    }

    func testCausalSelfAttention() throws {
        for (t, c, h) in [(5, 8, 2), (17, 12, 3)] {
            let qkv = randomTensor([2, t, 3 * c], seed: 19, requiresGrad: true)
            try checkGradients([qkv], maxElements: 80) { try $0.causalSelfAttention(qkv, heads: h) }
        }
    }

    func testCrossEntropyReductionsIgnoreIndexAndWeights() throws {
        let logits = randomTensor([6, 5], seed: 20, scale: 2, requiresGrad: true)
        let targets = try IndexTensor(shape: [2, 3], values: [1, -1, 4, 0, 4, -1])
        let weights = try Tensor(shape: [6], values: [1, 0.5, 2, 1.5, 0.25, 3], requiresGrad: true)
        for red in [Tape.Reduction.mean, .weightedMean, .sum, .none] {
            try checkGradients([logits, weights]) {
                try $0.crossEntropy(logits, targets: targets, ignoreIndex: -1, weights: weights, reduction: red)
            }
        }
    }

    func testCustomLossesComposeDPOAndPolicyGradient() throws {
        // DPO: −mean log σ(β((πc − πr) − (refc − refr))) with sequence log-probs from the policy.
        let logits = randomTensor([4, 3, 5], seed: 21, requiresGrad: true)   // 2 chosen + 2 rejected sequences
        let tokens = try IndexTensor(shape: [4, 3], values: [1, 2, 0, 4, 4, 1, 3, 0, 2, 2, 2, 1])
        let ref = try Tensor(shape: [2], values: [0.3, -0.2])
        try checkGradients([logits]) { tape in
            let lp = try tape.gather(tape.logSoftmax(logits), tokens)            // [4, 3]
            let seq = try tape.sumLastAxis(lp)                                    // [4]
            let margin = try tape.sub(tape.sliceRows(seq, 0..<2), tape.sliceRows(seq, 2..<4))
            let z = try tape.scale(tape.sub(margin, ref), 0.1)
            return try tape.scale(tape.mean(tape.logSigmoid(z)), -1)
        }
        // REINFORCE: −mean(advantage ⊙ log π(token)).
        let adv = try Tensor(shape: [4, 3], values: [1, -1, 0.5, 2, 0, -0.5, 1, 1, -2, 0.3, 0.7, -1])
        try checkGradients([logits]) { tape in
            let lp = try tape.gather(tape.logSoftmax(logits), tokens)
            return try tape.scale(tape.mean(tape.mul(lp, adv)), -1)
        }
    }

    func testTiedWeightsAccumulateBothUses() throws {
        // The GPT LM head reuses the token embedding: both paths must add into one gradient.
        let wte = randomTensor([7, 4], seed: 22, requiresGrad: true)
        let ids = try IndexTensor(shape: [1, 3], values: [2, 6, 2])
        let targets = try IndexTensor(shape: [3], values: [1, 2, 3])
        try checkGradients([wte]) { tape in
            let x = try tape.embedding(wte, ids)
            let logits = try tape.linear(tape.reshape(x, [3, 4]), wte)
            return try tape.crossEntropy(logits, targets: targets)
        }
    }
}

import XCTest
@testable import Tensor

/// Forward and backward values against numpy (float64) references from
/// Scripts/gen_tensor_fixtures.py, fed identical float32 inputs.
final class FixtureTests: XCTestCase {
    func testMatmulLayoutsMatchNumpy() throws {
        let g = Fixtures.group("matmul")
        let a = Fixtures.tensor(g, "a"), b = Fixtures.tensor(g, "b"), bt = Fixtures.tensor(g, "bt"), at = Fixtures.tensor(g, "at")
        assertClose(try Matmul.multiply(a, b).scalars, Fixtures.doubles(g, "ab"), atol: 1e-5)
        assertClose(try Matmul.multiply(a, bt, transposeB: true).scalars, Fixtures.doubles(g, "abt"), atol: 1e-5)
        assertClose(try Matmul.multiply(at, b, transposeA: true).scalars, Fixtures.doubles(g, "atb"), atol: 1e-5)
    }

    func testExactGeluMatchesErfFormIncludingTails() throws {
        let g = Fixtures.group("gelu")
        let x = Fixtures.tensor(g, "x", requiresGrad: true)
        let tape = Tape()
        let y = try tape.gelu(x)
        assertClose(y.scalars, Fixtures.doubles(g, "y"), atol: 2e-6, rtol: 2e-6, "gelu")
        try tape.backward(y, seed: Fixtures.tensor(g, "g"))
        assertClose(x.grad!.scalars, Fixtures.doubles(g, "dx"), atol: 5e-6, rtol: 1e-5, "gelu'")
    }

    func testLinearGeluForwardBackwardMatchNumpy() throws {
        let g = Fixtures.group("linear_gelu")
        let x = Fixtures.tensor(g, "x", requiresGrad: true), w = Fixtures.tensor(g, "w", requiresGrad: true)
        let b = Fixtures.tensor(g, "b", requiresGrad: true)
        let tape = Tape()
        let y = try tape.linear(x, w, b, activation: .gelu)
        assertClose(y.scalars, Fixtures.doubles(g, "y"), "y")
        try tape.backward(y, seed: Fixtures.tensor(g, "g"))
        assertClose(x.grad!.scalars, Fixtures.doubles(g, "dx"), "dx")
        assertClose(w.grad!.scalars, Fixtures.doubles(g, "dw"), "dw")
        assertClose(b.grad!.scalars, Fixtures.doubles(g, "db"), "db")
    }

    func testLayerNormMatchesNumpy() throws {
        let g = Fixtures.group("layer_norm")
        let x = Fixtures.tensor(g, "x", requiresGrad: true), w = Fixtures.tensor(g, "w", requiresGrad: true)
        let b = Fixtures.tensor(g, "b", requiresGrad: true)
        let tape = Tape()
        let y = try tape.layerNorm(x, weight: w, bias: b)
        assertClose(y.scalars, Fixtures.doubles(g, "y"), "y")
        try tape.backward(y, seed: Fixtures.tensor(g, "g"))
        assertClose(x.grad!.scalars, Fixtures.doubles(g, "dx"), "dx")
        assertClose(w.grad!.scalars, Fixtures.doubles(g, "dw"), "dw")
        assertClose(b.grad!.scalars, Fixtures.doubles(g, "db"), "db")
    }

    func testSoftmaxAndLogSoftmaxMatchNumpy() throws {
        let g = Fixtures.group("softmax")
        let x = Fixtures.tensor(g, "x", requiresGrad: true)
        var tape = Tape()
        let y = try tape.softmax(x)
        assertClose(y.scalars, Fixtures.doubles(g, "y"), atol: 1e-6, "softmax")
        try tape.backward(y, seed: Fixtures.tensor(g, "g"))
        assertClose(x.grad!.scalars, Fixtures.doubles(g, "dx"), atol: 1e-6, "softmax'")
        x.grad = nil
        tape = Tape()
        let ly = try tape.logSoftmax(x)
        assertClose(ly.scalars, Fixtures.doubles(g, "log_y"), atol: 1e-5, "logSoftmax")
        try tape.backward(ly, seed: Fixtures.tensor(g, "g"))
        assertClose(x.grad!.scalars, Fixtures.doubles(g, "log_dx"), atol: 1e-5, "logSoftmax'")
    }

    func testCrossEntropyWithIgnoreIndexAndWeightsMatchesNumpy() throws {
        let g = Fixtures.group("cross_entropy")
        let logits = Fixtures.tensor(g, "logits", requiresGrad: true)
        let targets = Fixtures.indices(g, "targets"), weights = Fixtures.tensor(g, "weights")
        let ignore = Int32((g["ignore_index"] as! NSNumber).intValue)
        let tape = Tape()
        let perRow = try tape.crossEntropy(logits, targets: targets, ignoreIndex: ignore, weights: weights, reduction: .none)
        assertClose(perRow.scalars, Fixtures.doubles(g, "per_row"), "per-row")
        tape.reset()
        let loss = try tape.crossEntropy(logits, targets: targets, ignoreIndex: ignore, weights: weights)
        assertClose([loss.item], Fixtures.doubles(g, "loss"), "loss")
        try tape.backward(loss)
        assertClose(logits.grad!.scalars, Fixtures.doubles(g, "dlogits"), atol: 1e-6, "dlogits")
    }

    func testEmbeddingMatchesNumpy() throws {
        let g = Fixtures.group("embedding")
        let table = Fixtures.tensor(g, "table", requiresGrad: true)
        let tape = Tape()
        let y = try tape.embedding(table, Fixtures.indices(g, "ids"))
        assertClose(y.scalars, Fixtures.doubles(g, "y"), atol: 1e-7, rtol: 0, "lookup")
        try tape.backward(y, seed: Fixtures.tensor(g, "g"))
        assertClose(table.grad!.scalars, Fixtures.doubles(g, "dtable"), "dtable")
    }

    func testCausalAttentionMatchesNumpy() throws {
        let g = Fixtures.group("attention")
        let qkv = Fixtures.tensor(g, "qkv", requiresGrad: true)
        let tape = Tape()
        let y = try tape.causalSelfAttention(qkv, heads: (g["heads"] as! NSNumber).intValue)
        assertClose(y.scalars, Fixtures.doubles(g, "y"), "y")
        try tape.backward(y, seed: Fixtures.tensor(g, "g"))
        assertClose(qkv.grad!.scalars, Fixtures.doubles(g, "dqkv"), "dqkv")
    }

    func testLogSigmoidIsStableAtLargeMagnitudes() throws {
        let g = Fixtures.group("log_sigmoid")
        let x = Fixtures.tensor(g, "x", requiresGrad: true)
        let tape = Tape()
        let y = try tape.logSigmoid(x)
        assertClose(y.scalars, Fixtures.doubles(g, "y"), atol: 1e-6, "logσ")
        try tape.backward(y, seed: Fixtures.tensor(g, "g"))
        assertClose(x.grad!.scalars, Fixtures.doubles(g, "dx"), atol: 1e-6, "logσ'")
    }

    func testAdamWAndSGDTrajectoriesMatchPyTorchSemantics() throws {
        let g = Fixtures.group("optimizers")
        let p0 = Fixtures.doubles(g, "p0").map { Float($0) }
        let grads = Fixtures.doubles(g, "grads").map { Float($0) }
        let n = p0.count
        let hp = g["adamw"] as! [String: Any]
        func f(_ d: [String: Any], _ k: String) -> Float { (d[k] as! NSNumber).floatValue }
        let p = try Tensor(shape: [n], values: p0, requiresGrad: true)
        let adam = AdamW(parameters: [p], learningRate: f(hp, "lr"), beta1: f(hp, "beta1"), beta2: f(hp, "beta2"),
                         eps: f(hp, "eps"), weightDecay: f(hp, "weight_decay"))
        let traj = Fixtures.doubles(g, "adamw_traj")
        for s in 0..<4 {
            p.grad = try Tensor(shape: [n], values: Array(grads[(s * n)..<((s + 1) * n)]))
            try adam.step()
            assertClose(p.scalars, Array(traj[(s * n)..<((s + 1) * n)]), atol: 1e-6, rtol: 1e-5, "AdamW step \(s + 1)")
            XCTAssertEqual(p.grad!.scalars, [Float](repeating: 0, count: n), "step zeroes gradients")
        }
        let hs = g["sgd"] as! [String: Any]
        let q = try Tensor(shape: [n], values: p0, requiresGrad: true)
        let sgd = SGD(parameters: [q], learningRate: f(hs, "lr"), momentum: f(hs, "momentum"), weightDecay: f(hs, "weight_decay"))
        let straj = Fixtures.doubles(g, "sgd_traj")
        for s in 0..<4 {
            q.grad = try Tensor(shape: [n], values: Array(grads[(s * n)..<((s + 1) * n)]))
            try sgd.step()
            assertClose(q.scalars, Array(straj[(s * n)..<((s + 1) * n)]), atol: 1e-6, rtol: 1e-5, "SGD step \(s + 1)")
        }
    }

    func testWarmupCosineScheduleMatchesNanoGPT() {
        let g = Fixtures.group("schedule")
        func f(_ k: String) -> Float { (g[k] as! NSNumber).floatValue }
        let s = LearningRateSchedule.warmupCosine(peak: f("peak"), warmupSteps: (g["warmup"] as! NSNumber).intValue,
                                                  totalSteps: (g["total"] as! NSNumber).intValue, minimum: f("minimum"))
        let steps = (g["steps"] as! [NSNumber]).map(\.intValue)
        let expected = (g["lr"] as! [NSNumber]).map(\.doubleValue)
        assertClose(steps.map { s.learningRate(at: $0) }, expected, atol: 1e-9, rtol: 1e-5)
    }
}

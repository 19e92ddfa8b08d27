import XCTest
@testable import Tensor

/// Autograd behaviour: accumulation, error reporting, determinism and buffer reuse.
final class TapeTests: XCTestCase {
    /// A small GPT-shaped model: embedding + one pre-LN block + tied head.
    final class TinyGPT {
        let vocab = 11, width: Int, heads = 2, length: Int
        let wte, wpe, ln1w, ln1b, attnW, attnB, projW, projB, ln2w, ln2b, fcW, fcB, fc2W, fc2B, lnfw, lnfb: Tensor
        var parameters: [Tensor] { [wte, wpe, ln1w, ln1b, attnW, attnB, projW, projB, ln2w, ln2b, fcW, fcB, fc2W, fc2B, lnfw, lnfb] }

        /// The defaults are just large enough that matmul, attention, layer norm and the
        /// element-wise kernels all take their multi-threaded paths.
        init(seed: UInt64, width: Int = 64, length: Int = 16) throws {
            self.width = width
            self.length = length
            var rng = RandomGenerator(seed: seed)
            func p(_ s: [Int], _ std: Float = 0.1) throws -> Tensor { try Tensor.randn(s, std: std, using: &rng, requiresGrad: true) }
            func ones(_ n: Int) throws -> Tensor { try Tensor(shape: [n], repeating: 1, requiresGrad: true) }
            wte = try p([vocab, width]); wpe = try p([length, width])
            ln1w = try ones(width); ln1b = try p([width], 0.01)
            attnW = try p([3 * width, width]); attnB = try p([3 * width], 0.01)
            projW = try p([width, width]); projB = try p([width], 0.01)
            ln2w = try ones(width); ln2b = try p([width], 0.01)
            fcW = try p([4 * width, width]); fcB = try p([4 * width], 0.01)
            fc2W = try p([width, 4 * width]); fc2B = try p([width], 0.01)
            lnfw = try ones(width); lnfb = try p([width], 0.01)
        }

        func loss(_ tape: Tape, _ ids: IndexTensor, _ targets: IndexTensor) throws -> Tensor {
            var x = try tape.add(tape.embedding(wte, ids), wpe)
            let qkv = try tape.linear(tape.layerNorm(x, weight: ln1w, bias: ln1b), attnW, attnB)
            x = try tape.linear(tape.causalSelfAttention(qkv, heads: heads), projW, projB, residual: x)
            let h = try tape.linear(tape.layerNorm(x, weight: ln2w, bias: ln2b), fcW, fcB, activation: .gelu)
            x = try tape.linear(h, fc2W, fc2B, residual: x)
            let logits = try tape.linear(tape.layerNorm(x, weight: lnfw, bias: lnfb), wte)
            return try tape.crossEntropy(tape.reshape(logits, [-1, vocab]), targets: targets)
        }
    }

    func batch(_ seed: UInt64, _ model: TinyGPT, batch b: Int = 16) throws -> (IndexTensor, IndexTensor) {
        var rng = RandomGenerator(seed: seed)
        let ids = (0..<(b * model.length)).map { _ in Int32(rng.below(model.vocab)) }
        let tg = (0..<(b * model.length)).map { _ in Int32(rng.below(model.vocab)) }
        return (try IndexTensor(shape: [b, model.length], values: ids), try IndexTensor(shape: [b * model.length], values: tg))
    }

    func train(threads: Int, steps: Int) throws -> [Float] {
        try withThreads(threads) {
            let model = try TinyGPT(seed: 5)
            let opt = AdamW(parameters: model.parameters, learningRate: 1e-2)
            let tape = Tape()
            var losses: [Float] = []
            for s in 0..<steps {
                let (ids, tg) = try batch(UInt64(s % 3), model)
                let loss = try model.loss(tape, ids, tg)
                losses.append(loss.item)
                try tape.backward(loss)
                try clipGradientNorm(model.parameters, maxNorm: 1)
                try opt.step()
            }
            return losses + model.parameters.flatMap(\.scalars)
        }
    }

    func testSameSeedTrainsBitIdenticallyWithOneAndTwoThreads() throws {
        let one = try train(threads: 1, steps: 6)
        let parallelBefore = ThreadPool.shared.parallelRuns
        let two = try train(threads: 2, steps: 6)
        XCTAssertGreaterThan(ThreadPool.shared.parallelRuns - parallelBefore, 100, "the 2-thread run must really split work")
        XCTAssertEqual(one.count, two.count)
        XCTAssertTrue(one == two, "training diverged between thread counts")
        XCTAssertLessThan(one[5], one[0], "loss should fall on repeated batches")
    }

    func testSteadyStateTrainingStepAllocatesNoNewBuffers() throws {
        let model = try TinyGPT(seed: 1)
        let opt = AdamW(parameters: model.parameters)
        let tape = Tape()
        let (ids, tg) = try batch(0, model)
        func step() throws { let l = try model.loss(tape, ids, tg); try tape.backward(l); try opt.step() }
        try step(); try step()
        let misses = BufferPool.shared.misses
        for _ in 0..<3 { try step() }
        XCTAssertEqual(BufferPool.shared.misses, misses, "a repeated step should reuse pooled buffers")
    }

    func testGradientsAccumulateAcrossBackwardCallsUntilZeroed() throws {
        let w = randomTensor([3, 4], seed: 1, requiresGrad: true)
        let x = randomTensor([2, 4], seed: 2)
        let tape = Tape()
        try tape.backward(try tape.sum(tape.linear(x, w)))
        let once = w.grad!.scalars
        try tape.backward(try tape.sum(tape.linear(x, w)))
        assertClose(w.grad!.scalars, once.map { 2 * $0 }, atol: 1e-6)
        w.zeroGrad()
        XCTAssertEqual(w.grad!.scalars, [Float](repeating: 0, count: 12))
    }

    func testIntermediateGradientsAreReleasedAndLeavesKept() throws {
        let w = randomTensor([3, 4], seed: 1, requiresGrad: true)
        let x = randomTensor([2, 4], seed: 2)
        let tape = Tape()
        let h = try tape.linear(x, w)
        try tape.backward(try tape.sum(tape.gelu(h)))
        XCTAssertNil(h.grad)
        XCTAssertNotNil(w.grad)
        XCTAssertNil(x.grad, "inputs without requiresGrad get no gradient")
        XCTAssertEqual(tape.recordCount, 0, "backward resets the tape")
    }

    func testShapeMismatchesThrowNamingOpAndShapes() {
        let tape = Tape()
        let a = randomTensor([2, 3], seed: 1), b = randomTensor([3, 2], seed: 2)
        func expect(_ op: String, _ shapes: [String], _ body: () throws -> Tensor) {
            XCTAssertThrowsError(try body()) { e in
                let text = "\(e)"
                XCTAssertTrue(text.hasPrefix(op), text)
                for s in shapes { XCTAssertTrue(text.contains(s), "\(text) lacks \(s)") }
            }
        }
        expect("add", ["[2, 3]", "[3, 2]"]) { try tape.add(a, b) }
        expect("linear", ["[2, 3]", "[3, 2]"]) { try tape.linear(a, try Tensor.zeros([3, 2])) }
        expect("layerNorm", ["[2, 3]"]) { try tape.layerNorm(a, weight: try Tensor.zeros([4]), bias: nil) }
        expect("causalSelfAttention", ["[2, 3]"]) { try tape.causalSelfAttention(a, heads: 1) }
        expect("crossEntropy", ["[2, 3]", "[3]"]) { try tape.crossEntropy(a, targets: IndexTensor([0, 1, 2])) }
        expect("reshape", ["[2, 3]", "[4, 2]"]) { try tape.reshape(a, [4, 2]) }
    }

    func testBadIndicesEmptyTensorsAndBadArgumentsThrow() throws {
        let tape = Tape()
        let table = randomTensor([4, 3], seed: 1)
        XCTAssertThrowsError(try tape.embedding(table, IndexTensor([0, 4]))) {
            XCTAssertEqual($0 as? TensorError, .indexOutOfRange(op: "embedding", index: 4, bound: 4))
        }
        XCTAssertThrowsError(try tape.crossEntropy(table, targets: IndexTensor([0, -3, 1, 2]))) {
            XCTAssertEqual($0 as? TensorError, .indexOutOfRange(op: "crossEntropy", index: -3, bound: 3))
        }
        XCTAssertThrowsError(try tape.crossEntropy(table, targets: IndexTensor([-1, -1, -1, -1]), ignoreIndex: -1)) {
            XCTAssertTrue("\($0)".contains("every target is ignored"))
        }
        let empty = try Tensor.zeros([0, 3])
        XCTAssertThrowsError(try tape.softmax(empty)) {
            XCTAssertEqual($0 as? TensorError, .emptyTensor(op: "softmax", shape: [0, 3]))
        }
        XCTAssertThrowsError(try tape.causalSelfAttention(randomTensor([1, 2, 12], seed: 1), heads: 3))
        XCTAssertThrowsError(try Tensor(shape: [2, 2], values: [1, 2, 3]))
        XCTAssertThrowsError(try Tensor.zeros([-1, 2]))
    }

    func testNonFiniteLossThrowsAndLeavesGradientsUntouched() throws {
        let w = randomTensor([2, 2], seed: 1, requiresGrad: true)
        let tape = Tape()
        let bad = try tape.log(tape.scale(tape.sum(w), 0))   // log(0) = -inf
        XCTAssertThrowsError(try tape.backward(bad)) { e in
            guard case .nonFinite(let op, _) = e as? TensorError else { return XCTFail("\(e)") }
            XCTAssertEqual(op, "backward")
        }
        XCTAssertNil(w.grad)
        let nan = try Tensor(shape: [2, 2], values: [1, .nan, 0, 1])
        let loss = try tape.crossEntropy(tape.mul(nan, w), targets: IndexTensor([0, 1]))
        XCTAssertTrue(loss.item.isNaN)
        XCTAssertThrowsError(try tape.backward(loss))
    }

    func testOpWithoutGradientRuleFailsLoudlyWithAThrownError() throws {
        let x = randomTensor([3], seed: 1, requiresGrad: true)
        let tape = Tape()
        let y = x.clone()
        tape.custom("argmaxOneHot", inputs: [x], output: y, backward: nil)
        XCTAssertThrowsError(try tape.backward(try tape.sum(y))) {
            XCTAssertEqual($0 as? TensorError, .missingGradientRule(op: "argmaxOneHot"))
        }
        // A custom op with a rule works and accumulates.
        let z = x.clone()
        tape.custom("identity", inputs: [x], output: z) { g, grads in
            ElementwiseKernels.accumulate(g.data, into: grads[0]!.data, count: g.count)
        }
        try tape.backward(try tape.sum(tape.scale(z, 3)))
        XCTAssertEqual(x.grad!.scalars, [3, 3, 3])
    }

    func testNoRecordingModeComputesWithoutRecords() throws {
        let w = randomTensor([3, 4], seed: 1, requiresGrad: true)
        let tape = Tape()
        let y = try tape.withoutRecording { try tape.linear(randomTensor([2, 4], seed: 2), w) }
        XCTAssertEqual(tape.recordCount, 0)
        XCTAssertFalse(y.requiresGrad)
    }
}

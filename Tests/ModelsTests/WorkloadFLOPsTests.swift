import XCTest
@testable import Models

/// The matrix-multiply flops per training step that `superalign bench train` reports GFLOP/s
/// from, against the formulas evaluated by hand.
final class WorkloadFLOPsTests: XCTestCase {
    /// gpt: B = 64, T = 32, C = 128, L = 4, V = 16; N = B·T = 2048, C² = 16,384.
    /// - linear layers per block: 2·N·12·C² = 2 · 2048 · 196,608 = 805,306,368
    /// - attention (Q·Kᵀ and P·V, full T×T): 2·2·B·T²·C = 4 · 64 · 1024 · 128 = 33,554,432
    /// - per block 838,860,800; 4 blocks 3,355,443,200
    /// - LM head: 2·N·C·V = 2 · 2048 · 128 · 16 = 8,388,608
    /// - forward 3,363,831,808; training step 3 × that = 10,091,495,424
    func testBenchmarkGPT() {
        let config = GPTConfig(layers: 4, width: 128, heads: 4, context: 32, vocabulary: 16)
        XCTAssertEqual(WorkloadFLOPs.gptForward(config, batch: 64), 3_363_831_808)
        XCTAssertEqual(WorkloadFLOPs.gptTrainingStep(config, batch: 64), 10_091_495_424)
    }

    /// mlp 784-256-256-10, B = 128:
    /// - Σ in·out = 784·256 + 256·256 + 256·10 = 200,704 + 65,536 + 2,560 = 268,800
    /// - forward 2 · 128 · 268,800 = 68,812,800
    /// - dW of every layer: 68,812,800; dX of layers 2 and 3 only: 2 · 128 · (65,536 + 2,560) = 17,432,576
    /// - training step 2 · 68,812,800 + 17,432,576 = 155,058,176 (= 3 · 68,812,800 − 2 · 128 · 200,704)
    func testBenchmarkMLP() {
        XCTAssertEqual(WorkloadFLOPs.mlpForward(widths: [784, 256, 256, 10], batch: 128), 68_812_800)
        XCTAssertEqual(WorkloadFLOPs.mlpTrainingStep(widths: [784, 256, 256, 10], batch: 128), 155_058_176)
    }

    /// Scaling: linear in the batch; a classification head adds 2·B·C·classes forward
    /// (1 layer, C 8, T 4, V 3, B 2: 2·8·12·64 + 4·2·16·8 + 2·8·8·3 = 12,288 + 1,024 + 384 = 13,696,
    /// plus 2·2·8·5 = 160 for 5 classes); one layer's MLP has no dX term.
    func testSmallShapes() {
        let config = GPTConfig(layers: 1, width: 8, heads: 2, context: 4, vocabulary: 3)
        XCTAssertEqual(WorkloadFLOPs.gptForward(config, batch: 2), 13_696)
        XCTAssertEqual(WorkloadFLOPs.gptForward(config, batch: 6), 3 * 13_696)
        var classifier = config
        classifier.classes = 5
        XCTAssertEqual(WorkloadFLOPs.gptForward(classifier, batch: 2), 13_856)
        XCTAssertEqual(WorkloadFLOPs.mlpTrainingStep(widths: [3, 4], batch: 5), 2 * (2 * 5 * 3 * 4))
        XCTAssertEqual(WorkloadFLOPs.mlpTrainingStep(widths: [7], batch: 5), 0)
    }
}

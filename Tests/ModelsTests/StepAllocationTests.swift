import Tensor
import XCTest
@testable import Models

/// Once a training loop has seen its shapes, a step takes every tensor buffer from the pool:
/// no `malloc` in the GPT or MLP step (forward, backward, AdamW, the last-good-weights copy),
/// with one thread or two.
final class StepAllocationTests: XCTestCase {
    func misses(threads: Int, _ body: () throws -> Void) rethrows -> Int {
        let pool = ThreadPool.shared
        let saved = pool.threadCount
        pool.threadCount = threads
        defer { pool.threadCount = saved }
        let before = BufferPool.shared.misses
        try body()
        return BufferPool.shared.misses - before
    }

    func testGPTStepAllocatesNothingAfterWarmUp() throws {
        let tok = CharTokenizer(corpus: ["0123456789+="])
        let pairs = (0..<64).map { i in PromptCompletion(prompt: "\(i % 10)+\(i / 10)=", completion: "\(i % 10 + i / 10)") }
        for threads in [1, 2] {
            let gpt = try GPT(config: GPTConfig(layers: 2, width: 32, heads: 2, context: 12, vocabulary: tok.vocabularySize), seed: 1)
            // Steps 1–3 warm the pool (and create AdamW's moments); steps 4–8 must not allocate.
            let t = Trainer(parameters: gpt.parameters, noDecay: gpt.noDecayParameters,
                            options: TrainingOptions(steps: 8, batchSize: 16, learningRate: 1e-3, seed: 2))
            var fresh = -1
            var start = 0
            _ = try misses(threads: threads) {
                try t.run(exampleCount: pairs.count, loss: { tape, idx in
                    try gpt.sftLoss(tape, try SequenceBatch(idx.map { pairs[$0] }, tokenizer: tok, context: 12))
                }, progress: { step, _ in
                    if step == 3 { start = BufferPool.shared.misses }
                    if step == 8 { fresh = BufferPool.shared.misses - start }
                })
            }
            XCTAssertEqual(fresh, 0, "buffers allocated in steps 4–8 with \(threads) thread(s)")
        }
    }

    func testMLPStepAllocatesNothingAfterWarmUp() throws {
        let data = (0..<64).map { i in LabeledFeatures(features: [Float(i % 3), 1, -1, Float(i % 5)], label: i % 3) }
        for threads in [1, 2] {
            let mlp = try MLP(config: MLPConfig(widths: [4, 64, 64, 3]), seed: 0)
            let t = Trainer(parameters: mlp.parameters, options: TrainingOptions(steps: 8, batchSize: 16, learningRate: 0.01, seed: 1))
            var start = 0, fresh = -1
            _ = try misses(threads: threads) {
                try t.run(exampleCount: data.count, loss: { tape, idx in
                    let (x, y) = try mlp.batch(idx.map { data[$0] })
                    return try mlp.loss(tape, x, labels: y)
                }, progress: { step, _ in
                    if step == 3 { start = BufferPool.shared.misses }
                    if step == 8 { fresh = BufferPool.shared.misses - start }
                })
            }
            XCTAssertEqual(fresh, 0, "buffers allocated in steps 4–8 with \(threads) thread(s)")
        }
    }
}

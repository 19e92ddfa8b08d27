import XCTest
import Tensor
@testable import Models

final class GenerationTests: XCTestCase {
    private let tok = CharTokenizer(corpus: ["abcdefgh0123456789+="])
    private func model(seed: UInt64 = 11, context: Int = 16) throws -> GPT {
        // Random weights scaled up so the distributions are far from uniform and samples vary.
        let gpt = try GPT(config: GPTConfig(layers: 2, width: 32, heads: 4, context: context, vocabulary: tok.vocabularySize), seed: seed)
        for p in gpt.parameters where p.rank == 2 { for i in 0..<p.count { p.data[i] *= 20 } }
        return gpt
    }

    func testKVCacheGivesTheSameTokensAndLogProbsAsFullRecomputation() throws {
        let gpt = try model()
        let prompts = ["ab", "12+3=", "", "h", "abcdefg0"]
        for (temperature, topK) in [(Float(0), Int?.none), (1, nil), (0.7, 4)] {
            var options = SamplingOptions(maxNewTokens: 10, temperature: temperature, topK: topK, samplesPerPrompt: 3,
                                          stopTokens: [], seed: 5)
            let cached = try gpt.generate(prompts, tokenizer: tok, options: options)
            options.useCache = false
            let full = try gpt.generate(prompts, tokenizer: tok, options: options)
            XCTAssertEqual(cached.count, 15)
            for (a, b) in zip(cached, full) {
                XCTAssertEqual(a.tokens, b.tokens, "T=\(temperature) prompt \(a.promptIndex) sample \(a.sampleIndex)")
                XCTAssertEqual(a.finishReason, b.finishReason)
                XCTAssertEqual(a.tokenLogProbs.count, b.tokenLogProbs.count)
                for (x, y) in zip(a.tokenLogProbs, b.tokenLogProbs) { XCTAssertEqual(x, y, accuracy: 2e-4) }
            }
            // the longest prompt (9 tokens with BOS) fills the 16-position context: 7 more fed, an 8th predicted from position 15
            XCTAssertEqual(cached.filter { $0.promptIndex == 4 }.map(\.finishReason), [.context, .context, .context])
            XCTAssertEqual(cached.first { $0.promptIndex == 4 }!.tokens.count, 8)
        }
    }

    func testSamplingIsSeededAndDoesNotDependOnBatching() throws {
        let gpt = try model()
        let options = SamplingOptions(maxNewTokens: 8, temperature: 1, samplesPerPrompt: 4, stopTokens: [], seed: 9)
        let together = try gpt.generate(["ab", "12+"], tokenizer: tok, options: options)
        let again = try gpt.generate(["ab", "12+"], tokenizer: tok, options: options)
        XCTAssertEqual(together, again)
        var small = options
        small.maxBatchRows = 3
        // streams follow (seed, prompt index, sample index): dropping later prompts changes nothing
        let alone = try gpt.generate(["ab"], tokenizer: tok, options: options)
        XCTAssertEqual(try gpt.generate(["ab", "12+"], tokenizer: tok, options: small).map(\.tokens), together.map(\.tokens))
        XCTAssertEqual(alone.map(\.tokens), together.filter { $0.promptIndex == 0 }.map(\.tokens))
        // samples of one prompt differ from each other (random weights, temperature 1)
        XCTAssertGreaterThan(Set(together.filter { $0.promptIndex == 0 }.map(\.tokens)).count, 1)
        var other = options
        other.seed = 10
        XCTAssertNotEqual(try gpt.generate(["ab", "12+"], tokenizer: tok, options: other).map(\.tokens), together.map(\.tokens))
    }

    func testTopKOneIsGreedyAndStopTokensEndSamples() throws {
        let gpt = try model()
        let greedy = try gpt.generate(["abc"], tokenizer: tok, options: SamplingOptions(maxNewTokens: 6, temperature: 0, stopTokens: []))
        let topOne = try gpt.generate(["abc"], tokenizer: tok,
                                      options: SamplingOptions(maxNewTokens: 6, temperature: 1.5, topK: 1, stopTokens: [], seed: 3))
        XCTAssertEqual(greedy[0].tokens, topOne[0].tokens)
        XCTAssertEqual(greedy[0].finishReason, .length)
        // make the third greedy token a stop token: decoding ends there and keeps it
        let stop = greedy[0].tokens[2]
        let stopped = try gpt.generate(["abc"], tokenizer: tok,
                                       options: SamplingOptions(maxNewTokens: 6, temperature: 0, stopTokens: [stop]))
        let firstStop = greedy[0].tokens.firstIndex(of: stop)!
        XCTAssertEqual(stopped[0].tokens, Array(greedy[0].tokens[...firstStop]))
        XCTAssertEqual(stopped[0].finishReason, .stop)
        XCTAssertEqual(stopped[0].totalLogProb, stopped[0].tokenLogProbs.reduce(0, +), accuracy: 1e-5)
        XCTAssertTrue(stopped[0].tokenLogProbs.allSatisfy { $0 <= 0 })
    }

    func testScoringAGeneratedCompletionReproducesItsLogProbs() throws {
        let gpt = try model()
        let samples = try gpt.generate(["ab", "12+3="], tokenizer: tok,
                                       options: SamplingOptions(maxNewTokens: 6, temperature: 1, samplesPerPrompt: 2, stopTokens: [], seed: 1))
        let pairs = samples.map { PromptCompletion(prompt: ["ab", "12+3="][$0.promptIndex], completion: tok.decode($0.tokens)) }
        // Only samples without special tokens can be written as text; the weights make those the rule.
        let scores = try gpt.logProbabilities(of: pairs, tokenizer: tok, includeEOS: false)
        var compared = 0
        for (s, g) in zip(scores, samples) where g.tokens.allSatisfy({ $0 >= 3 }) {
            XCTAssertEqual(s.tokenLogProbs.count, g.tokenLogProbs.count)
            for (x, y) in zip(s.tokenLogProbs, g.tokenLogProbs) { XCTAssertEqual(x, y, accuracy: 2e-4) }
            compared += 1
        }
        XCTAssertGreaterThan(compared, 0)
    }

    func testSFTLossIsTheMeanNegativeLogProbOfCompletionTokens() throws {
        let gpt = try model()
        let pairs = [PromptCompletion(prompt: "12+3=", completion: "15"), PromptCompletion(prompt: "a", completion: "bcd")]
        let batch = try SequenceBatch(pairs, tokenizer: tok, context: 16)
        XCTAssertEqual(batch.scoredCounts, [3, 4])     // completion + EOS
        let tape = Tape()
        let loss = try gpt.sftLoss(tape, batch).item
        let scores = try gpt.logProbabilities(of: pairs, tokenizer: tok)
        XCTAssertEqual(loss, -(scores[0].total + scores[1].total) / 7, accuracy: 1e-4)
        let differentiable = try gpt.sequenceLogProbabilities(Tape(), batch)
        XCTAssertEqual(differentiable.scalars[0], scores[0].total, accuracy: 1e-4)
        XCTAssertEqual(differentiable.scalars[1], scores[1].total, accuracy: 1e-4)
    }

    func testBadRequestsAreRejectedClearly() throws {
        let gpt = try model(context: 4)
        XCTAssertThrowsError(try gpt.generate(["abcd"], tokenizer: tok, options: SamplingOptions())) {
            XCTAssertTrue("\($0)".contains("prompt 0 has 5 tokens with BOS, the context is 4"), "\($0)")
        }
        XCTAssertThrowsError(try gpt.generate(["a"], tokenizer: tok, options: SamplingOptions(temperature: -1)))
        XCTAssertThrowsError(try gpt.generate(["z"], tokenizer: tok, options: SamplingOptions())) {
            XCTAssertTrue("\($0)".contains("\"z\""), "\($0)")
        }
    }
}

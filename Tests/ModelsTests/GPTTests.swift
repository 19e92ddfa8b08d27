import XCTest
import TestSupport
import Tensor
@testable import Models

final class GPTTests: XCTestCase {
    func testParameterNamesShapesAndCountFollowNanoGPT() throws {
        let gpt = try GPT(config: GPTConfig(layers: 4, width: 128, heads: 4, context: 32, vocabulary: 16), seed: 0)
        XCTAssertEqual(gpt.parameterCount, 799_488)
        let shapes = Dictionary(uniqueKeysWithValues: gpt.namedParameters.map { ($0.name, $0.tensor.shape) })
        XCTAssertEqual(shapes.count, 2 + 4 * 12 + 2)
        XCTAssertEqual(shapes["transformer.wte.weight"], [16, 128])
        XCTAssertEqual(shapes["transformer.wpe.weight"], [32, 128])
        XCTAssertEqual(shapes["transformer.h.3.attn.c_attn.weight"], [384, 128])
        XCTAssertEqual(shapes["transformer.h.3.attn.c_attn.bias"], [384])
        XCTAssertEqual(shapes["transformer.h.0.attn.c_proj.weight"], [128, 128])
        XCTAssertEqual(shapes["transformer.h.0.mlp.c_fc.weight"], [512, 128])
        XCTAssertEqual(shapes["transformer.h.0.mlp.c_proj.weight"], [128, 512])
        XCTAssertEqual(shapes["transformer.h.1.ln_2.bias"], [128])
        XCTAssertEqual(shapes["transformer.ln_f.weight"], [128])
        XCTAssertEqual(gpt.namedParameters.first?.name, "transformer.wte.weight")
        XCTAssertEqual(gpt.noDecayParameters.count, 4 * 8 + 2)
        XCTAssertThrowsError(try GPT(config: GPTConfig(layers: 1, width: 30, heads: 4, context: 8, vocabulary: 5), seed: 0)) {
            XCTAssertTrue("\($0)".contains("not divisible by heads"), "\($0)")
        }
    }

    func testInitialisationIsSeededAndScaledLikeGPT2() throws {
        let config = GPTConfig(layers: 2, width: 64, heads: 4, context: 16, vocabulary: 20)
        let a = try GPT(config: config, seed: 7), b = try GPT(config: config, seed: 7), c = try GPT(config: config, seed: 8)
        XCTAssertEqual(a.tokenEmbedding.scalars, b.tokenEmbedding.scalars)
        XCTAssertNotEqual(a.tokenEmbedding.scalars, c.tokenEmbedding.scalars)
        func std(_ t: Tensor) -> Double {
            let v = t.scalars.map(Double.init)
            let m = v.reduce(0, +) / Double(v.count)
            return (v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(v.count)).squareRoot()
        }
        XCTAssertEqual(std(a.blocks[0].up.weight), 0.02, accuracy: 0.002)
        XCTAssertEqual(std(a.blocks[0].down.weight), 0.02 / 2, accuracy: 0.001)   // 0.02/√(2·2)
        XCTAssertEqual(a.blocks[1].attention.bias!.scalars, [Float](repeating: 0, count: 192))
        XCTAssertEqual(a.finalNorm.weight.scalars, [Float](repeating: 1, count: 64))
    }

    func testCheckpointRoundTripRestoresIdenticalLogitsAndVocabulary() throws {
        let tok = CharTokenizer(corpus: ["0123456789+="])
        let gpt = try GPT(config: GPTConfig(layers: 2, width: 32, heads: 2, context: 12, vocabulary: tok.vocabularySize), seed: 3)
        let url = try TestSupport.temporaryDirectory().appendingPathComponent("gpt.safetensors")
        try gpt.save(to: url, tokenizer: tok)
        let (back, backTok) = try GPT.load(from: url)
        XCTAssertEqual(back.config, gpt.config)
        XCTAssertEqual(backTok, tok)
        let ids = try IndexTensor(shape: [2, 5], values: Array(try tok.encode("12+34", bos: true).dropLast()) + tok.encode("9+9=", bos: true))
        let tape = Tape()
        XCTAssertEqual(try back.logits(tape, ids).scalars, try gpt.logits(tape, ids).scalars)
        let file = try SafeTensors.read(from: url)
        XCTAssertEqual(file.metadata["format"], "pt")
        XCTAssertEqual(file["lm_head.weight"]?.values, gpt.tokenEmbedding.scalars)
        XCTAssertEqual(Set(file.tensors.keys), Set(gpt.namedParameters.map(\.name) + ["lm_head.weight"]))
    }

    func testCheckpointThatDoesNotFitTheConfigNamesTheTensor() throws {
        let gpt = try GPT(config: GPTConfig(layers: 1, width: 16, heads: 2, context: 8, vocabulary: 10), seed: 0)
        let dir = try TestSupport.temporaryDirectory()
        let url = dir.appendingPathComponent("small.safetensors")
        try gpt.save(to: url, tokenizer: nil)
        XCTAssertThrowsError(try GPT.load(from: url, config: GPTConfig(layers: 1, width: 16, heads: 2, context: 9, vocabulary: 10))) {
            XCTAssertEqual("\($0)", "checkpoint \(url.path): tensor 'transformer.wpe.weight': shape [8, 16] in the file, the model expects [9, 16]")
        }
        XCTAssertThrowsError(try GPT.load(from: url, config: GPTConfig(layers: 2, width: 16, heads: 2, context: 8, vocabulary: 10))) {
            XCTAssertTrue("\($0)".contains("tensor 'transformer.h.1.ln_1.weight': missing"), "\($0)")
        }
        // An untied head is not this architecture.
        var doc = gpt.stateDocument(tokenizer: nil)
        doc["lm_head.weight"]!.values[0] += 1
        let untied = dir.appendingPathComponent("untied.safetensors")
        try doc.write(to: untied)
        XCTAssertThrowsError(try GPT.load(from: untied)) {
            XCTAssertTrue("\($0)".contains("tensor 'lm_head.weight': differs from transformer.wte.weight"), "\($0)")
        }
        // A diverged checkpoint is refused by name.
        doc = gpt.stateDocument(tokenizer: nil)
        doc["transformer.h.0.mlp.c_fc.bias"]!.values[3] = .nan
        try doc.write(to: untied)
        XCTAssertThrowsError(try GPT.load(from: untied)) {
            XCTAssertTrue("\($0)".contains("tensor 'transformer.h.0.mlp.c_fc.bias': holds NaN"), "\($0)")
        }
        // A stray tensor is named too.
        doc = gpt.stateDocument(tokenizer: nil)
        doc["extra.weight"] = SafeTensor(shape: [1], values: [0])
        try doc.write(to: untied)
        XCTAssertThrowsError(try GPT.load(from: untied)) {
            XCTAssertTrue("\($0)".contains("tensor 'extra.weight': not a tensor of this model"), "\($0)")
        }
    }

    func testCausalityPaddingAfterASequenceDoesNotChangeItsLogits() throws {
        let gpt = try GPT(config: GPTConfig(layers: 2, width: 32, heads: 4, context: 10, vocabulary: 9), seed: 5)
        let tape = Tape()
        tape.isRecording = false
        let short = try gpt.logits(tape, IndexTensor(shape: [1, 4], values: [1, 3, 4, 5]))
        let padded = try gpt.logits(tape, IndexTensor(shape: [1, 7], values: [1, 3, 4, 5, 0, 0, 8]))
        for i in 0..<(4 * 9) { XCTAssertEqual(short.data[i], padded.data[i], accuracy: 1e-5) }
    }

    func testMLPCheckpointRoundTripAndLayerNames() throws {
        let mlp = try MLP(config: MLPConfig(widths: [5, 7, 3], activation: .gelu), seed: 1)
        XCTAssertEqual(mlp.namedParameters.map(\.name), ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"])
        XCTAssertEqual(mlp.layers[0].weight.shape, [7, 5])
        let url = try TestSupport.temporaryDirectory().appendingPathComponent("mlp.safetensors")
        try mlp.save(to: url)
        guard case let .mlp(back) = try LoadedModel.load(from: url) else { return XCTFail("not an MLP") }
        XCTAssertEqual(back.config, mlp.config)
        XCTAssertEqual(back.parameters.map(\.scalars), mlp.parameters.map(\.scalars))
    }
}

import XCTest
@testable import Models

final class JSONLinesTests: XCTestCase {
    func testPromptCompletionLinesParseAndBlankLinesAreSkipped() throws {
        let text = """
        {"prompt": "12+34=", "completion": "46", "extra": 1}

        {"prompt": "1+1=", "completion": "2"}\r
        {"text": "plain language modelling"}
        """
        let pairs = try JSONLines.promptCompletions(parsing: text)
        XCTAssertEqual(pairs, [PromptCompletion(prompt: "12+34=", completion: "46"),
                               PromptCompletion(prompt: "1+1=", completion: "2"),
                               PromptCompletion(prompt: "", completion: "plain language modelling")])
    }

    func testBadJSONIsReportedWithItsLineNumber() {
        let text = "{\"prompt\":\"a\",\"completion\":\"b\"}\n\n{\"prompt\": \"a\", \n"
        XCTAssertThrowsError(try JSONLines.promptCompletions(parsing: text, source: "d.jsonl")) { error in
            guard case let ModelsError.data(path, line, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, "d.jsonl")
            XCTAssertEqual(line, 3)
            XCTAssertTrue("\(error)".hasPrefix("d.jsonl:3: not valid JSON"), "\(error)")
        }
    }

    func testMissingOrMistypedFieldIsReportedWithItsLineNumber() {
        let missing = "{\"prompt\":\"a\",\"completion\":\"b\"}\n{\"prompt\":\"a\"}\n"
        XCTAssertThrowsError(try JSONLines.promptCompletions(parsing: missing, source: "m.jsonl")) {
            XCTAssertEqual("\($0)", "m.jsonl:2: field \"completion\" is missing")
        }
        let typed = "{\"prompt\":3,\"completion\":\"b\"}"
        XCTAssertThrowsError(try JSONLines.promptCompletions(parsing: typed, source: "t.jsonl")) {
            XCTAssertEqual("\($0)", "t.jsonl:1: field \"prompt\" is not a string")
        }
        let array = "[1,2]"
        XCTAssertThrowsError(try JSONLines.promptCompletions(parsing: array, source: "a.jsonl")) {
            XCTAssertTrue("\($0)".hasPrefix("a.jsonl:1: expected a JSON object"), "\($0)")
        }
        let conversational = #"{"prompt":[{"role":"user","content":"hi"}],"completion":[{"role":"assistant","content":"yo"}]}"#
        XCTAssertThrowsError(try JSONLines.promptCompletions(parsing: conversational, source: "c.jsonl")) {
            XCTAssertTrue("\($0)".contains("conversational"), "\($0)")
        }
    }

    func testLabeledRecordsParseAndCheckWidthAndLabel() throws {
        let rows = try JSONLines.labeledFeatures(parsing: "{\"features\":[1,2.5],\"label\":1}\n{\"features\":[0,0],\"label\":0}")
        XCTAssertEqual(rows, [LabeledFeatures(features: [1, 2.5], label: 1), LabeledFeatures(features: [0, 0], label: 0)])
        XCTAssertThrowsError(try JSONLines.labeledFeatures(parsing: "{\"features\":[1,2],\"label\":1}\n{\"features\":[1],\"label\":0}")) {
            XCTAssertEqual("\($0)", "<input>:2: 1 features, earlier lines have 2")
        }
        XCTAssertThrowsError(try JSONLines.labeledTexts(parsing: "{\"text\":\"a\",\"label\":1.5}")) {
            XCTAssertEqual("\($0)", "<input>:1: field \"label\" is not a non-negative integer")
        }
        XCTAssertEqual(try JSONLines.labeledTexts(parsing: "{\"text\":\"ab\",\"label\":2}"), [LabeledText(text: "ab", label: 2)])
    }

    func testGPTExamplesTakeTheirKindFromTheFirstRecord() throws {
        let classification = "{\"text\":\"good\",\"label\":1}\n{\"text\":\"bad\",\"label\":0}\n"
        XCTAssertEqual(try JSONLines.gptExamples(parsing: classification),
                       .classification([LabeledText(text: "good", label: 1), LabeledText(text: "bad", label: 0)]))
        let completions = "{\"prompt\":\"1+1=\",\"completion\":\"2\"}\n{\"text\":\"lm\"}"
        XCTAssertEqual(try JSONLines.gptExamples(parsing: completions),
                       .completions([PromptCompletion(prompt: "1+1=", completion: "2"), PromptCompletion(prompt: "", completion: "lm")]))
        XCTAssertEqual(try JSONLines.gptExamples(parsing: "\n").count, 0)

        let mixed = "{\"text\":\"good\",\"label\":1}\n\n{\"prompt\":\"a\",\"completion\":\"b\"}\n"
        XCTAssertThrowsError(try JSONLines.gptExamples(parsing: mixed, source: "mixed.jsonl")) {
            XCTAssertTrue("\($0)".hasPrefix("mixed.jsonl:3: field \"label\" is missing (the first record has one"), "\($0)")
        }
        let labelLater = "{\"prompt\":\"a\",\"completion\":\"b\"}\n{\"text\":\"x\",\"label\":0}"
        XCTAssertThrowsError(try JSONLines.gptExamples(parsing: labelLater, source: "later.jsonl")) {
            XCTAssertTrue("\($0)".hasPrefix("later.jsonl:2: has a \"label\" but the first record has none"), "\($0)")
        }
        let badLabel = "{\"text\":\"a\",\"label\":1}\n{\"text\":\"b\",\"label\":-1}"
        XCTAssertThrowsError(try JSONLines.gptExamples(parsing: badLabel, source: "neg.jsonl")) {
            XCTAssertEqual("\($0)", "neg.jsonl:2: field \"label\" is not a non-negative integer")
        }
    }

    func testANewModelsLimitsAreTheDeclaredSizesOrTheBounds() throws {
        // Any character (the vocabulary comes from the data), but the context and the classes are bounded.
        let bounded = JSONLines.ModelLimits.newModel()
        let fits = String(repeating: "z", count: ModelBounds.maximumContext - 1)
        XCTAssertEqual(try JSONLines.labeledTexts(parsing: "{\"text\":\"\(fits)\",\"label\":3}", limits: bounded).count, 1)
        XCTAssertThrowsError(try JSONLines.labeledTexts(parsing: "{\"text\":\"\(fits)z\",\"label\":0}", source: "t.jsonl", limits: bounded)) {
            XCTAssertEqual("\($0)", "t.jsonl:1: needs 1025 positions with the special tokens, more than the maximum context (1024); "
                           + "shorten or split the line")
        }
        XCTAssertThrowsError(try JSONLines.labeledFeatures(parsing: "{\"features\":[1],\"label\":1024}", source: "f.jsonl", limits: bounded)) {
            XCTAssertEqual("\($0)", "f.jsonl:1: label 1024 is over the largest class id a classifier may have (1023); labels are 0…1023")
        }
        let declared = JSONLines.ModelLimits.newModel(context: 3, classes: 2)
        XCTAssertThrowsError(try JSONLines.gptExamples(parsing: "{\"text\":\"a\",\"label\":0}\n{\"text\":\"b\",\"label\":2}",
                                                       source: "d.jsonl", limits: declared)) {
            XCTAssertEqual("\($0)", "d.jsonl:2: label 2 is outside the declared classes (--classes 2: 0…1)")
        }
        XCTAssertThrowsError(try JSONLines.promptCompletions(parsing: "{\"prompt\":\"a\",\"completion\":\"b\"}", source: "p.jsonl",
                                                             limits: declared)) {
            XCTAssertEqual("\($0)", "p.jsonl:1: needs 4 positions with the special tokens, more than --context 3")
        }
    }

    func testAGPTsContextAndClassesAreBounded() throws {
        var config = GPTConfig(layers: 1, width: 8, heads: 2, context: ModelBounds.maximumContext, vocabulary: 4,
                               classes: ModelBounds.maximumClasses)
        XCTAssertNoThrow(try config.validate())
        config.context += 1
        XCTAssertThrowsError(try config.validate()) {
            XCTAssertEqual("\($0)", "invalid model configuration: context 1025 is over the maximum of 1024 positions")
        }
        config.context = 200_002
        XCTAssertThrowsError(try GPT(config: config, seed: 0), "refused before any tensor is allocated")
        config.context = 8
        config.classes += 1
        XCTAssertThrowsError(try config.validate()) {
            XCTAssertEqual("\($0)", "invalid model configuration: 1025 classes are over the maximum of 1024")
        }
    }

    func testModelLimitsNameTheLineTheModelCannotRead() throws {
        let limits = JSONLines.ModelLimits(tokenizer: CharTokenizer(corpus: ["ab"]), context: 4, classes: 2)
        XCTAssertEqual(try JSONLines.labeledTexts(parsing: "{\"text\":\"aba\",\"label\":1}", limits: limits),
                       [LabeledText(text: "aba", label: 1)])
        XCTAssertThrowsError(try JSONLines.labeledTexts(parsing: "{\"text\":\"ab\",\"label\":0}\n{\"text\":\"ac\",\"label\":0}",
                                                        source: "v.jsonl", limits: limits)) {
            XCTAssertEqual("\($0)", "v.jsonl:2: field \"text\" has the character \"c\" (U+63), which is not in the model's vocabulary")
        }
        XCTAssertThrowsError(try JSONLines.gptExamples(parsing: "{\"text\":\"abab\",\"label\":0}", source: "long.jsonl", limits: limits)) {
            XCTAssertEqual("\($0)", "long.jsonl:1: needs 5 positions with the special tokens, the model's context is 4")
        }
        XCTAssertThrowsError(try JSONLines.gptExamples(parsing: "{\"text\":\"a\",\"label\":2}", source: "l.jsonl", limits: limits)) {
            XCTAssertEqual("\($0)", "l.jsonl:1: label 2 is not a class of the model (it has 2: 0…1)")
        }
        // BOS + prompt + completion + EOS must fit: "a" + "b" needs 4.
        XCTAssertEqual(try JSONLines.promptCompletions(parsing: "{\"prompt\":\"a\",\"completion\":\"b\"}", limits: limits).count, 1)
        XCTAssertThrowsError(try JSONLines.promptCompletions(parsing: "{\"prompt\":\"ab\",\"completion\":\"b\"}", source: "p.jsonl",
                                                             limits: limits)) {
            XCTAssertEqual("\($0)", "p.jsonl:1: needs 5 positions with the special tokens, the model's context is 4")
        }
    }

    func testUnreadableFileIsReported() {
        XCTAssertThrowsError(try JSONLines.promptCompletions(from: URL(fileURLWithPath: "/nonexistent/x.jsonl"))) {
            XCTAssertTrue("\($0)".contains("/nonexistent/x.jsonl"), "\($0)")
        }
    }
}

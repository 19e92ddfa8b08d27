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

    func testUnreadableFileIsReported() {
        XCTAssertThrowsError(try JSONLines.promptCompletions(from: URL(fileURLWithPath: "/nonexistent/x.jsonl"))) {
            XCTAssertTrue("\($0)".contains("/nonexistent/x.jsonl"), "\($0)")
        }
    }
}

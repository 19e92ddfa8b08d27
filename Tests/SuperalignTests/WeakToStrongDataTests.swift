import Foundation
import XCTest
@testable import Superalign
import Models
import Tensor
import TestSupport

final class WeakToStrongDataTests: XCTestCase {
    private func csvError(_ text: String, label: String = "y") -> String {
        do {
            _ = try W2SDataLoader.csv(text: text, source: "d.csv", labelColumn: label)
            return "no error"
        } catch { return "\(error)" }
    }

    private func rows(_ n: Int) -> String { (0..<n).map { "\($0),\(Double($0) / 2),\($0 % 2)" }.joined(separator: "\n") }

    func testCSVLoadsStandardisedFeaturesAndLabels() throws {
        let data = try W2SDataLoader.csv(text: "a,b,y\n" + rows(12) + "\n", source: "d.csv", labelColumn: "y")
        XCTAssertEqual(data.examples.count, 12)
        XCTAssertEqual(data.classes, 2)
        XCTAssertEqual(data.examples.map(\.label), (0..<12).map { $0 % 2 })
        let first = (0..<12).map { data.examples[$0].features![0] }
        XCTAssertEqual(first.reduce(0, +) / 12, 0, accuracy: 1e-5)   // centred
        XCTAssertGreaterThan(first[11], first[0])
    }

    func testCSVStringLabelsAndQuotedFieldsAreAccepted() throws {
        let text = "\"x, quoted\",label\n" + (0..<12).map { "\($0),\($0 % 3 == 0 ? "\"yes\"" : "no")" }.joined(separator: "\n")
        let data = try W2SDataLoader.csv(text: text, source: "d.csv", labelColumn: "label")
        XCTAssertEqual(data.classes, 2)
        XCTAssertEqual(data.examples[0].label, 1)   // "no" < "yes"
        XCTAssertEqual(data.examples[1].label, 0)
    }

    func testCSVMissingLabelColumnNamesTheColumns() {
        let e = csvError("a,b,c\n" + rows(12), label: "target")
        XCTAssertEqual(e, "d.csv:1: no column 'target' in the header (columns: a, b, c)")
    }

    func testCSVNonNumericValueNamesLineAndColumn() {
        let e = csvError("a,b,y\n1,2,0\n3,4,1\n5,abc,0\n")
        XCTAssertEqual(e, "d.csv:4: column 'b' value 'abc' is not a finite number")
        XCTAssertEqual(csvError("a,b,y\n1,,0\n"), "d.csv:2: column 'b' is empty")
    }

    func testCSVMalformedRowsNameTheirLine() {
        XCTAssertEqual(csvError("a,b,y\n1,2,0\n\n3,4\n"), "d.csv:4: 2 fields, the header has 3")
        XCTAssertEqual(csvError("a,b,y\n1,\"2,0\n"), "d.csv:2: a quoted field is not closed (fields may not span lines)")
        XCTAssertEqual(csvError(""), "d.csv: the file is empty (no header)")
        XCTAssertTrue(csvError("a,b,y\n" + (0..<12).map { "\($0),1,1" }.joined(separator: "\n")).contains("same label"))
    }

    func testJSONLTextsLoadAndBadLinesNameTheLine() throws {
        let good = (0..<12).map { "{\"text\": \"s\($0)\", \"label\": \($0 % 2)}" }.joined(separator: "\n")
        let data = try W2SDataLoader.jsonl(text: good, source: "t.jsonl")
        XCTAssertEqual(data.examples.count, 12)
        XCTAssertEqual(data.examples[3].text, "s3")
        XCTAssertTrue(data.hasText && !data.hasFeatures)
        func error(_ text: String) -> String {
            do { _ = try W2SDataLoader.jsonl(text: text, source: "t.jsonl"); return "no error" } catch { return "\(error)" }
        }
        XCTAssertEqual(error("{\"text\": \"a\", \"label\": 0}\n{\"text\": \"b\", \"label\": 1\n"), "t.jsonl:2: not valid JSON: {\"text\": \"b\", \"label\": 1")
        XCTAssertEqual(error("{\"text\": \"a\", \"label\": 0}\n\n{\"text\": \"b\"}\n"), "t.jsonl:3: field \"label\" is missing")
        XCTAssertEqual(error("{\"text\": \"a\", \"label\": \"pos\"}"), "t.jsonl:1: field \"label\" is not a non-negative integer")
    }

    func testLoaderRejectsUnknownFormatsAndUnreadableFiles() {
        XCTAssertThrowsError(try W2SDataLoader.load(path: "/nonexistent/x.csv", label: nil)) { e in
            XCTAssertEqual("\(e)", "/nonexistent/x.csv: cannot read the file")
        }
        XCTAssertThrowsError(try W2SDataLoader.load(path: "x.parquet", label: nil)) { e in
            XCTAssertTrue("\(e)".contains(".csv or a .jsonl"))
        }
    }

    func testSplitsAreDisjointAndCoverTheData() throws {
        let data = try W2STasks.make("div3", count: 400, seed: 0)
        let s = try data.split(seed: 1, testFraction: 0.25)
        XCTAssertEqual(s.sizes, ["supervisor": 150, "unlabeled": 150, "test": 100])
        let texts = (s.supervisor + s.unlabeled + s.test).map { $0.text! }
        XCTAssertEqual(Set(texts).count, 400)
        XCTAssertNotEqual(try data.split(seed: 2, testFraction: 0.25).test.map(\.text), s.test.map(\.text))
    }

    func testBuiltinTaskLabelsAreTheArithmeticProperty() throws {
        let carry = try W2STasks.make("carry", count: 300, seed: 0)
        XCTAssertEqual(carry.examples.filter { $0.label == 1 }.count, 150)
        for e in carry.examples {
            let parts = e.text!.dropLast().split(separator: "+").map { Int($0)! }
            XCTAssertEqual(e.label == 1, AdditionTask.carryStatistics(parts[0], parts[1]).carries > 0, e.text!)
            XCTAssertEqual(e.pretrainingText, e.text! + String(String(format: "%04d", parts[0] + parts[1]).reversed()))
            XCTAssertEqual(e.features!.count, 60)
        }
        for e in try W2STasks.make("parity", count: 200, seed: 0).examples {
            XCTAssertEqual(e.label, e.text!.dropLast().compactMap(\.wholeNumberValue).reduce(0, +) % 2)
        }
        let div3 = try W2STasks.make("div3", count: 200, seed: 0)
        XCTAssertEqual(div3.examples.filter { $0.label == 1 }.count, 100)
        for e in div3.examples { XCTAssertEqual(e.label == 1, Int(e.text!.dropLast())! % 3 == 0) }
        XCTAssertThrowsError(try W2STasks.make("sorting"))
    }
}

final class WeakToStrongEndToEndTests: XCTestCase {
    /// A small but complete run: both losses and bootstrap, two seeds, pretrained strong model.
    func testSmallRunReportsSelfConsistentNumbers() throws {
        let config = W2SConfig(task: "carry", taskExamples: 800, weak: [try W2SModelSpec("linear")],
                               strong: [try W2SModelSpec("mlp:32+pretrain")], losses: [.xent, .logconf, .bootstrap],
                               seeds: [0, 1],
                               training: W2STraining(weakSteps: 80, strongSteps: 80, pretrainSteps: 80, batchSize: 32, evalEvery: 20))
        let report = try WeakToStrong.run(config)
        XCTAssertEqual(report.configurations.map(\.loss), ["xent", "logconf", "bootstrap"])
        XCTAssertEqual(report.splitSizes, ["supervisor": 300, "unlabeled": 300, "test": 200])
        for c in report.configurations {
            XCTAssertEqual(c.seeds.map(\.seed), [0, 1])
            for s in c.seeds {
                for acc in [s.weakAccuracy, s.w2sAccuracy, s.strongCeilingAccuracy, s.agreement] {
                    XCTAssertTrue((0...1).contains(acc))
                    XCTAssertEqual(acc * 200, (acc * 200).rounded(), accuracy: 1e-9)   // a count out of 200 test examples
                }
                XCTAssertEqual(s.pgr, PGR.compute(weak: s.weakAccuracy, weakToStrong: s.w2sAccuracy, ceiling: s.strongCeilingAccuracy))
                XCTAssertEqual(s.steps.map(\.step), [20, 40, 60, 80])
                XCTAssertEqual(s.steps.last?.testAccuracy, s.w2sAccuracy)
            }
            XCTAssertEqual(c.medianPGR, PGR.median(c.seeds.map(\.pgr)))
        }
        // The weak model and the ceiling do not depend on the loss.
        let (x, l) = (report.configurations[0].seeds, report.configurations[1].seeds)
        XCTAssertEqual(x.map(\.weakAccuracy), l.map(\.weakAccuracy))
        XCTAssertEqual(x.map(\.strongCeilingAccuracy), l.map(\.strongCeilingAccuracy))
        // Same seed, same numbers.
        var again = config
        again.losses = [.xent]
        XCTAssertEqual(try WeakToStrong.run(again).configurations[0], report.configurations[0])
        let json = try report.jsonText()
        for key in ["\"weak_accuracy\"", "\"w2s_accuracy\"", "\"strong_ceiling_accuracy\"", "\"pgr\"", "\"median_pgr\""] {
            XCTAssertTrue(json.contains(key), key)
        }
        XCTAssertEqual(try JSONDecoder().decode(W2SReport.self, from: Data(json.utf8)), report)
        XCTAssertTrue(report.table().contains("median"))
    }

    func testAGPTSpecOnFeatureOnlyDataIsAClearError() throws {
        let text = "a,b,y\n" + (0..<20).map { "\($0),\($0 * 2),\($0 % 2)" }.joined(separator: "\n")
        let data = try W2SDataLoader.csv(text: text, source: "d.csv", labelColumn: "y")
        let config = W2SConfig(weak: [try W2SModelSpec("gpt:1x16")], seeds: [0],
                               training: W2STraining(weakSteps: 5, strongSteps: 5, pretrainSteps: 5, batchSize: 4, evalEvery: 5))
        XCTAssertThrowsError(try WeakToStrong.run(config, data: data)) { e in
            XCTAssertTrue("\(e)".contains("needs text"), "\(e)")
        }
    }
}

import XCTest
import Superalign
import Tensor
import TestSupport

final class TaskTests: XCTestCase {
    func testAdditionSamplesAreCorrectAndSeeded() throws {
        let task = try TaskCatalog.make("addition", options: ["digits": "3"])
        var a = RandomGenerator(seed: 5), b = RandomGenerator(seed: 5)
        let xs = task.sample(200, &a), ys = task.sample(200, &b)
        XCTAssertEqual(xs, ys)
        for p in xs {
            let parts = p.prompt.dropLast().split(separator: "+").map { Int($0)! }
            XCTAssertEqual(parts.reduce(0, +), Int(p.answer))
            XCTAssertTrue(parts.allSatisfy { $0 < 1000 })
            XCTAssertTrue(task.verify(p, response: p.answer).correct)
        }
    }

    func testAdditionOutOfDistributionHasOneMoreDigit() throws {
        let task = try AdditionTask(digits: 2)
        var rng = RandomGenerator(seed: 1)
        for p in task.sample(100, &rng, from: .outOfDistribution) {
            XCTAssertEqual(p.features["digits"], 3)
        }
    }

    func testCarryFeatures() {
        XCTAssertEqual(AdditionTask.carryStatistics(999, 1).carries, 3)
        XCTAssertEqual(AdditionTask.carryStatistics(999, 1).longestChain, 3)
        XCTAssertEqual(AdditionTask.carryStatistics(19, 19).carries, 1)
        XCTAssertEqual(AdditionTask.carryStatistics(123, 456).carries, 0)
        XCTAssertEqual(AdditionTask.carryStatistics(5090, 5010).longestChain, 1)
        XCTAssertEqual(AdditionTask.carryStatistics(5090, 5010).carries, 2)
    }

    func testVerifyNamesWrongDigitsRightAligned() throws {
        let task = try AdditionTask(digits: 2)
        let p = try XCTUnwrap(task.problem(forPrompt: "47+85="))
        XCTAssertEqual(p.answer, "132")
        let v = task.verify(p, response: "142")
        XCTAssertFalse(v.correct)
        XCTAssertEqual(v.wrongPositions, [2])
        XCTAssertEqual(task.verify(p, response: "32").wrongPositions, [1])
        XCTAssertTrue(task.verify(p, response: " 132\n").correct)
    }

    func testPromptParsingRejectsMalformedQueries() throws {
        let task = try AdditionTask(digits: 2)
        for bad in ["47+85", "4a+1=", "+1=", "1++2=", "007+1=", "1234+1=", ""] {
            XCTAssertNil(task.problem(forPrompt: bad), bad)
        }
        XCTAssertNotNil(task.problem(forPrompt: "100+5="))
    }

    func testMultiplicationAndModular() throws {
        let mul = try TaskCatalog.make("multiplication")
        XCTAssertEqual(mul.problem(forPrompt: "12*34=")?.answer, "408")
        let mod = try TaskCatalog.make("modular", options: ["modulus": "7", "op": "-"])
        XCTAssertEqual(mod.problem(forPrompt: "2-5%7=")?.answer, "4")
        var rng = RandomGenerator(seed: 2)
        for p in mod.sample(50, &rng, from: .outOfDistribution) {
            XCTAssertTrue(mod.verify(p, response: p.answer).correct)
            XCTAssertTrue((0..<7).contains(Int(p.answer)!))
        }
    }

    func testUnknownTaskAndBadOptionsAreClearErrors() {
        XCTAssertThrowsError(try TaskCatalog.make("divison")) { e in
            XCTAssertTrue("\(e)".contains("unknown task 'divison'"), "\(e)")
            XCTAssertTrue("\(e)".contains("addition"), "\(e)")
        }
        XCTAssertThrowsError(try TaskCatalog.make("addition", options: ["digits": "x"])) { e in
            XCTAssertTrue("\(e)".contains("digits"), "\(e)")
        }
        XCTAssertThrowsError(try TaskCatalog.make("addition", options: ["digit": "2"])) { e in
            XCTAssertTrue("\(e)".contains("unknown option 'digit'"), "\(e)")
        }
        XCTAssertThrowsError(try TaskCatalog.make("addition", options: ["digits": "0"]))
    }

    func testJSONLTaskLoadsSplitsAndVerifiesNumerically() throws {
        let url = try TestSupport.writeTemporaryFile(named: "p.jsonl", """
        {"prompt": "2*pi to 2 places?", "answer": "6.28"}
        {"prompt": "half of 3?", "answer": 1.5}

        {"prompt": "ten times ten?", "answer": 100, "split": "ood"}
        """)
        let task = try JSONLTask(path: url.path, numeric: true)
        XCTAssertEqual(task.standard.count, 2)
        XCTAssertEqual(task.ood.count, 1)
        let p = task.standard[1]
        XCTAssertTrue(task.verify(p, response: "1.50").correct)
        XCTAssertFalse(task.verify(p, response: "1.6").correct)
        XCTAssertFalse(task.verify(p, response: "abc").correct)
        var rng = RandomGenerator(seed: 0)
        XCTAssertEqual(task.sample(&rng, from: .outOfDistribution).answer, "100")
    }

    func testJSONLTaskErrorsNameTheLine() throws {
        let cases: [(String, String)] = [
            ("{\"prompt\": \"a\", \"answer\": \"b\"}\n{not json}\n", ":2:"),
            ("{\"prompt\": \"a\"}\n", "answer"),
            ("{\"answer\": \"a\"}\n", "prompt"),
            ("[1,2]\n", "object"),
            ("{\"prompt\": \"a\", \"answer\": \"b\", \"split\": \"test\"}\n", "split"),
        ]
        for (text, expected) in cases {
            let url = try TestSupport.writeTemporaryFile(named: "bad.jsonl", text)
            XCTAssertThrowsError(try JSONLTask(path: url.path)) { e in
                XCTAssertTrue("\(e)".contains(expected), "\(e) should mention \(expected)")
                XCTAssertTrue("\(e)".contains("bad.jsonl"), "\(e)")
            }
        }
        XCTAssertThrowsError(try JSONLTask(path: "/nonexistent/x.jsonl"))
    }
}

import XCTest
import Models
import Tensor
@testable import Superalign
import TestSupport

final class TaskDatasetTests: XCTestCase {
    func testSplitIsSeededDisjointAndCoversTheCatalogsTask() throws {
        let task = try TaskCatalog.make("addition", options: ["digits": "2"])
        let a = TaskDataset(task: task, seed: 3, draws: 2000, oodCount: 50)
        let b = TaskDataset(task: task, seed: 3, draws: 2000, oodCount: 50)
        let c = TaskDataset(task: task, seed: 4, draws: 2000, oodCount: 50)
        XCTAssertEqual(a.train, b.train)
        XCTAssertEqual(a.test, b.test)
        XCTAssertNotEqual(a.train, c.train)
        let trainPrompts = Set(a.train.map(\.prompt))
        XCTAssertEqual(trainPrompts.count, a.train.count, "no repeated prompts")
        XCTAssertTrue(a.test.allSatisfy { !trainPrompts.contains($0.prompt) }, "held-out prompts never trained on")
        XCTAssertEqual(a.test.count, (a.train.count + a.test.count) / 10)
        XCTAssertEqual(a.outOfDistribution.count, 50)
        // The catalog's task defines the problems and their answers.
        XCTAssertTrue(a.train.allSatisfy { task.verify($0, response: $0.answer).correct })
        XCTAssertTrue(a.outOfDistribution.allSatisfy { $0.prompt.split(separator: "+")[0].count == 3 }, "OOD: one more digit")
        XCTAssertEqual(a.trainPairs[0], PromptCompletion(prompt: a.train[0].prompt, completion: a.train[0].answer))
        // The tokenizer and context cover OOD problems too.
        let tokenizer = a.tokenizer
        for p in a.outOfDistributionPairs {
            XCTAssertLessThanOrEqual(try tokenizer.encode(p.prompt + p.completion, bos: true, eos: true).count, a.context)
        }
    }

    func testEveryCatalogTaskGivesTrainingAndHeldOutProblems() throws {
        let file = try TestSupport.writeTemporaryFile(named: "problems.jsonl", """
            {"prompt": "capital of France?", "answer": "Paris"}
            {"prompt": "2*21=", "answer": 42}
            {"prompt": "spell cat", "answer": "c-a-t"}
            """)
        let tasks: [(String, [String: String])] = [("addition", ["digits": "1"]), ("multiplication", [:]),
                                                   ("modular", ["modulus": "13", "op": "*"]), ("jsonl", ["file": file.path])]
        XCTAssertEqual(Set(tasks.map(\.0)), Set(TaskCatalog.tasks.map(\.name)), "this test covers every catalog task")
        for (name, options) in tasks {
            let data = TaskDataset(task: try TaskCatalog.make(name, options: options), seed: 0, draws: 500, oodCount: 10)
            XCTAssertFalse(data.train.isEmpty, name)
            XCTAssertFalse(data.test.isEmpty, name)
            XCTAssertTrue(Set(data.test.map(\.prompt)).isDisjoint(with: data.train.map(\.prompt)), name)
        }
        let small = TaskDataset(task: try TaskCatalog.make("jsonl", options: ["file": file.path]), seed: 0, draws: 500)
        XCTAssertEqual(small.train.count + small.test.count, 3, "duplicates removed")
        XCTAssertEqual(small.test.count, 1, "at least one held out")
    }
}

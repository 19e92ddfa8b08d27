import Foundation
import Models
import TestSupport
import XCTest

/// End-to-end tests of `superalign train`, `eval` and `generate`: they run the built binary
/// (which `swift build --build-tests` builds beside the test bundle) and read its exit status,
/// stdout and stderr.
final class CLITests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = try TestSupport.temporaryDirectory("superalign-cli")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    // MARK: Tasks from the catalog

    func testTrainOnACatalogTaskWithOptionsThenEvalScoresTheSameHeldOutSplit() throws {
        let checkpoint = path("modular.safetensors")
        let taskArguments = ["--task", "modular", "--task-option", "modulus=7", "--task-option", "op=*", "--examples", "1000"]
        let train = try superalign(["train", "--model", "gpt"] + taskArguments + [
            "--steps", "40", "--batch", "16", "--layers", "1", "--width", "16", "--heads", "2",
            "--seed", "5", "--threads", "1", "--out", checkpoint, "--json"])
        XCTAssertEqual(train.status, 0, train.stderr)
        let trained = try train.json()
        XCTAssertEqual(trained["task"] as? String, "modular")
        XCTAssertEqual(trained["task_options"] as? [String: String], ["modulus": "7", "op": "*"])
        // 49 distinct problems: at most 49 drawn, a tenth (4) held out.
        let testCount = try XCTUnwrap(trained["test_count"] as? Int)
        XCTAssertEqual(testCount, 4)
        XCTAssertEqual(trained["train_count"] as? Int, 45)
        XCTAssertNotNil(trained["ood_exact_match"] as? Double)
        // stderr is not a terminal here: plain progress lines with rate, ETA and loss.
        XCTAssertTrue(train.stderr.contains("train 100%|"), train.stderr)
        XCTAssertTrue(train.stderr.contains("it/s, loss="), train.stderr)
        XCTAssertFalse(train.stderr.contains("\r"), "no carriage returns in a log")

        let eval = try superalign(["eval", checkpoint] + taskArguments + ["--seed", "5", "--json"])
        XCTAssertEqual(eval.status, 0, eval.stderr)
        let evaluated = try eval.json()
        XCTAssertEqual(evaluated["count"] as? Int, testCount)
        XCTAssertEqual(evaluated["exact_match"] as? Double, trained["test_exact_match"] as? Double)
        XCTAssertEqual(evaluated["loss"] as? Double, trained["test_loss"] as? Double)
        XCTAssertEqual(evaluated["ood_exact_match"] as? Double, trained["ood_exact_match"] as? Double)
    }

    func testTaskErrorsNameTheTaskAndTheOption() throws {
        let common = ["train", "--model", "gpt", "--steps", "1", "--out", path("x.safetensors")]
        let badOption = try superalign(common + ["--task", "addition", "--task-option", "base=3"])
        XCTAssertNotEqual(badOption.status, 0)
        XCTAssertTrue(badOption.stderr.contains("addition: unknown option 'base' (allowed: digits)"), badOption.stderr)
        let unknown = try superalign(common + ["--task", "subtraction"])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.stderr.contains("unknown task 'subtraction' (known: addition, multiplication, modular, jsonl)"),
                      unknown.stderr)
        let featureTask = try superalign(common + ["--task", "blobs"])
        XCTAssertNotEqual(featureTask.status, 0)
        XCTAssertTrue(featureTask.stderr.contains("task blobs is feature data, for an MLP"), featureTask.stderr)
        let notKeyValue = try superalign(common + ["--task", "addition", "--task-option", "digits"])
        XCTAssertTrue(notKeyValue.stderr.contains("--task-option 'digits' is not KEY=VALUE"), notKeyValue.stderr)
    }

    func testMLPTrainsOnTheBlobsFeatureTask() throws {
        let run = try superalign(["train", "--model", "mlp", "--task", "blobs", "--steps", "60", "--hidden", "16",
                                  "--lr", "0.01", "--out", path("mlp.safetensors"), "--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        XCTAssertGreaterThan(try XCTUnwrap(run.json()["test_accuracy"] as? Double), 0.8)
        let eval = try superalign(["eval", path("mlp.safetensors"), "--task", "blobs", "--json"])
        XCTAssertEqual(eval.status, 0, eval.stderr)
        XCTAssertEqual(try eval.json()["accuracy"] as? Double, try run.json()["test_accuracy"] as? Double)
    }

    // MARK: GPT text classification

    /// Texts of one repeated letter, labelled by the letter: separable from the last token alone.
    private func letterTexts(_ lengths: [Int]) -> String {
        var lines: [String] = []
        for n in lengths {
            for (letter, label) in [("a", 0), ("b", 1), ("c", 2)] {
                lines.append("{\"text\":\"\(String(repeating: letter, count: n))\",\"label\":\(label)}")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    func testGPTClassifierTrainsFromTextLabelJSONLAndEvalReportsAccuracy() throws {
        let trainFile = try write("letters.jsonl", letterTexts([1, 3, 5, 7, 8]))
        let checkpoint = path("letters.safetensors")
        let train = try superalign(["train", "--model", "gpt", "--data", trainFile, "--steps", "60", "--batch", "12",
                                    "--lr", "0.01", "--layers", "1", "--width", "16", "--heads", "2", "--threads", "1",
                                    "--out", checkpoint, "--json"])
        XCTAssertEqual(train.status, 0, train.stderr)
        let trained = try train.json()
        XCTAssertEqual(trained["head"] as? String, "classification")
        XCTAssertEqual(trained["classes"] as? Int, 3)
        let first = try XCTUnwrap(trained["first_loss"] as? Double), last = try XCTUnwrap(trained["final_loss"] as? Double)
        XCTAssertLessThan(last, first / 2, "the loss goes down")
        XCTAssertGreaterThan(try XCTUnwrap(trained["train_accuracy"] as? Double), 0.9)

        // The checkpoint records the classes (and the vocabulary).
        let (gpt, tokenizer) = try GPT.load(from: URL(fileURLWithPath: checkpoint))
        XCTAssertEqual(gpt.config.classes, 3)
        XCTAssertEqual(gpt.config.context, 9, "BOS + the longest text")
        XCTAssertEqual(tokenizer?.characters, ["a", "b", "c"])

        // Held out: lengths never seen in training.
        let evalFile = try write("letters-eval.jsonl", letterTexts([2, 4, 6]))
        let eval = try superalign(["eval", checkpoint, "--data", evalFile, "--json"])
        XCTAssertEqual(eval.status, 0, eval.stderr)
        let evaluated = try eval.json()
        XCTAssertEqual(evaluated["head"] as? String, "classification")
        XCTAssertEqual(evaluated["count"] as? Int, 9)
        XCTAssertGreaterThan(try XCTUnwrap(evaluated["accuracy"] as? Double), 0.9, "well above chance (1/3)")
        XCTAssertLessThan(try XCTUnwrap(evaluated["loss"] as? Double), log(3.0))
        let text = try superalign(["eval", checkpoint, "--data", evalFile])
        XCTAssertTrue(text.stdout.contains("accuracy: "), text.stdout)

        // Data the classifier cannot read is reported with its line.
        let unknownCharacter = try write("bad-char.jsonl", "{\"text\":\"ab\",\"label\":0}\n{\"text\":\"abz\",\"label\":1}\n")
        let badChar = try superalign(["eval", checkpoint, "--data", unknownCharacter])
        XCTAssertNotEqual(badChar.status, 0)
        XCTAssertTrue(badChar.stderr.contains("bad-char.jsonl:2: field \"text\" has the character \"z\""), badChar.stderr)
        let unknownClass = try write("bad-class.jsonl", "{\"text\":\"ab\",\"label\":3}\n")
        let badClass = try superalign(["eval", checkpoint, "--data", unknownClass])
        XCTAssertTrue(badClass.stderr.contains("bad-class.jsonl:1: label 3 is not a class of the model"), badClass.stderr)
        let withTask = try superalign(["eval", checkpoint, "--task", "addition"])
        XCTAssertTrue(withTask.stderr.contains("is a text classifier (3 classes)"), withTask.stderr)
        let taskFromClassifier = try superalign(["train", "--model", "gpt", "--task", "addition", "--init", checkpoint,
                                                 "--steps", "1", "--out", path("no.safetensors")])
        XCTAssertNotEqual(taskFromClassifier.status, 0)
        XCTAssertTrue(taskFromClassifier.stderr.contains("is a text classifier (3 classes); a task trains a language model"),
                      taskFromClassifier.stderr)
    }

    func testGenerateOnAClassifierCheckpointIsAClearError() throws {
        let checkpoint = path("classifier.safetensors")
        let train = try superalign(["train", "--model", "gpt", "--data", try write("c.jsonl", letterTexts([1, 2])), "--steps", "1",
                                    "--layers", "1", "--width", "8", "--heads", "2", "--out", checkpoint])
        XCTAssertEqual(train.status, 0, train.stderr)
        let generate = try superalign(["generate", checkpoint, "--prompt", "a"])
        XCTAssertNotEqual(generate.status, 0)
        XCTAssertTrue(generate.stderr.contains("is a text classifier (3 classes), not a language model: it cannot generate text"),
                      generate.stderr)
        XCTAssertEqual(generate.stdout, "")
    }

    func testABadJSONLLineIsReportedWithItsLineNumber() throws {
        let file = try write("broken.jsonl", """
            {"prompt": "1+1=", "completion": "2"}

            {"prompt": "2+2=", "completion": 4}
            """)
        let run = try superalign(["train", "--model", "gpt", "--data", file, "--steps", "1", "--out", path("b.safetensors")])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.stderr.contains("broken.jsonl:3: field \"completion\" is not a string"), run.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("b.safetensors")), "nothing written")

        let mixed = try write("mixed.jsonl", "{\"text\":\"a\",\"label\":0}\n{\"text\":\"b\"}\n")
        let mixedRun = try superalign(["train", "--model", "gpt", "--data", mixed, "--steps", "1", "--out", path("m.safetensors")])
        XCTAssertTrue(mixedRun.stderr.contains("mixed.jsonl:2: field \"label\" is missing"), mixedRun.stderr)
    }

    func testPromptCompletionTrainingEvalAndGenerateStillWork() throws {
        var lines: [String] = []
        for a in 0..<5 { for b in 0..<5 { lines.append("{\"prompt\":\"\(a)+\(b)=\",\"completion\":\"\(a + b)\"}") } }
        let data = try write("sums.jsonl", lines.joined(separator: "\n"))
        let checkpoint = path("sums.safetensors")
        let train = try superalign(["train", "--model", "gpt", "--data", data, "--steps", "30", "--batch", "8", "--layers", "1",
                                    "--width", "16", "--heads", "2", "--out", checkpoint, "--json"])
        XCTAssertEqual(train.status, 0, train.stderr)
        XCTAssertNil(try train.json()["head"], "a language model has no classification head")
        let eval = try superalign(["eval", checkpoint, "--data", data, "--json"])
        XCTAssertEqual(eval.status, 0, eval.stderr)
        XCTAssertEqual(try eval.json()["count"] as? Int, 25)
        XCTAssertNotNil(try eval.json()["exact_match"] as? Double)
        let generate = try superalign(["generate", checkpoint, "--prompt", "1+2=", "--temperature", "0", "--max-tokens", "3", "--json"])
        XCTAssertEqual(generate.status, 0, generate.stderr)
        XCTAssertEqual((try generate.json()["samples"] as? [Any])?.count, 1)
    }

    // MARK: Helpers

    private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    private func write(_ name: String, _ text: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String

        /// stdout as one JSON object.
        func json() throws -> [String: Any] {
            let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8))
            return try XCTUnwrap(object as? [String: Any], "stdout is not a JSON object: \(stdout)")
        }
    }

    /// Runs the built `superalign` binary; stdout and stderr go through files, so a chatty
    /// command can never fill a pipe and block.
    private func superalign(_ arguments: [String]) throws -> Result {
        let process = Process()
        process.executableURL = try Self.binary()
        process.arguments = arguments
        let out = directory.appendingPathComponent("stdout-\(UUID().uuidString)")
        let err = directory.appendingPathComponent("stderr-\(UUID().uuidString)")
        try Data().write(to: out)
        try Data().write(to: err)
        let outHandle = try FileHandle(forWritingTo: out), errHandle = try FileHandle(forWritingTo: err)
        process.standardOutput = outHandle
        process.standardError = errHandle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try outHandle.close()
        try errHandle.close()
        return Result(status: process.terminationStatus,
                      stdout: try String(contentsOf: out, encoding: .utf8), stderr: try String(contentsOf: err, encoding: .utf8))
    }

    struct MissingBinary: Error, CustomStringConvertible {
        var folders: [String]
        var description: String { "no superalign binary beside the test bundle (looked in \(folders)); build the package first" }
    }

    /// The `superalign` executable in the build products folder that holds this test bundle.
    private static func binary() throws -> URL {
        var folders = [Bundle(for: CLITests.self).bundleURL, Bundle(for: CLITests.self).bundleURL.deletingLastPathComponent()]
        #if os(Linux)
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            folders.insert(URL(fileURLWithPath: exe).deletingLastPathComponent(), at: 0)
        }
        #endif
        for folder in folders {
            let candidate = folder.appendingPathComponent("superalign")
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue,
               FileManager.default.isExecutableFile(atPath: candidate.path) {
                return candidate
            }
        }
        throw MissingBinary(folders: folders.map(\.path))
    }
}

// MARK: - Bounded context and declared classes

extension CLITests {
    /// A 200,000-character line once sized a GPT's context (and its attention matrices: 20 GB)
    /// before anything checked it. Now the context is bounded (`--context`, else the longest
    /// line up to `ModelBounds.maximumContext`) and the line is an error naming the file and the
    /// line, reported at once.
    func testA200000CharacterLineIsAClearErrorNotAHugeAllocation() throws {
        let long = String(repeating: "a", count: 200_000)
        let classified = try write("long.jsonl", letterTexts([1, 2]) + "{\"text\":\"\(long)\",\"label\":1}\n")
        let started = Date()
        let train = try superalign(["train", "--model", "gpt", "--data", classified, "--steps", "1", "--out", path("long.safetensors")])
        XCTAssertEqual(train.status, 1, train.stderr)
        XCTAssertTrue(train.stderr.contains("long.jsonl:7: needs 200001 positions with the special tokens, "
                                            + "more than the maximum context (\(ModelBounds.maximumContext))"), train.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("long.safetensors")), "nothing written")

        // Prompt/completion data, and an explicit --context.
        let pairs = try write("long-lm.jsonl", "{\"prompt\":\"1+1=\",\"completion\":\"2\"}\n{\"prompt\":\"\(long)\",\"completion\":\"x\"}\n")
        let lm = try superalign(["train", "--model", "gpt", "--data", pairs, "--steps", "1", "--out", path("lm.safetensors")])
        XCTAssertTrue(lm.stderr.contains("long-lm.jsonl:2: needs 200003 positions"), lm.stderr)
        let declared = try superalign(["train", "--model", "gpt", "--data", pairs, "--context", "6", "--steps", "1",
                                       "--out", path("lm.safetensors")])
        XCTAssertTrue(declared.stderr.contains("long-lm.jsonl:1: needs 7 positions with the special tokens, more than --context 6"),
                      declared.stderr)
        let tooLarge = try superalign(["train", "--model", "gpt", "--data", pairs, "--context", "200003", "--steps", "1",
                                       "--out", path("lm.safetensors")])
        XCTAssertEqual(tooLarge.status, 64, "a usage error")
        XCTAssertTrue(tooLarge.stderr.contains("--context must be 1…\(ModelBounds.maximumContext), got 200003"), tooLarge.stderr)

        // Weak-to-strong and a campaign task read user text too.
        let w2s = try superalign(["w2s", "--data", classified, "--weak", "gpt:1x8", "--strong", "gpt:1x8", "--seeds", "1"])
        XCTAssertNotEqual(w2s.status, 0)
        XCTAssertTrue(w2s.stderr.contains("long.jsonl:7: needs 200001 positions"), w2s.stderr)
        let problems = try write("long-task.jsonl", "{\"prompt\":\"1+1=\",\"answer\":\"2\"}\n{\"prompt\":\"\(long)\",\"answer\":\"2\"}\n")
        let task = try superalign(["train", "--model", "gpt", "--task", "jsonl", "--task-option", "file=\(problems)", "--steps", "1",
                                   "--out", path("task.safetensors")])
        XCTAssertNotEqual(task.status, 0)
        XCTAssertTrue(task.stderr.contains("long-task.jsonl:2: prompt and answer are 200001 characters"), task.stderr)

        XCTAssertLessThan(Date().timeIntervalSince(started), 20, "every error comes at once")
        #if os(Linux)
        var usage = rusage()
        XCTAssertEqual(getrusage(__rusage_who_t(RUSAGE_CHILDREN.rawValue), &usage), 0)
        XCTAssertLessThan(usage.ru_maxrss, 2 << 20, "no child ever held 2 GB (ru_maxrss is in KiB on Linux)")
        #endif
    }

    /// Labels must be classes of the classifier: the declared `--classes`, a checkpoint's, or (when
    /// derived from the data) below `ModelBounds.maximumClasses`. Anything else is an error naming
    /// the file, the line and the label, for GPT and MLP classifiers, JSONL and CSV.
    func testALabelOutsideTheClassesNamesTheFileTheLineAndTheLabel() throws {
        let texts = try write("labels.jsonl", letterTexts([1]) + "{\"text\":\"ab\",\"label\":5}\n")
        let declared = try superalign(["train", "--model", "gpt", "--data", texts, "--classes", "3", "--steps", "1",
                                       "--out", path("c.safetensors")])
        XCTAssertEqual(declared.status, 1)
        XCTAssertTrue(declared.stderr.contains("labels.jsonl:4: label 5 is outside the declared classes (--classes 3: 0…2)"),
                      declared.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("c.safetensors")), "nothing written")

        // Derived classes are bounded: one stray label cannot size a head of 10^9 rows.
        let stray = try write("stray.jsonl", letterTexts([1]) + "{\"text\":\"ab\",\"label\":1000000000}\n")
        let derived = try superalign(["train", "--model", "gpt", "--data", stray, "--steps", "1", "--out", path("c.safetensors")])
        XCTAssertTrue(derived.stderr.contains("stray.jsonl:4: label 1000000000 is over the largest class id a classifier may have "
                                              + "(\(ModelBounds.maximumClasses - 1))"), derived.stderr)

        // With --classes, a class no line uses is still a class.
        let wide = try superalign(["train", "--model", "gpt", "--data", try write("ok.jsonl", letterTexts([1, 2])), "--classes", "5",
                                   "--steps", "1", "--layers", "1", "--width", "8", "--heads", "2",
                                   "--out", path("wide.safetensors"), "--json"])
        XCTAssertEqual(wide.status, 0, wide.stderr)
        XCTAssertEqual(try wide.json()["classes"] as? Int, 5)
        let disagree = try superalign(["train", "--model", "gpt", "--data", try write("ok2.jsonl", letterTexts([1])), "--classes", "3",
                                       "--init", path("wide.safetensors"), "--steps", "1", "--out", path("x.safetensors")])
        XCTAssertTrue(disagree.stderr.contains("--classes 3 disagrees with"), disagree.stderr)

        // MLP: training and evaluation.
        let features = try write("features.jsonl", "{\"features\":[0,1],\"label\":0}\n{\"features\":[1,0],\"label\":1}\n"
                                    + "{\"features\":[1,1],\"label\":2}\n")
        let mlp = try superalign(["train", "--model", "mlp", "--data", features, "--classes", "2", "--steps", "1", "--hidden", "4",
                                  "--out", path("m.safetensors")])
        XCTAssertTrue(mlp.stderr.contains("features.jsonl:3: label 2 is outside the declared classes (--classes 2: 0…1)"), mlp.stderr)
        let trained = try superalign(["train", "--model", "mlp", "--data", features, "--steps", "1", "--hidden", "4",
                                      "--out", path("m.safetensors")])
        XCTAssertEqual(trained.status, 0, trained.stderr)
        let badEval = try write("features-eval.jsonl", "{\"features\":[0,1],\"label\":0}\n{\"features\":[1,0],\"label\":3}\n")
        let eval = try superalign(["eval", path("m.safetensors"), "--data", badEval])
        XCTAssertNotEqual(eval.status, 0)
        XCTAssertTrue(eval.stderr.contains("features-eval.jsonl:2: label 3 is not a class of the model (it has 3: 0…2)"), eval.stderr)

        // Weak-to-strong CSV: integer labels are class ids, bounded too.
        var csv = "x,label\n"
        for i in 0..<20 { csv += "\(i),\(i % 2)\n" }
        csv += "3,5000\n"
        let w2s = try superalign(["w2s", "--data", try write("w2s.csv", csv), "--seeds", "1"])
        XCTAssertNotEqual(w2s.status, 0)
        XCTAssertTrue(w2s.stderr.contains("w2s.csv:22: label 5000 (column 'label') is over the largest class id"), w2s.stderr)
    }
}

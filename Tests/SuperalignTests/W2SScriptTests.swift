import Foundation
import GRDB
import XCTest
import LuaHost
@testable import Superalign
import TestSupport

/// `w2s{…}` in campaign scripts: parsing and its errors.
final class W2SScriptParsingTests: XCTestCase {
    func writeScript(_ text: String, files: [String: String] = [:]) throws -> URL {
        let dir = try TestSupport.temporaryDirectory()
        for (name, contents) in files { try Data(contents.utf8).write(to: dir.appendingPathComponent(name)) }
        let url = dir.appendingPathComponent("experiment.lua")
        try Data(text.utf8).write(to: url)
        return url
    }

    func loadW2S(_ text: String, files: [String: String] = [:]) throws -> W2SExperiment {
        let experiments = try CampaignScript.loadExperiments(file: try writeScript(text, files: files))
        guard experiments.count == 1, case .w2s(let e) = experiments[0] else {
            throw CampaignError.invalid("expected one w2s experiment, got \(experiments)")
        }
        return e
    }

    func testEveryFieldIsRead() throws {
        let e = try loadW2S("""
            return w2s{
              name = "gpt-pair", task = "parity", examples = 600, digits = 3,
              weak = "gpt:1x16", strong = { "gpt:2x32+pretrain", "mlp:64x2+pretrain" },
              loss = { "logconf", "bootstrap" }, via = "mlp:16+pretrain", seeds = { 4, 9 },
              test_fraction = 0.3, supervisor_fraction = 0.4,
              weak_steps = 11, strong_steps = 12, pretrain_steps = 13, batch = 14, lr = 0.002, eval_every = 3,
              alpha = 0.25, alpha_warmup = 0.5, soft_labels = true,
            }
            """)
        let expected = W2SConfig(
            task: "parity", taskExamples: 600, taskDigits: 3,
            weak: [try W2SModelSpec("gpt:1x16")], strong: [try W2SModelSpec("gpt:2x32+pretrain"), try W2SModelSpec("mlp:64,64+pretrain")],
            losses: [.logconf, .bootstrap], intermediates: [try W2SModelSpec("mlp:16+pretrain")], seeds: [4, 9],
            testFraction: 0.3, supervisorFraction: 0.4, confidence: ConfidenceWarmup(finalAlpha: 0.25, warmupFraction: 0.5),
            softLabels: true,
            training: W2STraining(weakSteps: 11, strongSteps: 12, pretrainSteps: 13, batchSize: 14, learningRate: 0.002, evalEvery: 3))
        XCTAssertEqual(e.name, "gpt-pair")
        XCTAssertEqual(e.config, expected)
    }

    func testDefaultsMatchTheCommandLine() throws {
        let e = try loadW2S(#"return w2s{ task = "carry" }"#)
        XCTAssertEqual(e.name, "w2s")
        // `superalign w2s --task carry` with no other option.
        XCTAssertEqual(e.config, W2SConfig(task: "carry"))
        XCTAssertEqual(e.config.seeds, [0, 1, 2])
        XCTAssertEqual(try loadW2S(#"return w2s{ task = "carry", seeds = 2 }"#).config.seeds, [0, 1])
    }

    func testDataFilesResolveUnderTheScriptsFolder() throws {
        let url = try writeScript(#"return w2s{ data = "d.csv", label = "y" }"#, files: ["d.csv": "a,y\n1,0\n"])
        guard case .w2s(let e) = try CampaignScript.loadExperiments(file: url)[0] else { return XCTFail("not a w2s experiment") }
        XCTAssertEqual(e.config.dataPath, url.deletingLastPathComponent().appendingPathComponent("d.csv").standardizedFileURL.path)
        XCTAssertEqual(e.config.labelColumn, "y")
        XCTAssertNil(e.config.task)
    }

    func testErrorsNameTheField() throws {
        let cases: [(String, String)] = [
            (#"return w2s{ task = "carry", wek = "linear" }"#, "experiment.lua.wek: unknown field"),
            (#"return w2s{ task = "carry", seeds = "3" }"#, "experiment.lua.seeds: expected a count or a list of seeds, got string"),
            (#"return w2s{ task = "carry", seeds = { 1, -2 } }"#, "seeds[2]: expected a non-negative integer"),
            (#"return w2s{ task = "carry", seeds = 0 }"#, "seeds: 0 is outside"),
            (#"return w2s{ task = "carry", weak_steps = "many" }"#, "weak_steps: expected an integer, got string"),
            (#"return w2s{ task = "carry", lr = true }"#, "lr: expected a number, got boolean"),
            (#"return w2s{ task = "carry", soft_labels = 1 }"#, "soft_labels: expected a boolean, got number"),
            (#"return w2s{ task = "carry", weak = { "linear", 4 } }"#, "weak[2]: expected a string, got number"),
            (#"return w2s{ task = "carry", strong = "mlp:0" }"#, "strong: bad model spec 'mlp:0'"),
            (#"return w2s{ task = "carry", loss = "hinge" }"#, "loss: 'hinge' is not a loss"),
            (#"return w2s{ task = "addition" }"#, "task: 'addition' is not a built-in task"),
            (#"return w2s{ }"#, "give exactly one of task"),
            (#"return w2s{ task = "carry", data = "d.csv" }"#, "give exactly one of task"),
            (#"return w2s{ data = "../d.csv" }"#, "data: '../d.csv' is outside the campaign's folder"),
            (#"return w2s{ data = "d.csv", digits = 3 }"#, "digits: applies to built-in tasks only"),
            (#"return w2s{ task = "carry", label = "y" }"#, "label: applies to data files only"),
            (#"return w2s{ task = "carry", name = "a/b" }"#, "cannot name a run directory"),
            (#"return w2s("carry")"#, "w2s{...} expects a table"),
            (#"return { w2s{ task = "carry" }, w2s{ task = "div3" } }"#, "would share the run directory 'w2s'"),
            (#"return { w2s{ task = "carry" }, { task = "div3" } }"#, "entry 2 is not a campaign{...} or w2s{...}"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try CampaignScript.loadExperiments(file: try writeScript(text)), text) { e in
                XCTAssertTrue("\(e)".contains(expected), "\(text): '\(e)' should mention '\(expected)'")
            }
        }
    }

    func testCampaignsAndW2SMixInOneSweepInOrder() throws {
        let url = try writeScript("""
            return {
              campaign{ name = "loop", seed = 5 },
              w2s{ name = "carry-w2s", task = "carry" },
            }
            """)
        let experiments = try CampaignScript.loadExperiments(file: url, seedOverride: 8)
        XCTAssertEqual(experiments.map(\.runName), ["loop-seed8", "carry-w2s"])
        guard case .w2s(let e) = experiments[1] else { return XCTFail("second entry should be w2s") }
        XCTAssertEqual(e.config.seeds, [8], "--seed runs a w2s experiment on that one seed")
        // `load` is for campaign-only scripts and says why it refuses this one.
        XCTAssertThrowsError(try CampaignScript.load(file: url)) { e in
            XCTAssertTrue("\(e)".contains("entry 2 is a w2s{...}"), "\(e)")
        }
    }
}

/// A weak-to-strong experiment from a script into a run directory: the run store's rows,
/// continuing an interrupted run, status and export.
final class W2SRunStoreTests: XCTestCase {
    /// Tiny: a linear supervisor, a pretrained GPT classifier and a pretrained MLP as students.
    static let tinyScript = """
        return w2s{
          name = "tiny-w2s", task = "carry", digits = 2, examples = 400,
          weak = "linear", strong = { "gpt:1x16+pretrain", "mlp:32+pretrain" }, loss = "xent", seeds = 2,
          weak_steps = 40, strong_steps = 20, pretrain_steps = 20, batch = 16, eval_every = 5,
        }
        """

    func runTiny() throws -> (dir: URL, experiment: W2SExperiment, report: W2SReport) {
        let folder = try TestSupport.temporaryDirectory()
        let url = folder.appendingPathComponent("tiny.lua")
        try Data(Self.tinyScript.utf8).write(to: url)
        guard case .w2s(let experiment) = try CampaignScript.loadExperiments(file: url)[0] else {
            throw CampaignError.invalid("tiny.lua should declare a w2s experiment")
        }
        let dir = folder.appendingPathComponent("run")
        let report = try W2SRunDirectory.run(experiment.config, name: experiment.name, in: dir)
        return (dir, experiment, report)
    }

    func testAScriptRunWritesEveryResultAndItsCurveToTheStore() throws {
        let (dir, _, report) = try runTiny()
        XCTAssertEqual(report.configurations.map(\.strong), ["gpt:1x16+pretrain", "mlp:32+pretrain"])
        let store = try RunStore(url: dir.appendingPathComponent("run.sqlite"))
        XCTAssertEqual(try store.kind(), .w2s)
        XCTAssertEqual(try store.config()?.runID, "tiny-w2s")

        let rows = try store.db.read { db in try Row.fetchAll(db, sql: "SELECT * FROM w2s_results ORDER BY strong, seed") }
        XCTAssertEqual(rows.count, 4, "2 students × 2 seeds")
        for row in rows {
            let (w, s, c): (Double, Double, Double) = (row["weak_accuracy"], row["w2s_accuracy"], row["strong_ceiling_accuracy"])
            let pgr: Double? = row["pgr"]
            // PGR recomputed from the stored accuracies is the stored PGR (NULL exactly when undefined).
            if c > w {
                XCTAssertEqual(try XCTUnwrap(pgr), (s - w) / (c - w), accuracy: 1e-12)
            } else {
                XCTAssertNil(pgr)
            }
            let key = W2SResultKey(weak: row["weak"], strong: row["strong"], loss: row["loss"], seed: UInt64(row["seed"] as Int64))
            let expected = try XCTUnwrap(report.configurations.first { $0.strong == key.strong }?.seeds.first { $0.seed == key.seed })
            XCTAssertEqual(w, expected.weakAccuracy)
            XCTAssertEqual(s, expected.w2sAccuracy)
            XCTAssertEqual(row["test_size"] as Int, 100)
            // The curve: one row per evaluation step; the best PGR is its maximum.
            let curve = try store.db.read { db in
                try Row.fetchAll(db, sql: "SELECT step, test_accuracy, pgr FROM w2s_steps WHERE weak = ? AND strong = ? AND loss = ? AND seed = ? ORDER BY step",
                                 arguments: [key.weak, key.strong, key.loss, Int64(key.seed)])
            }
            XCTAssertEqual(curve.map { $0["step"] as Int }, [5, 10, 15, 20])
            XCTAssertEqual(curve.last?["test_accuracy"] as Double?, s)
            let best = curve.compactMap { $0["pgr"] as Double? }.max()
            XCTAssertEqual(row["best_pgr"] as Double?, best)
        }

        // What the store reads back is the report, and so are results.json and metrics.jsonl.
        let (fromStore, stored, expected) = try W2SRunDirectory.report(from: store)
        XCTAssertEqual([stored, expected], [4, 4])
        XCTAssertEqual(fromStore, report)
        let results = try Data(contentsOf: dir.appendingPathComponent("results.json"))
        XCTAssertEqual(try JSONDecoder().decode(W2SReport.self, from: results), report)
        let metrics = try String(contentsOf: dir.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(metrics.count, 16)
        XCTAssertNotNil(try W2SRunDirectory.record(in: dir))
    }

    func testAnInterruptedRunContinuesToTheSameResults() throws {
        let (dir, experiment, report) = try runTiny()
        let store = try RunStore(url: dir.appendingPathComponent("run.sqlite"))
        // As if the run had been killed before its last result: that one is missing.
        try store.db.write { db in
            try db.execute(sql: "DELETE FROM w2s_results WHERE strong = 'mlp:32+pretrain' AND seed = 1")
        }
        XCTAssertEqual(try store.db.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM w2s_steps") }, 12,
                       "a result's curve goes with it")
        let (partial, stored, expected) = try W2SRunDirectory.report(from: store)
        XCTAssertEqual([stored, expected], [3, 4])
        XCTAssertEqual(partial.configurations[1].seeds.map(\.seed), [0])

        var log: [String] = []
        let continued = try W2SRunDirectory.resume(in: dir) { log.append($0) }
        XCTAssertEqual(continued, report)
        XCTAssertEqual(log.filter { $0.hasPrefix("seed") && $0.hasSuffix(": already stored") }.count, 3, log.joined(separator: "\n"))
        XCTAssertEqual(try store.w2sResults().count, 4)

        // Another config in the same directory is refused, not mixed in.
        var other = experiment.config
        other.training.strongSteps = 25
        XCTAssertThrowsError(try W2SRunDirectory.run(other, name: experiment.name, in: dir)) { e in
            XCTAssertTrue("\(e)".contains("different configuration"), "\(e)")
        }
    }

    func testStatusAndExportOfAW2SRun() throws {
        let (dir, _, report) = try runTiny()
        let store = try RunStore(url: dir.appendingPathComponent("run.sqlite"))
        let fromStore = try W2SRunDirectory.report(from: store).report
        XCTAssertTrue(fromStore.table().contains("gpt:1x16+pretrain"))
        XCTAssertEqual(fromStore.table(), report.table())

        let jsonl = try RunExport.w2sLines(fromStore, format: "jsonl")
        XCTAssertEqual(jsonl.count, 4)
        for line in jsonl {
            let v = try LuaValue(json: line)
            XCTAssertEqual(v["weak"].text, "linear")
            XCTAssertNotNil(v["strong"].text)
            XCTAssertNotNil(v["w2s_accuracy"].double)
            XCTAssertEqual(v["steps"].table?.array.count, 4)
        }
        let csv = try RunExport.w2sLines(fromStore, format: "csv")
        XCTAssertEqual(csv.count, 5)
        XCTAssertTrue(csv[0].hasPrefix("weak,strong,loss,seed,weak_accuracy,w2s_accuracy,strong_ceiling_accuracy,pgr"))
        XCTAssertEqual(csv[1].split(separator: ",", omittingEmptySubsequences: false).count, 13)
        for format in ["sft", "dpo"] {
            XCTAssertThrowsError(try RunExport.w2sLines(fromStore, format: format)) { e in
                XCTAssertTrue("\(e)".contains("no prompt/response items"), "\(e)")
            }
        }
        // A w2s run has no campaign iterations or items.
        XCTAssertEqual(try store.items(), [])
        XCTAssertEqual(try store.metrics(), [])
    }

    func testUndefinedPGRIsStoredAsNullAndAnEditedPGRIsCaught() throws {
        let store = try RunStore(url: try TestSupport.temporaryDirectory().appendingPathComponent("run.sqlite"))
        let steps = [W2SEvaluationStep(step: 5, testAccuracy: 0.9, pgr: nil)]
        let noGap = W2SSeedResult(seed: 0, weakAccuracy: 0.9, w2sAccuracy: 0.9, strongCeilingAccuracy: 0.85,
                                  weakLabelAccuracy: 0.88, agreement: 1, agreementOnWeakErrors: nil, steps: steps)
        let key = W2SResultKey(weak: "mlp:8", strong: "mlp:64+pretrain", loss: "xent", seed: 0)
        try store.commitW2S(key, noGap, splits: W2SSplitSizes(supervisor: 10, unlabeled: 10, test: 20))
        let row = try XCTUnwrap(try store.db.read { db in try Row.fetchOne(db, sql: "SELECT * FROM w2s_results") })
        XCTAssertTrue((row["pgr"] as DatabaseValue).isNull)
        XCTAssertTrue((row["best_pgr"] as DatabaseValue).isNull)
        XCTAssertTrue((row["agreement_on_weak_errors"] as DatabaseValue).isNull)
        let back = try store.w2sResults()
        XCTAssertEqual(back.count, 1)
        XCTAssertEqual(back[0].result, noGap)
        XCTAssertNil(back[0].result.pgr)

        // The same result under another seed is refused.
        XCTAssertThrowsError(try store.commitW2S(W2SResultKey(weak: "mlp:8", strong: "mlp:64+pretrain", loss: "xent", seed: 1), noGap,
                                                 splits: W2SSplitSizes(supervisor: 10, unlabeled: 10, test: 20)))
        // A PGR that does not follow from the stored accuracies is an error, not a new number.
        try store.db.write { db in try db.execute(sql: "UPDATE w2s_results SET pgr = 0.5") }
        XCTAssertThrowsError(try store.w2sResults()) { e in
            XCTAssertTrue("\(e)".contains("does not follow from its stored accuracies"), "\(e)")
        }
    }

    func testAW2SExperimentIsNotWrittenIntoACampaignsRunDirectory() throws {
        let dir = try TestSupport.temporaryDirectory()
        let store = try RunStore(url: dir.appendingPathComponent("run.sqlite"))
        try store.begin(runID: "loop-seed1", seed: 1, configJSON: "{}")
        XCTAssertEqual(try store.kind(), .campaign)
        let config = W2SConfig(task: "carry", taskExamples: 100, taskDigits: 2, weak: [try W2SModelSpec("linear")],
                               strong: [try W2SModelSpec("mlp:8")], losses: [.xent], seeds: [0])
        XCTAssertThrowsError(try W2SRunDirectory.run(config, name: "w2s", in: dir)) { e in
            XCTAssertTrue("\(e)".contains("holds a campaign run"), "\(e)")
        }
    }
}

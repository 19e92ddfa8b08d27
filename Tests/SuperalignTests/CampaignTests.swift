import XCTest
import LuaHost
import Superalign
import TestSupport

/// End-to-end campaign behaviour on a tiny learner (seconds in release builds).
final class CampaignTests: XCTestCase {
    static let tinyCampaign = """
    return campaign{
      name = "tiny", seed = 3, iterations = 3, queries = 12,
      task = { name = "addition", digits = 1 },
      learner = { layers = 1, width = 16, heads = 2, pretrain_steps = 40, pretrain_batch = 32 },
      attacker = { plugin = "mutate_failures" },
      critic = { plugin = "noisy_verifier", params = { flip_rate = 0.2 }, reference = true },
      oversight = { plugin = "uncertainty_budget", budget = 10 },
      refine = { method = "sft", steps = 6, batch = 8, rehearsal = 8 },
      eval_clean = 24, eval_ood = 12,
    }
    """

    func writeCampaign(_ text: String, in dir: URL) throws -> URL {
        let url = dir.appendingPathComponent("campaign.lua")
        try Data(text.utf8).write(to: url)
        return url
    }

    func load(_ text: String) throws -> CampaignConfig {
        let dir = try TestSupport.temporaryDirectory()
        return try CampaignScript.load(file: try writeCampaign(text, in: dir))[0]
    }

    func testKilledRunResumesToTheSameResultAsAnUninterruptedOne() throws {
        let config = try load(Self.tinyCampaign)
        let whole = try TestSupport.temporaryDirectory().appendingPathComponent("run")
        let uninterrupted = try CampaignRunner.start(config, in: whole).run()

        let split = try TestSupport.temporaryDirectory().appendingPathComponent("run")
        let first = try CampaignRunner.start(config, in: split)
        try first.run(stopAfter: 1)
        XCTAssertEqual(try first.report().iterations.count, 1)
        let resumed = try CampaignRunner.resume(in: split).run()

        XCTAssertEqual(resumed, uninterrupted)
        XCTAssertEqual(resumed.iterations.count, 3)
        let a = try RunStore(url: whole.appendingPathComponent("run.sqlite")).items()
        let b = try RunStore(url: split.appendingPathComponent("run.sqlite")).items()
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.count, 36)
        let metricsLines = try String(contentsOf: split.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
            .split(separator: "\n")
        XCTAssertEqual(metricsLines.count, 4, "baseline + 3 iterations")
    }

    func testEveryItemKeepsItsLabelSourceAndHumanLabelsOverrideTheCritic() throws {
        let config = try load(Self.tinyCampaign)
        let dir = try TestSupport.temporaryDirectory().appendingPathComponent("run")
        let report = try CampaignRunner.start(config, in: dir).run()
        let items = try RunStore(url: dir.appendingPathComponent("run.sqlite")).items()
        let human = items.filter { $0.labelSource == "human" }
        XCTAssertEqual(Double(human.count), report.iterations.compactMap { $0["human_labels"] }.reduce(0, +))
        XCTAssertEqual(human.count, 10, "uncertainty_budget spends the whole budget on a noisy critic")
        for it in human { XCTAssertEqual(it.humanLabel, it.correct); XCTAssertEqual(it.finalLabel, it.correct) }
        for it in items where it.labelSource == "critic" { XCTAssertEqual(it.finalLabel, it.criticLabel); XCTAssertNil(it.humanLabel) }
        for m in report.iterations {
            for name in ["attack_success_rate", "clean_accuracy", "critic_accuracy"] {
                XCTAssert((0...1).contains(m[name] ?? -1), "\(name) = \(String(describing: m[name]))")
            }
        }
        XCTAssertTrue(report.referenceBased, "noisy_verifier reads the reference: the report says so")
    }

    func testAPluginThatFailsMidCampaignStopsTheRunAndKeepsFinishedIterations() throws {
        let dir = try TestSupport.temporaryDirectory()
        let plugins = dir.appendingPathComponent("plugins/critics")
        try FileManager.default.createDirectory(at: plugins, withIntermediateDirectories: true)
        try Data("""
        return { kind = "critic", name = "flaky", params = {},
          score = function(self, item)
            self.calls = (self.calls or 0) + 1
            if self.calls > 12 then error("flaky critic gave up") end
            return { score = 1, label = true, confidence = 1, critique = "" }
          end }
        """.utf8).write(to: plugins.appendingPathComponent("flaky.lua"))
        let text = Self.tinyCampaign.replacingOccurrences(of: #"plugin = "noisy_verifier", params = { flip_rate = 0.2 }"#,
                                                          with: #"plugin = "flaky""#)
        let config = try CampaignScript.load(file: try writeCampaign(text, in: dir))[0]
        let runDir = dir.appendingPathComponent("run")
        let runner = try CampaignRunner.start(config, in: runDir, pluginFolders: [dir.appendingPathComponent("plugins").path])
        XCTAssertThrowsError(try runner.run()) { e in
            let pe = e as? PluginError
            XCTAssertEqual(pe?.kind, .runtime)
            XCTAssertTrue(pe?.message.contains("flaky critic gave up") ?? false, "\(e)")
            XCTAssertEqual(pe?.line, 4)
        }
        let store = try RunStore(url: runDir.appendingPathComponent("run.sqlite"))
        XCTAssertEqual(try store.lastIteration()?.iteration, 1, "iteration 1 finished and stayed committed")
        XCTAssertEqual(try store.items().count, 12)
    }

    func testInvalidCriticVerdictsAreClearErrorsNamingTheField() throws {
        for (value, expected) in [("0/0", "'score' must be in [0, 1]"), ("1.5", "'score' must be in [0, 1]"),
                                  ("'0.5'", "'score' must be a number"), ] {
            let dir = try TestSupport.temporaryDirectory()
            let plugins = dir.appendingPathComponent("plugins")
            try FileManager.default.createDirectory(at: plugins, withIntermediateDirectories: true)
            try Data("""
            return { kind = "critic", name = "bad", score = function() return { score = \(value), label = true } end }
            """.utf8).write(to: plugins.appendingPathComponent("bad.lua"))
            let text = Self.tinyCampaign.replacingOccurrences(of: #"plugin = "noisy_verifier", params = { flip_rate = 0.2 }"#,
                                                              with: #"plugin = "bad""#)
            let config = try CampaignScript.load(file: try writeCampaign(text, in: dir))[0]
            let runner = try CampaignRunner.start(config, in: dir.appendingPathComponent("run"), pluginFolders: [plugins.path])
            XCTAssertThrowsError(try runner.run()) { e in
                XCTAssertEqual((e as? PluginError)?.kind, .validation, "\(e)")
                XCTAssertTrue("\(e)".contains(expected), "\(e) should say \(expected)")
            }
        }
    }

    func testCampaignScriptErrorsNameTheField() throws {
        let cases: [(String, String)] = [
            ("return campaign{ iteratons = 3 }", "iteratons: unknown field"),
            ("return campaign{ iterations = 0 }", "iterations: 0 is outside"),
            ("return campaign{ learner = { width = 30, heads = 4 } }", "multiple of heads"),
            ("return campaign{ refine = { method = 'dpo' } }", "not a refinement method"),
            ("return campaign{ refine = { replay = 32 } }", "rehearsal"),
            ("return campaign{ name = '../../x' }", "cannot name a run directory"),
            ("return campaign{ name = '' }", "cannot name a run directory"),
            ("return campaign{ seed = 1, seeds = {1, 2} }", "either seed or seeds"),
            ("return campaign{ arms = { { oversight = {} } } }", "every arm needs a name"),
            ("return campaign{ arms = { { name = 'a', learner = {} } } }", "an arm may set"),
            ("return campaign{ critic = {}, critics = { {} } }", "either critic or critics"),
            ("return campaign{ aggregate = 'vote' }", "not an aggregation rule"),
            ("return { 1 }", "not a campaign"),
            ("return campaign{ task = { name = 'jsonl', file = '../x.jsonl' } }", "outside the campaign's folder"),
            ("return campaign(", "campaign.lua"),
            ("return campaign{ x = io.open('/etc/passwd') }", "not available"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try load(text), text) { e in
                XCTAssertTrue("\(e)".contains(expected), "\(text): \(e) should mention \(expected)")
            }
        }
    }

    func testUnknownPluginNamesListWhatIsBundled() throws {
        let config = try load(#"return campaign{ attacker = { plugin = "carry_chian" } }"#)
        XCTAssertThrowsError(try CampaignRunner.start(config, in: try TestSupport.temporaryDirectory().appendingPathComponent("r"))) { e in
            XCTAssertTrue("\(e)".contains("carry_chain"), "\(e)")
        }
    }

    func testBundledPluginSourcesMatchThePluginsFolder() throws {
        // The binary carries the plugins so it works anywhere; the copy must not drift.
        let catalog = PluginCatalog(extraFolders: [], environment: [:], workingDirectory: URL(fileURLWithPath: "/nonexistent"))
        let root = TestSupport.repositoryRoot.appendingPathComponent("Plugins")
        for (kind, folder) in [("attacker", "attackers"), ("critic", "critics"), ("oversight", "oversight")] {
            for file in try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(folder).path) where file.hasSuffix(".lua") {
                let onDisk = try Data(contentsOf: root.appendingPathComponent(folder).appendingPathComponent(file))
                let (bytes, origin) = try catalog.source(kind: kind, name: String(file.dropLast(4)))
                XCTAssertTrue(origin.hasPrefix("bundled:"))
                XCTAssertEqual(String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .newlines),
                               String(decoding: onDisk, as: UTF8.self).trimmingCharacters(in: .newlines),
                               "\(folder)/\(file) differs from the bundled copy: run python3 Scripts/bundle-plugins.py")
            }
        }
    }

    func testExportFormatsFollowTRLConventions() throws {
        let config = try load(Self.tinyCampaign)
        let dir = try TestSupport.temporaryDirectory().appendingPathComponent("run")
        try CampaignRunner.start(config, in: dir).run(stopAfter: 1)
        let items = try RunStore(url: dir.appendingPathComponent("run.sqlite")).items()
        for line in try RunExport.lines(items, format: "sft") {
            let v = try LuaValue(json: line)
            XCTAssertNotNil(v["prompt"].text); XCTAssertNotNil(v["completion"].text)
        }
        XCTAssertEqual(try RunExport.lines(items, format: "jsonl").count, items.count)
        XCTAssertEqual(try RunExport.lines(items, format: "csv").count, items.count + 1)
        for line in try RunExport.lines(items, format: "dpo") {
            let v = try LuaValue(json: line)
            XCTAssertNotEqual(v["chosen"], v["rejected"])
        }
        XCTAssertThrowsError(try RunExport.lines(items, format: "xml"))
    }
}

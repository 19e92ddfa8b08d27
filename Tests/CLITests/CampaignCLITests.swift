import Foundation
import TestSupport
import XCTest

/// `superalign run`, `resume` and `status` on campaigns, sweeps and killed runs.
final class CampaignCLITests: XCTestCase {
    static let campaign = """
    return campaign{
      name = "cli", seeds = { 1, 2 }, iterations = 2, queries = 10,
      task = { name = "addition", digits = 1 },
      learner = { layers = 1, width = 16, heads = 2, pretrain_steps = 30, pretrain_batch = 16 },
      attacker = { plugin = "mutate_failures" },
      critic = { plugin = "last_digit" },
      refine = { steps = 3, batch = 4, rehearsal = 4 },
      arms = { { name = "never", oversight = { plugin = "never" } },
               { name = "human", oversight = { plugin = "uncertainty_budget", budget = 6, corrections = true } } },
      eval_clean = 10, eval_ood = 4,
    }
    """

    func folder() throws -> (URL, CLIRunner) {
        let dir = try TestSupport.temporaryDirectory("superalign-campaign-cli")
        return (dir, CLIRunner(directory: dir))
    }

    /// A sweep of seeds × arms: every run directory in script order, a summary, and `status`
    /// and `resume` on the sweep's folder.
    func testSeedsAndArmsRunAsASweepWithASummary() throws {
        let (dir, cli) = try folder()
        try Data(Self.campaign.utf8).write(to: dir.appendingPathComponent("c.lua"))
        let run = try cli.run(["run", "c.lua", "--out", "out", "--json"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let runs = try XCTUnwrap(doc["runs"] as? [[String: Any]])
        XCTAssertEqual(runs.map { $0["run"] as? String }, ["cli-never-seed1", "cli-human-seed1", "cli-never-seed2", "cli-human-seed2"])
        let summaries = try XCTUnwrap(doc["summaries"] as? [[String: Any]])
        let differences = try XCTUnwrap(summaries.first?["differences"] as? [[String: Any]])
        XCTAssertFalse(differences.isEmpty)
        // Two seeds: no interval, and null says so rather than a number.
        XCTAssertTrue(differences.allSatisfy { $0["low"] is NSNull }, "\(differences)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("out/summary.json").path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("out/sweep.json").path))
        XCTAssertTrue(run.stderr.contains("pretrain 100%|"), "pretraining shows its progress bar")
        XCTAssertTrue(run.stderr.contains("taken from"), "the second arm of a seed reuses the pretrained learner")

        let status = try cli.run(["status", "out"])
        XCTAssertEqual(status.status, 0, status.stderr)
        let order = ["cli-never-seed1", "cli-human-seed1", "cli-never-seed2", "cli-human-seed2"].map { status.stdout.range(of: $0)?.lowerBound }
        XCTAssertTrue(order.allSatisfy { $0 != nil } && order.map { $0! } == order.map { $0! }.sorted(), status.stdout)
        XCTAssertTrue(status.stdout.contains("paired differences"), status.stdout)
        let resume = try cli.run(["resume", "out"])
        XCTAssertEqual(resume.status, 0, resume.stderr)
    }

    /// kill -9 in the middle of a run, then `resume`: the same items and metrics as a run that
    /// was never interrupted.
    func testKillNineThenResumeIsIdenticalToAnUninterruptedRun() throws {
        let (dir, cli) = try folder()
        let single = Self.campaign.replacingOccurrences(of: "seeds = { 1, 2 }, iterations = 2", with: "seed = 4, iterations = 4")
            .replacingOccurrences(of: "refine = { steps = 3,", with: "refine = { steps = 60,")
            .replacingOccurrences(of: "arms = { { name = \"never\", oversight = { plugin = \"never\" } },\n", with: "oversight = { plugin = \"uncertainty_budget\", budget = 6, corrections = true },\n  --")
            .replacingOccurrences(of: "               { name = \"human\"", with: "  --               { name = \"human\"")
        try Data(single.utf8).write(to: dir.appendingPathComponent("c.lua"))
        let whole = try cli.run(["run", "c.lua", "--out", "whole"])
        XCTAssertEqual(whole.status, 0, whole.stderr + single)

        let (process, _, _) = try cli.start(["run", "c.lua", "--out", "killed"])
        let store = dir.appendingPathComponent("killed/metrics.jsonl")
        let deadline = Date().addingTimeInterval(60)
        // Wait for iteration 1 (baseline + 1 line), then kill without warning.
        while Date() < deadline {
            if let text = try? String(contentsOf: store, encoding: .utf8), text.split(separator: "\n").count >= 2 { break }
            usleep(2_000)
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let linesAtKill = (try String(contentsOf: store, encoding: .utf8)).split(separator: "\n").count
        XCTAssertLessThan(linesAtKill, 5, "the run was interrupted before its last iteration")
        XCTAssertGreaterThanOrEqual(linesAtKill, 2)
        let resumed = try cli.run(["resume", "killed"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        for format in ["jsonl", "csv"] {
            let a = try cli.run(["export", "whole", "--format", format]), b = try cli.run(["export", "killed", "--format", format])
            XCTAssertEqual(a.stdout, b.stdout, format)
            XCTAssertFalse(a.stdout.isEmpty)
        }
        XCTAssertEqual(try String(contentsOf: dir.appendingPathComponent("whole/metrics.jsonl"), encoding: .utf8),
                       try String(contentsOf: store, encoding: .utf8))
    }

    /// A sweep refuses a bad entry before it runs the first one.
    func testASweepChecksEveryEntryBeforeRunningTheFirst() throws {
        let (dir, cli) = try folder()
        try Data("""
        return {
          campaign{ name = "good", iterations = 1, queries = 4, task = { name = "addition", digits = 1 },
                    learner = { layers = 1, width = 16, heads = 2, pretrain_steps = 5 } },
          campaign{ name = "bad", critic = { plugin = "no_such_critic" } },
        }
        """.utf8).write(to: dir.appendingPathComponent("s.lua"))
        let run = try cli.run(["run", "s.lua", "--out", "out"])
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.stderr.contains("bad-seed1") && run.stderr.contains("no_such_critic"), run.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("out/good-seed1/run.sqlite").path),
                       "nothing ran")
    }

    /// Plugin print/sa.log lines are kept in plugins.log and shown with -v; a campaign script's
    /// error says "campaign script".
    func testPluginLogsAreKeptAndScriptErrorsNameTheScript() throws {
        let (dir, cli) = try folder()
        let plugins = dir.appendingPathComponent("plugins/critics")
        try FileManager.default.createDirectory(at: plugins, withIntermediateDirectories: true)
        try Data("""
        return { kind = "critic", name = "chatty", params = {},
          score = function(_, item) print("scoring " .. item.prompt); sa.log.warn("careful")
            return { score = 1, label = true, confidence = 1 } end }
        """.utf8).write(to: plugins.appendingPathComponent("chatty.lua"))
        try Data("""
        return campaign{ name = "log", iterations = 1, queries = 3, task = { name = "addition", digits = 1 },
          learner = { layers = 1, width = 16, heads = 2, pretrain_steps = 5 }, critic = { plugin = "chatty" },
          refine = { steps = 1, batch = 2, rehearsal = 0 }, eval_clean = 4, eval_ood = 2 }
        """.utf8).write(to: dir.appendingPathComponent("c.lua"))
        let run = try cli.run(["run", "c.lua", "--out", "out", "--plugin-path", "plugins", "-v"])
        XCTAssertEqual(run.status, 0, run.stderr)
        let log = try String(contentsOf: dir.appendingPathComponent("out/plugins.log"), encoding: .utf8)
        XCTAssertEqual(log.split(separator: "\n").filter { $0.contains("scoring ") }.count, 3, log)
        XCTAssertTrue(log.contains("iteration 1 [warning] chatty.lua: careful") || log.contains("iteration 1 [warning]"), log)
        XCTAssertTrue(run.stderr.contains("scoring "), "-v shows the lines")

        try Data("return campaign{ x = nil + 1 }".utf8).write(to: dir.appendingPathComponent("bad.lua"))
        let bad = try cli.run(["run", "bad.lua"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("campaign script") && !bad.stderr.contains("plugin '"), bad.stderr)
    }
}

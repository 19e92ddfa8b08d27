import Foundation
import TestSupport
import XCTest

/// `superalign plugins check`, `exec`, `test` and `stubs` on plugins written for the test.
final class PluginsCLITests: XCTestCase {
    private var directory: URL!
    private var cli: CLIRunner!

    override func setUpWithError() throws {
        directory = try TestSupport.temporaryDirectory("superalign-plugins-cli")
        cli = CLIRunner(directory: directory)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func write(_ name: String, _ text: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    /// stdout as one JSON object.
    private func json(_ run: CLIRunner.Output) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8))
        return try XCTUnwrap(object as? [String: Any], "stdout is not a JSON object: \(run.stdout)")
    }

    /// A reference-free critic for additions: the response must be a plain integer at least as
    /// long as the longer operand (crude, but a valid verdict every time).
    private static let goodCritic = """
        return {
          kind = "critic", name = "good", params = { min_len = 1 },
          score = function(_, item)
            local a, b = item.prompt:match("^(%d+)%+(%d+)=$")
            local plain = item.response:match("^%d+$") ~= nil
            local long = a ~= nil and #item.response >= math.max(#a, #b)
            local ok = plain and long
            return { score = ok and 0.8 or 0.1, label = ok, confidence = 0.6, critique = ok and "plausible" or "implausible" }
          end,
          score_batch = function(self, items)
            local out = {}
            for i, item in ipairs(items) do out[i] = self:score(item) end
            return out
          end,
        }
        """

    /// The single result record of `plugins … --json`.
    private func record(_ run: CLIRunner.Output) throws -> [String: Any] {
        let results = try XCTUnwrap(json(run)["results"] as? [[String: Any]], run.stdout)
        XCTAssertEqual(results.count, 1)
        return try XCTUnwrap(results.first)
    }

    func testPluginsTestCallsACriticOnTheTasksProblems() throws {
        let file = try write("good.lua", Self.goodCritic)
        let run = try cli.run(["plugins", "test", file, "--task", "addition", "--task-option", "digits=2", "--seed", "4", "--json"])
        XCTAssertEqual(run.status, 0, run.stdout + run.stderr)
        let result = try record(run)
        XCTAssertEqual(result["ok"] as? Bool, true)
        XCTAssertEqual(result["kind"] as? String, "critic")
        let calls = try XCTUnwrap(result["calls"] as? [[String: Any]])
        XCTAssertEqual(calls.map { $0["function"] as? String }, Array(repeating: "score", count: 8) + ["score_batch"])
        let first = try XCTUnwrap(calls.first?["value"] as? [String: Any])
        XCTAssertEqual(first["confidence"] as? Double, 0.6)
        // The arguments name the prompt and a right or wrong response; no answer reaches the plugin.
        let arguments = calls.prefix(8).compactMap { $0["arguments"] as? String }
        XCTAssertEqual(arguments.filter { $0.hasSuffix("(right)") }.count, 4, "\(arguments)")
        XCTAssertTrue(arguments.allSatisfy { $0.contains("+") && $0.contains("=") }, "\(arguments)")

        let text = try cli.run(["plugins", "test", file, "--task", "addition", "--seed", "4"])
        XCTAssertEqual(text.status, 0, text.stdout + text.stderr)
        XCTAssertTrue(text.stdout.hasPrefix("critic 'good' on task addition (digits=2), seed 4"), text.stdout)
        XCTAssertTrue(text.stdout.contains("score_batch"), text.stdout)
        XCTAssertTrue(text.stdout.contains("note: score: labels agree with the truth on"), text.stdout)
        XCTAssertTrue(text.stdout.hasSuffix("ok    \(file)\n"), text.stdout)
    }

    func testPluginsTestRefusesAScoreOutsideTheUnitInterval() throws {
        let file = try write("overconfident.lua", """
            return { kind = "critic", name = "overconfident", score = function() return { score = 1.5, label = true } end }
            """)
        let run = try cli.run(["plugins", "test", file, "--task", "addition"])
        XCTAssertEqual(run.status, 2, run.stdout + run.stderr)
        XCTAssertTrue(run.stdout.contains("FAIL  \(file)"), run.stdout)
        XCTAssertTrue(run.stdout.contains("score: 'score' must be in [0, 1] (got 1.5)"), run.stdout)
        let json = try cli.run(["plugins", "test", file, "--json"])
        XCTAssertEqual(json.status, 2)
        let error = try XCTUnwrap(try record(json)["error"] as? [String: Any])
        XCTAssertEqual(error["kind"] as? String, "validation")
        XCTAssertEqual(error["message"] as? String, "score: 'score' must be in [0, 1] (got 1.5)")
    }

    func testPluginsTestRefusesAnAttackerThatSuppliesAnswers() throws {
        let file = try write("answers.lua", """
            return {
              kind = "attacker", name = "answers",
              propose = function(_, _, n)
                local out = {}
                for i = 1, n do out[i] = { prompt = i .. "+1=", answer = tostring(i + 1) } end
                return out
              end,
            }
            """)
        let run = try cli.run(["plugins", "test", file, "--task", "addition"])
        XCTAssertEqual(run.status, 2, run.stdout + run.stderr)
        XCTAssertTrue(run.stdout.contains("propose: query 1 has an 'answer': attackers propose prompts only"), run.stdout)

        // The same attacker without answers passes, and observe gets made-up results.
        let fixed = try write("prompts.lua", """
            return {
              kind = "attacker", name = "prompts", seen = 0,
              propose = function(_, ctx, n)
                local out = {}
                for i = 1, n do out[i] = (i + ctx.iteration) .. "+" .. i .. "=" end
                return out
              end,
              observe = function(self, results) self.seen = #results end,
            }
            """)
        let ok = try cli.run(["plugins", "test", fixed, "--task", "addition", "--json"])
        XCTAssertEqual(ok.status, 0, ok.stdout + ok.stderr)
        let calls = try XCTUnwrap(try record(ok)["calls"] as? [[String: Any]])
        XCTAssertEqual(calls.map { $0["function"] as? String }, ["propose", "observe"])
        XCTAssertEqual((calls[0]["value"] as? [String])?.first, "2+1=")
        XCTAssertTrue((calls[0]["result"] as? String)?.hasPrefix("8 prompts (8 accepted)") ?? false, "\(calls[0])")
    }

    func testPluginsTestCallsAnOversightPolicyWithABudget() throws {
        let file = try write("unsure.lua", """
            return {
              kind = "oversight", name = "unsure", params = { threshold = 0.7 },
              decide = function(self, _, verdict, budget)
                return budget.remaining > 0 and verdict.confidence < self.params.threshold
              end,
              decide_batch = function(self, _, verdicts, budget)
                local out = {}
                for i, v in ipairs(verdicts) do
                  if v.confidence < self.params.threshold and #out < budget.remaining then out[#out + 1] = i end
                end
                return out
              end,
            }
            """)
        let run = try cli.run(["plugins", "test", file, "--task", "addition", "--json"])
        XCTAssertEqual(run.status, 0, run.stdout + run.stderr)
        let calls = try XCTUnwrap(try record(run)["calls"] as? [[String: Any]])
        XCTAssertEqual(calls.map { $0["function"] as? String }, Array(repeating: "decide", count: 8) + ["decide_batch"])
        let asked = calls.prefix(8).filter { $0["value"] as? Bool == true }.count
        XCTAssertGreaterThan(asked, 0)
        XCTAssertLessThanOrEqual(asked, 3, "the budget is 3")
        let batch = try XCTUnwrap(calls.last?["value"] as? [Int])
        XCTAssertEqual(batch.count, asked, "the same policy, the same choices")

        let bad = try write("bad_batch.lua", """
            return { kind = "oversight", name = "bad_batch", decide = function() return false end,
                     decide_batch = function() return { 9 } end }
            """)
        let refused = try cli.run(["plugins", "test", bad])
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.stdout.contains("decide_batch: entry 1 must be an item index in 1...8"), refused.stdout)
    }

    func testPluginsCheckAndExecValidateAsACampaignDoes() throws {
        let good = try write("good.lua", Self.goodCritic)
        let misnamed = try write("misnamed.lua", Self.goodCritic)
        let listParams = try write("list_params.lua", "return { kind = 'critic', name = 'list_params', params = { 1 }, score = print }")
        let check = try cli.run(["plugins", "check", good, misnamed, listParams])
        XCTAssertEqual(check.status, 2, check.stdout + check.stderr)
        XCTAssertTrue(check.stdout.contains("ok    \(good): critic 'good'"), check.stdout)
        XCTAssertTrue(check.stdout.contains("the plugin's name is 'good' but its file is misnamed.lua"), check.stdout)
        XCTAssertTrue(check.stdout.contains("'params' must be a table of named values (got 1 list entries)"), check.stdout)

        let item = #"{"prompt": "12+30=", "response": "42", "features": {"digits": 2}}"#
        let exec = try cli.run(["plugins", "exec", good, "--function", "score", "--input", item, "--json"])
        XCTAssertEqual(exec.status, 0, exec.stdout + exec.stderr)
        XCTAssertEqual((try record(exec)["value"] as? [String: Any])?["label"] as? Bool, true)
        let batch = try cli.run(["plugins", "exec", good, "--function", "score_batch", "--input", "[\(item), \(item)]"])
        XCTAssertEqual(batch.status, 0, batch.stdout + batch.stderr)

        let overconfident = try write("overconfident.lua", """
            return { kind = "critic", name = "overconfident", score = function() return { score = 1.5, label = true } end,
                     peek = function(_, item) return item.answer end }
            """)
        let refused = try cli.run(["plugins", "exec", overconfident, "--function", "score", "--input", item])
        XCTAssertEqual(refused.status, 2)
        XCTAssertTrue(refused.stdout.contains("score: 'score' must be in [0, 1] (got 1.5)"), refused.stdout)
        let peek = try cli.run(["plugins", "exec", overconfident, "--function", "peek", "--input", item])
        XCTAssertEqual(peek.status, 2)
        XCTAssertTrue(peek.stdout.contains("item.answer is hidden"), peek.stdout)
    }

    func testPluginsStubsCheckCoversBothFiles() throws {
        let meta = TestSupport.repositoryRoot.appendingPathComponent("Plugins/meta").path
        let current = try cli.run(["plugins", "stubs", "--check", "--out", meta])
        XCTAssertEqual(current.status, 0, current.stderr)
        let out = directory.appendingPathComponent("meta").path
        let written = try cli.run(["plugins", "stubs", "--out", out])
        XCTAssertEqual(written.status, 0, written.stderr)
        for name in ["sa.lua", "protocol.lua"] {
            XCTAssertEqual(try String(contentsOfFile: "\(out)/\(name)", encoding: .utf8),
                           try String(contentsOfFile: "\(meta)/\(name)", encoding: .utf8), name)
        }
        try Data("---@meta\n".utf8).write(to: URL(fileURLWithPath: "\(out)/protocol.lua"))
        let stale = try cli.run(["plugins", "stubs", "--check", "--out", out])
        XCTAssertEqual(stale.status, 1)
        XCTAssertTrue(stale.stderr.contains("\(out)/protocol.lua out of date"), stale.stderr)
        XCTAssertFalse(stale.stderr.contains("sa.lua"), stale.stderr)
    }
}

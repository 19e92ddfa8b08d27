import Foundation
import TestSupport
import XCTest

/// `superalign plugins check`, `exec` and `stubs` on plugins written for the test.
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

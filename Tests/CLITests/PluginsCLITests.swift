import Foundation
import TestSupport
import XCTest

/// `superalign plugins stubs`.
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

import Foundation
@testable import LuaHost
import TestSupport
import XCTest

/// LuaHost's own Lua lives in `Sources/LuaHost/Lua/*.lua` (what luacheck lints and what one
/// edits) and is compiled in as Swift strings by `Scripts/embed-lua.py`; the two must not drift.
final class EmbeddedLuaTests: XCTestCase {
    func testEmbeddedStringsMatchTheLuaFiles() throws {
        let folder = TestSupport.repositoryRoot.appendingPathComponent("Sources/LuaHost/Lua")
        let onDisk = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".lua") }.sorted()
        XCTAssertFalse(onDisk.isEmpty)
        XCTAssertEqual(onDisk, EmbeddedLua.files.keys.sorted(),
                       "Sources/LuaHost/Lua and EmbeddedLua.swift list different files: run python3 Scripts/embed-lua.py")
        for name in onDisk {
            let text = String(decoding: try Data(contentsOf: folder.appendingPathComponent(name)), as: UTF8.self)
            // The generator drops the file's final newline (a Swift multi-line string has none).
            let expected = text.hasSuffix("\n") ? String(text.dropLast()) : text
            XCTAssertTrue(EmbeddedLua.files[name] == expected,
                          "Sources/LuaHost/Lua/\(name) differs from its copy in EmbeddedLua.swift: run python3 Scripts/embed-lua.py")
        }
    }

    func testTheSandboxRunsTheEmbeddedPrelude() {
        XCTAssertEqual(Sandbox.prelude, EmbeddedLua.files["prelude.lua"])
        XCTAssertTrue(Sandbox.prelude.contains("__sandbox_spec"))
    }
}

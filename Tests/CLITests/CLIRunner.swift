import Foundation
import XCTest

/// Runs the built `superalign` binary in a folder; stdout and stderr go through files, so a
/// chatty command can never fill a pipe and block.
struct CLIRunner {
    let directory: URL

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    func start(_ arguments: [String]) throws -> (Process, URL, URL) {
        let process = Process()
        process.executableURL = try Self.binary()
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let out = directory.appendingPathComponent("stdout-\(UUID().uuidString)")
        let err = directory.appendingPathComponent("stderr-\(UUID().uuidString)")
        try Data().write(to: out)
        try Data().write(to: err)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return (process, out, err)
    }

    func run(_ arguments: [String]) throws -> Output {
        let (process, out, err) = try start(arguments)
        process.waitUntilExit()
        return Output(status: process.terminationStatus, stdout: try String(contentsOf: out, encoding: .utf8),
                      stderr: try String(contentsOf: err, encoding: .utf8))
    }

    /// The `superalign` executable in the build products folder that holds the test bundle.
    static func binary() throws -> URL {
        var folders: [URL] = []
        #if os(Linux)
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            folders.append(URL(fileURLWithPath: exe).deletingLastPathComponent())
        }
        #endif
        folders += Bundle.allBundles.map { $0.bundleURL.deletingLastPathComponent() }
        for folder in folders {
            let candidate = folder.appendingPathComponent("superalign")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw XCTSkip("no superalign binary beside the test bundle; build the package first")
    }
}

import ArgumentParser
import Foundation
import Logging
import Tensor

/// The `superalign` command line. Subcommands live one per file beside this one.
@main
struct SuperalignCommand: ParsableCommand {
    /// Logs go to stderr; results go to stdout.
    static let bootstrapLogging: Void = {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = ProcessInfo.processInfo.environment["SUPERALIGN_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .info
            return handler
        }
    }()

    static func main() {
        _ = bootstrapLogging
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "superalign",
        abstract: "Superalignment experiments on CPUs: Lua plugins and campaigns, a native Swift engine.",
        // The compiled kernels and target CPU too, e.g. "0.1.0 (kernels avx512 (FMA), target CPU znver5)".
        version: "0.1.0 (\(BuildInfo.summary))",
        subcommands: [PluginsCommand.self, RunCommand.self, ResumeCommand.self, StatusCommand.self, ExportCommand.self,
                      W2SCommand.self, TrainCommand.self, GenerateCommand.self, EvalCommand.self, BenchCommand.self]
    )
}

/// `superalign bench …`: benchmarks (never timed tests).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the engine's speed.",
        subcommands: [BenchLuaCommand.self, BenchKernelsCommand.self, BenchTrainCommand.self]
    )
}

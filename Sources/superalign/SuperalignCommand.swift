import ArgumentParser

/// The `superalign` command line. Subcommands live one per file beside this one.
@main
struct SuperalignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "superalign",
        abstract: "Superalignment experiments on CPUs: Lua plugins and campaigns, a native Swift engine.",
        version: "0.1.0",
        subcommands: [BenchCommand.self]
    )
}

/// `superalign bench …`: benchmarks (never timed tests).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the engine's speed.",
        subcommands: [BenchKernelsCommand.self]
    )
}

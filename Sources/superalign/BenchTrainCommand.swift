import ArgumentParser
import Foundation
import Models
import Superalign
import Tensor

/// `superalign bench train`: training steps per second of the two reference workloads, the
/// same ones `Scripts/bench_train_torch.py` runs in PyTorch:
///
/// - gpt: vocab 16, context 32, width 128, 4 heads, 4 layers, batch 64, cross-entropy over all
///   positions, AdamW lr 3e-4 (weight decay 0.01, betas 0.9/0.999, as torch.optim.AdamW).
/// - mlp: 784-256-256-10, ReLU, batch 128, cross-entropy, AdamW lr 3e-4.
///
/// Each step is the `Trainer`'s full step (forward, NaN guard, backward, AdamW update), on one
/// fixed random batch. Timing as the PyTorch script: 5 warm-up steps, then 5 rounds of 20 (gpt)
/// or 200 (mlp) steps; the median round is reported with min and max.
struct BenchTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Training steps/s and peak memory of the reference GPT and MLP workloads."
    )

    @Flag(help: "Print one JSON document instead of a table.") var json = false
    @Option(help: "Comma-separated thread counts.") var threads = "1,2"
    @Option(help: "Comma-separated workloads (gpt, mlp).") var workloads = "gpt,mlp"
    @Option(help: "Timed rounds per measurement.") var rounds = 5
    @Flag(help: "Also print where a step's time goes, per op and shape (forward and backward ms per step).")
    var profile = false

    func run() throws {
        let threadCounts = threads.split(separator: ",").compactMap { Int($0) }
        let names = workloads.split(separator: ",").map(String.init)
        guard !threadCounts.isEmpty, threadCounts.allSatisfy({ $0 > 0 }), rounds > 0 else {
            throw ValidationError("--threads needs positive integers and --rounds must be positive")
        }
        for n in names where n != "gpt" && n != "mlp" { throw ValidationError("unknown workload \(n)") }
        let saved = ThreadPool.shared.threadCount
        defer { ThreadPool.shared.threadCount = saved }
        var rows: [(workload: String, threads: Int, rates: [Double], peakMB: Double)] = []
        for name in names {
            for t in threadCounts {
                ThreadPool.shared.threadCount = t
                // Free the previous workload's pooled buffers first, so each row's peak is its own.
                BufferPool.shared.trim()
                PeakMemory.reset()
                let opProfile = profile ? TapeProfile() : nil
                let rates = name == "gpt" ? try Self.gptRates(rounds: rounds, profile: opProfile)
                    : try Self.mlpRates(rounds: rounds, profile: opProfile)
                rows.append((name, t, rates.sorted(), PeakMemory.peakMB()))
                if let opProfile { Self.printProfile(opProfile, title: "\(name), \(t) thread\(t == 1 ? "" : "s")") }
            }
        }
        if json {
            let body = rows.map { r in
                "{\"workload\":\"\(r.workload)\",\"threads\":\(r.threads),\"steps_per_s\":\(fmt(median(r.rates))),"
                    + "\"steps_per_s_min\":\(fmt(r.rates.first!)),\"steps_per_s_max\":\(fmt(r.rates.last!)),"
                    + "\"peak_rss_mb\":\(fmt(r.peakMB))}"
            }
            print("{\"benchmark\":\"train\",\"rows\":[" + body.joined(separator: ",") + "]}")
        } else {
            print("workload  threads  steps/s (median)      min      max  peak RSS MB")
            for r in rows {
                print(r.workload.padding(toLength: 8, withPad: " ", startingAt: 0)
                      + String(format: "  %7d  %16.1f  %7.1f  %7.1f  %11.1f", r.threads, median(r.rates), r.rates.first!, r.rates.last!, r.peakMB))
            }
        }
    }

    /// Steps per second of `rounds` timed runs after one 5-step warm-up.
    static func measure(parameters: [Tensor], stepsPerRound: Int, rounds: Int, profile: TapeProfile?,
                        loss: @escaping (Tape) throws -> Tensor) throws -> [Double] {
        // torch.optim.AdamW defaults: weight decay 0.01 on every tensor, betas 0.9/0.999, no clipping.
        func options(_ steps: Int) -> TrainingOptions {
            TrainingOptions(steps: steps, batchSize: 1, learningRate: 3e-4, cosineDecay: false, weightDecay: 0.01,
                            beta1: 0.9, beta2: 0.999, gradientClip: nil)
        }
        try Trainer(parameters: parameters, options: options(5)).run(exampleCount: 1) { tape, _ in try loss(tape) }
        let trainer = Trainer(parameters: parameters, options: options(stepsPerRound))
        trainer.tape.profile = profile
        var rates: [Double] = []
        for _ in 0..<rounds {
            let report = try trainer.run(exampleCount: 1) { tape, _ in try loss(tape) }
            rates.append(report.stepsPerSecond)
        }
        profile.map { $0.steps = stepsPerRound * rounds }
        return rates
    }

    /// Per-op milliseconds per step, most expensive first, to stderr (stdout stays one document with --json).
    static func printProfile(_ profile: TapeProfile, title: String) {
        let steps = Double(max(profile.steps, 1))
        var text = "\nprofile: \(title) (ms per step)\n" + "op".padding(toLength: 44, withPad: " ", startingAt: 0)
            + "   forward  backward     total\n"
        var fwd = 0.0, bwd = 0.0
        for row in profile.rows {
            fwd += row.forwardSeconds; bwd += row.backwardSeconds
            text += row.name.padding(toLength: 44, withPad: " ", startingAt: 0)
                + String(format: "  %8.3f  %8.3f  %8.3f\n", row.forwardSeconds * 1e3 / steps,
                         row.backwardSeconds * 1e3 / steps, (row.forwardSeconds + row.backwardSeconds) * 1e3 / steps)
        }
        text += "all".padding(toLength: 44, withPad: " ", startingAt: 0)
            + String(format: "  %8.3f  %8.3f  %8.3f\n", fwd * 1e3 / steps, bwd * 1e3 / steps, (fwd + bwd) * 1e3 / steps)
        FileHandle.standardError.write(Data(text.utf8))
    }

    static func gptRates(rounds: Int, profile: TapeProfile? = nil) throws -> [Double] {
        let (v, t, b) = (16, 32, 64)
        let gpt = try GPT(config: GPTConfig(layers: 4, width: 128, heads: 4, context: t, vocabulary: v), seed: 0)
        var rng = RandomGenerator(seed: 1)
        let data = (0..<(b * (t + 1))).map { _ in Int32(rng.below(v)) }
        var x: [Int32] = [], y: [Int32] = []
        for r in 0..<b {
            x += data[(r * (t + 1))..<(r * (t + 1) + t)]
            y += data[(r * (t + 1) + 1)..<((r + 1) * (t + 1))]
        }
        let inputs = try IndexTensor(shape: [b, t], values: x), targets = try IndexTensor(shape: [b, t], values: y)
        return try measure(parameters: gpt.parameters, stepsPerRound: 20, rounds: rounds, profile: profile) { tape in
            try tape.crossEntropy(gpt.logits(tape, inputs), targets: targets)
        }
    }

    static func mlpRates(rounds: Int, profile: TapeProfile? = nil) throws -> [Double] {
        let mlp = try MLP(config: MLPConfig(widths: [784, 256, 256, 10], activation: .relu), seed: 0)
        var rng = RandomGenerator(seed: 2)
        let x = try Tensor.randn([128, 784], using: &rng)
        let y = IndexTensor((0..<128).map { _ in Int32(rng.below(10)) })
        return try measure(parameters: mlp.parameters, stepsPerRound: 200, rounds: rounds, profile: profile) { tape in
            try mlp.loss(tape, x, labels: y)
        }
    }
}

/// Peak resident memory of this process (Linux: `VmHWM`, reset between workloads through
/// `/proc/self/clear_refs`; elsewhere the lifetime peak from `getrusage`).
enum PeakMemory {
    static func reset() {
        #if os(Linux)
        // Hand freed heap pages back to the OS, or the previous workload's memory stays resident.
        // glibc's malloc_trim is not in Swift's Glibc module: look it up at run time.
        if let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") {
            typealias Trim = @convention(c) (Int) -> Int32
            _ = unsafeBitCast(sym, to: Trim.self)(0)
        }
        #endif
        if let h = FileHandle(forWritingAtPath: "/proc/self/clear_refs") {
            h.write(Data("5".utf8))
            try? h.close()
        }
    }

    static func peakMB() -> Double { peakResidentMegabytes() }
}

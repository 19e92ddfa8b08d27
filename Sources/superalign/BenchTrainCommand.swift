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
///
/// Each row also gives the matrix-multiply GFLOP/s of the median step rate and its share of the
/// machine's peak FMA rate for that thread count, measured once per thread count before the
/// workloads (`PeakFLOPS`). Flops per step (`WorkloadFLOPs`, matrix multiplies only, a
/// multiply-add = 2 flops):
///
/// - gpt (B 64, T 32, C 128, L 4, V 16): forward per layer 2·B·T·12C² (qkv 3C², attention
///   projection C², MLP up 4C² and down 4C²) + 2·2·B·T²·C (Q·Kᵀ and P·V over the full T×T
///   square, the model-flops convention; the causal kernels skip most of the masked half, so
///   this overstates the work by ≤ 2%), plus the LM head 2·B·T·C·V: 3,363,831,808 forward;
///   backward costs 2× forward (dX and dW), so 10,091,495,424 per step.
/// - mlp (784-256-256-10, B 128): forward 2·B·(784·256 + 256·256 + 256·10) = 68,812,800;
///   backward is dW of every layer plus dX of all but the first (its input is the data, whose
///   gradient is never computed): 3 × 68,812,800 − 2·128·784·256 = 155,058,176 per step.
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
        // The peak FMA rate per thread count, measured before any workload runs.
        var peakGFLOPS: [Int: Double] = [:]
        for t in threadCounts where peakGFLOPS[t] == nil {
            peakGFLOPS[t] = PeakFLOPS.measure(threads: t).flopsPerSecond / 1e9
        }
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
        let peakList = Array(Set(threadCounts)).sorted()
        func gflops(_ r: (workload: String, threads: Int, rates: [Double], peakMB: Double)) -> Double {
            Double(Self.flopsPerStep(r.workload)) * median(r.rates) / 1e9
        }
        if json {
            let body = rows.map { r in
                let g = gflops(r), peak = peakGFLOPS[r.threads]!
                return "{\"workload\":\"\(r.workload)\",\"threads\":\(r.threads),\"steps_per_s\":\(fmt(median(r.rates))),"
                    + "\"steps_per_s_min\":\(fmt(r.rates.first!)),\"steps_per_s_max\":\(fmt(r.rates.last!)),"
                    + "\"peak_rss_mb\":\(fmt(r.peakMB)),\"gflops\":\(fmt(g)),\"peak_gflops\":\(fmt(peak)),"
                    + "\"share_of_peak\":\(fmt(g / peak))}"
            }
            let peaks = peakList.map { "\"\($0)\":\(fmt(peakGFLOPS[$0]!))" }.joined(separator: ",")
            print("{\"benchmark\":\"train\",\"peak_gflops_by_threads\":{\(peaks)},\"rows\":[" + body.joined(separator: ",") + "]}")
        } else {
            print("peak FMA GFLOP/s (measured, \(VecF.scalarCount)-wide, \(PeakFLOPS.accumulators) chains): "
                  + peakList.map { "\($0) thread\($0 == 1 ? "" : "s") " + String(format: "%.1f", peakGFLOPS[$0]!) }
                    .joined(separator: ", "))
            print("workload  threads  steps/s (median)      min      max  peak RSS MB   GFLOP/s  % of peak")
            for r in rows {
                let g = gflops(r)
                print(r.workload.padding(toLength: 8, withPad: " ", startingAt: 0)
                      + String(format: "  %7d  %16.1f  %7.1f  %7.1f  %11.1f  %8.1f  %9.1f", r.threads, median(r.rates),
                               r.rates.first!, r.rates.last!, r.peakMB, g, 100 * g / peakGFLOPS[r.threads]!))
            }
        }
    }

    /// Matrix-multiply flops of one training step of a workload (see the type's documentation).
    static func flopsPerStep(_ workload: String) -> Int {
        workload == "gpt"
            ? WorkloadFLOPs.gptTrainingStep(gptConfig, batch: gptBatch)
            : WorkloadFLOPs.mlpTrainingStep(widths: mlpWidths, batch: mlpBatch)
    }

    static let gptConfig = GPTConfig(layers: 4, width: 128, heads: 4, context: 32, vocabulary: 16)
    static let gptBatch = 64
    static let mlpWidths = [784, 256, 256, 10]
    static let mlpBatch = 128

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
        let (v, t, b) = (gptConfig.vocabulary, gptConfig.context, gptBatch)
        let gpt = try GPT(config: gptConfig, seed: 0)
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
        let mlp = try MLP(config: MLPConfig(widths: mlpWidths, activation: .relu), seed: 0)
        var rng = RandomGenerator(seed: 2)
        let x = try Tensor.randn([mlpBatch, mlpWidths[0]], using: &rng)
        let y = IndexTensor((0..<mlpBatch).map { _ in Int32(rng.below(mlpWidths.last!)) })
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

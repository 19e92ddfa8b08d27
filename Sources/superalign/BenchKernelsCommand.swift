import ArgumentParser
import Foundation
import Tensor

/// `superalign bench kernels`: GFLOP/s of the matrix multiply on square and training-shaped
/// problems, and the time of causal self-attention forward + backward, per thread count.
/// Each figure is measured over several repetitions and reported as min / median / max.
/// The output starts with what the binary was built for (``BuildInfo``), and a warning on stderr
/// when the running CPU could use better kernels than were compiled in.
struct BenchKernelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "Matrix-multiply GFLOP/s and attention timings (release builds only give meaningful numbers)."
    )

    @Flag(help: "Print one JSON document instead of a table.")
    var json = false

    @Option(help: "Comma-separated thread counts to measure.")
    var threads: String = "1,2"

    @Option(help: "Repetitions per shape (each long enough to time reliably).")
    var repeats: Int = 7

    @Option(help: "Only these shapes, as MxKxN separated by commas (default: the standard set); a suffix :tn, :nt or :tt multiplies by a stored transpose of A (first letter) or B (second), as a layer's backward pass does.")
    var shapes: String?

    @Flag(help: "Skip the attention benchmark.")
    var noAttention = false

    @Option(help: "Attention batch size (sequences of 32 tokens, width 128, 4 heads).")
    var attentionBatch: Int = 64

    static let standardShapes: [(Int, Int, Int)] = [
        (256, 256, 256), (512, 512, 512), (1024, 1024, 1024),
        (2048, 128, 384), (2048, 512, 128), (128, 784, 256), (2048, 128, 16), (128, 256, 10),
    ]

    func run() throws {
        if let w = BuildInfo.warning() { stderrLine("warning: \(w)") }
        let threadCounts = threads.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !threadCounts.isEmpty, threadCounts.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--threads needs positive integers, e.g. 1,2")
        }
        guard repeats > 0 else { throw ValidationError("--repeats must be positive") }
        guard attentionBatch > 0 else { throw ValidationError("--attention-batch must be positive") }
        var list = Self.standardShapes.map { ($0.0, $0.1, $0.2, false, false) }
        if let shapes {
            list = try shapes.split(separator: ",").map { s in
                let parts = s.split(separator: ":", maxSplits: 1)
                let p = parts[0].split(separator: "x").compactMap { Int($0) }
                let layout = parts.count > 1 ? String(parts[1]) : "nn"
                guard p.count == 3, p.allSatisfy({ $0 > 0 }), ["nn", "tn", "nt", "tt"].contains(layout) else {
                    throw ValidationError("bad shape '\(s)', expected MxKxN or MxKxN:tn|nt|tt")
                }
                return (p[0], p[1], p[2], layout.first == "t", layout.last == "t")
            }
        }
        let saved = ThreadPool.shared.threadCount
        defer { ThreadPool.shared.threadCount = saved }
        var rows: [[String: Any]] = []
        var rng = RandomGenerator(seed: 1)
        for (m, k, n, ta, tb) in list {
            let a = try Tensor.randn(ta ? [k, m] : [m, k], using: &rng), b = try Tensor.randn(tb ? [n, k] : [k, n], using: &rng)
            let c = try Tensor.zeros([m, n])
            let flops = 2.0 * Double(m) * Double(n) * Double(k)
            for t in threadCounts {
                ThreadPool.shared.threadCount = t
                let times = Self.measure(repeats: repeats, minSeconds: 0.05) {
                    Matmul.gemm(m: m, n: n, k: k, a: a.data, lda: ta ? m : k, transposeA: ta,
                                b: b.data, ldb: tb ? k : n, transposeB: tb, c: c.data, ldc: n)
                }
                let g = times.map { flops / $0 / 1e9 }.sorted()
                rows.append(["m": m, "k": k, "n": n, "layout": (ta ? "t" : "n") + (tb ? "t" : "n"),
                             "threads": t, "gflops": g[g.count / 2],
                             "gflops_min": g.first!, "gflops_max": g.last!])
            }
        }
        if !noAttention {
            let (bsz, tlen, width, heads) = (attentionBatch, 32, 128, 4)
            let qkv = try Tensor.randn([bsz, tlen, 3 * width], using: &rng)
            let dy = try Tensor.randn([bsz, tlen, width], using: &rng)
            let y = try Tensor.zeros([bsz, tlen, width])
            let probs = try Tensor.zeros([bsz, heads, tlen, tlen])
            let dqkv = try Tensor.zeros([bsz, tlen, 3 * width])
            for t in threadCounts {
                ThreadPool.shared.threadCount = t
                let forward = {
                    AttentionKernels.forward(qkv: qkv.data, batch: bsz, length: tlen, width: width, heads: heads,
                                             out: y.data, probs: probs.data)
                }
                let backward = {
                    AttentionKernels.backward(qkv: qkv.data, probs: probs.data, dOut: dy.data, batch: bsz,
                                              length: tlen, width: width, heads: heads, dQKV: dqkv.data)
                }
                for (phase, body) in [("forward+backward", { forward(); backward() }), ("forward", forward), ("backward", backward)] {
                    let times = Self.measure(repeats: repeats, minSeconds: 0.05, body).map { $0 * 1e3 }.sorted()
                    rows.append(["kernel": "attention", "phase": phase, "batch": bsz, "seq": tlen, "width": width,
                                 "heads": heads, "threads": t, "ms": times[times.count / 2], "ms_min": times.first!,
                                 "ms_max": times.last!])
                }
            }
        }
        if json {
            let build: [String: Any] = ["kernels": BuildInfo.kernels, "fma": BuildInfo.fma, "target_cpu": BuildInfo.targetCPU]
            let doc: [String: Any] = ["benchmark": "kernels", "build": build, "rows": rows]
            let data = try JSONSerialization.data(withJSONObject: doc, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("build: \(BuildInfo.summary)")
            print("shape (m×k×n)          threads   GFLOP/s median   [min … max]")
            print("(attention: B=\(attentionBatch), T=32, C=128, 4 heads; ms per call)")
            for r in rows {
                if let g = r["gflops"] as? Double {
                    let layout = r["layout"] as! String
                    let shape = "\(r["m"]!)×\(r["k"]!)×\(r["n"]!)" + (layout == "nn" ? "" : " \(layout)")
                    print(shape.padding(toLength: 22, withPad: " ", startingAt: 0),
                          String(format: "%7d   %14.1f   [%.1f … %.1f]", r["threads"] as! Int, g,
                                 r["gflops_min"] as! Double, r["gflops_max"] as! Double))
                } else {
                    print("attention \(r["phase"]!)".padding(toLength: 26, withPad: " ", startingAt: 0),
                          String(format: "%3d   %11.3f ms   [%.3f … %.3f]", r["threads"] as! Int, r["ms"] as! Double,
                                 r["ms_min"] as! Double, r["ms_max"] as! Double))
                }
            }
        }
    }

    /// Seconds per call, one sample per repetition; each sample repeats the call until it has
    /// run for `minSeconds`, after one untimed warm-up call.
    static func measure(repeats: Int, minSeconds: Double, _ body: () -> Void) -> [Double] {
        body()
        var out: [Double] = []
        for _ in 0..<repeats {
            var calls = 0
            let start = DispatchTime.now().uptimeNanoseconds
            var elapsed = 0.0
            repeat {
                body(); calls += 1
                elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            } while elapsed < minSeconds
            out.append(elapsed / Double(calls))
        }
        return out
    }
}

import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A tqdm-style progress report for training loops, written to stderr.
///
/// On a terminal it redraws one line in place (at most ten times a second):
/// ```text
/// train  42%|████████▍           | 420/1000 [00:13<00:18, 31.4 it/s, loss=0.4123]
/// ```
/// Otherwise (a log file, CI) it prints the same text as plain lines, one per tenth of the
/// run and one at the end, so logs stay short and free of control characters.
///
/// ```swift
/// let bar = ProgressBar(total: steps, label: "train")
/// for step in 1...steps { …; bar.update(step, loss: loss) }
/// bar.finish()
/// ```
public final class ProgressBar {
    public let total: Int
    public let label: String
    private let isTerminal: Bool
    private let emit: (String) -> Void
    private let clock: () -> Double
    private let start: Double
    private var lastDraw = -Double.infinity
    private var lastStep = 0
    private var lastLoss: Float?
    private var nextPlainStep: Int
    private var finished = false

    /// - Parameters:
    ///   - isTerminal: redraw in place; defaults to whether stderr is a TTY.
    ///   - emit: receives each chunk of output (default: write to stderr).
    ///   - clock: seconds from any fixed origin (default: monotonic clock).
    public init(total: Int, label: String = "", isTerminal: Bool? = nil,
                emit: ((String) -> Void)? = nil, clock: (() -> Double)? = nil) {
        self.total = max(total, 0)
        self.label = label
        self.isTerminal = isTerminal ?? (isatty(2) != 0)
        self.emit = emit ?? { FileHandle.standardError.write(Data($0.utf8)) }
        self.clock = clock ?? ProgressBar.monotonicSeconds
        self.start = self.clock()
        self.nextPlainStep = Self.plainInterval(total)
    }

    /// Reports that `step` steps (1-based count) are done, with the latest loss if any.
    public func update(_ step: Int, loss: Float? = nil) {
        guard !finished else { return }
        lastStep = step
        if let loss { lastLoss = loss }
        let now = clock()
        if isTerminal {
            if now - lastDraw >= 0.1 || step >= total {
                lastDraw = now
                emit("\r" + Self.render(label: label, step: step, total: total, elapsed: now - start, loss: lastLoss) + "\u{1B}[K")
            }
        } else if step >= nextPlainStep && step < total {
            while nextPlainStep <= step { nextPlainStep += Self.plainInterval(total) }
            emit(Self.render(label: label, step: step, total: total, elapsed: now - start, loss: lastLoss) + "\n")
        }
    }

    /// Draws the final state and ends the line. Safe to call more than once.
    public func finish() {
        guard !finished else { return }
        finished = true
        let line = Self.render(label: label, step: lastStep, total: total, elapsed: clock() - start, loss: lastLoss)
        emit(isTerminal ? "\r" + line + "\u{1B}[K\n" : line + "\n")
    }

    /// One progress line (no control characters). `elapsed` in seconds.
    public static func render(label: String, step: Int, total: Int, elapsed: Double, loss: Float?, barWidth: Int = 20) -> String {
        let fraction = total > 0 ? min(max(Double(step) / Double(total), 0), 1) : 0
        let rate = elapsed > 0 ? Double(step) / elapsed : 0
        let remaining = rate > 0 ? Double(max(total - step, 0)) / rate : nil
        var s = label.isEmpty ? "" : label + " "
        s += String(repeating: " ", count: max(0, 3 - String(Int(fraction * 100)).count)) + "\(Int(fraction * 100))%|"
        s += bar(fraction, width: barWidth) + "| \(step)/\(total) ["
        s += clockText(elapsed) + "<" + (remaining.map(clockText) ?? "?") + ", "
        s += rate >= 10 || rate == 0 ? String(format: "%.1f it/s", rate) : String(format: "%.2f it/s", rate)
        if let loss { s += ", loss=" + (loss.isFinite ? String(format: "%.4f", loss) : "\(loss)") }
        return s + "]"
    }

    /// A bar of `width` cells with eighth-block resolution.
    static func bar(_ fraction: Double, width: Int) -> String {
        let eighths = Int((fraction * Double(width * 8)).rounded(.down))
        let full = min(eighths / 8, width)
        var s = String(repeating: "█", count: full)
        if full < width {
            let partial = eighths % 8
            s += partial > 0 ? String(["▏", "▎", "▍", "▌", "▋", "▊", "▉"][partial - 1]) : " "
            s += String(repeating: " ", count: width - full - 1)
        }
        return s
    }

    /// `mm:ss`, or `h:mm:ss` from one hour.
    static func clockText(_ seconds: Double) -> String {
        let t = Int(seconds.isFinite ? max(seconds, 0) : 0)
        let (h, m, s) = (t / 3600, (t / 60) % 60, t % 60)
        return h > 0 ? String(format: "%d:%02d:%02d", h, m, s) : String(format: "%02d:%02d", m, s)
    }

    static func plainInterval(_ total: Int) -> Int { max(1, total / 10) }

    static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}

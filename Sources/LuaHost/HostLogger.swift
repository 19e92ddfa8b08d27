import Foundation

/// Where plugin output (`print`, `warn`, `sa.log`) goes: a capped buffer per plugin state plus an
/// optional sink (the command line forwards to swift-log on stderr). A chatty plugin cannot
/// exhaust host memory: past `maxBytes` further lines are counted, not kept.
public final class HostLogger {
    public enum Level: String, Sendable { case debug, info, warning, error }

    public struct Line: Equatable, Sendable {
        public var level: Level
        public var source: String
        public var message: String
    }

    public typealias Sink = (Level, String, String) -> Void

    public let maxBytes: Int
    public let maxLineBytes: Int
    public private(set) var lines: [Line] = []
    public private(set) var droppedLines = 0
    private var bytes = 0
    public var sink: Sink?

    public init(maxBytes: Int = 256 << 10, maxLineBytes: Int = 4096, sink: Sink? = nil) {
        self.maxBytes = maxBytes
        self.maxLineBytes = maxLineBytes
        self.sink = sink
    }

    public func log(_ level: Level, source: String, _ message: String) {
        var text = message
        if text.utf8.count > maxLineBytes {
            text = String(decoding: text.utf8.prefix(maxLineBytes), as: UTF8.self) + "… [line truncated]"
        }
        guard bytes + text.utf8.count <= maxBytes else {
            if droppedLines == 0 { sink?(.warning, source, "log limit of \(maxBytes) bytes reached; further lines dropped") }
            droppedLines += 1
            return
        }
        bytes += text.utf8.count
        lines.append(Line(level: level, source: source, message: text))
        sink?(level, source, text)
    }

    /// Forgets kept lines (the byte allowance starts again).
    public func clear() {
        lines.removeAll()
        bytes = 0
        droppedLines = 0
    }
}

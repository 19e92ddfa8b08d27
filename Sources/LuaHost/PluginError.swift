/// Every failure of a plugin, as one type: which plugin, in which phase, what kind, where.
///
/// ```swift
/// do { _ = try plugin.call("score", [item]) }
/// catch let e as PluginError where e.kind == .timeout { … }
/// ```
public struct PluginError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Phase: String, Sendable, Codable { case load, call }

    public enum Kind: String, Sendable, Codable {
        /// The file does not compile.
        case syntax
        /// An error raised while running (including `error(...)` by the plugin).
        case runtime
        /// The instruction or wall-clock budget ran out.
        case timeout
        /// The memory cap was hit.
        case memory
        /// The sandbox refused an operation (a forbidden library, `load` of bytecode, `__gc` …).
        case forbidden
        /// The plugin's table or a returned value does not have the required shape.
        case validation
    }

    /// The plugin's name (or its file name when the name is not known yet).
    public var plugin: String
    public var phase: Phase
    public var kind: Kind
    public var message: String
    /// The source file (chunk name without the leading `@`) of the innermost Lua frame.
    public var file: String?
    public var line: Int?
    /// A few lines of Lua traceback, innermost first.
    public var traceback: String?

    public init(plugin: String, phase: Phase, kind: Kind, message: String,
                file: String? = nil, line: Int? = nil, traceback: String? = nil) {
        self.plugin = plugin
        self.phase = phase
        self.kind = kind
        self.message = message
        self.file = file
        self.line = line
        self.traceback = traceback
    }

    public var description: String {
        var where_ = ""
        if let file { where_ = line.map { " at \(file):\($0)" } ?? " in \(file)" }
        return "plugin '\(plugin)' \(phase.rawValue) failed (\(kind.rawValue))\(where_): \(message)"
    }
}

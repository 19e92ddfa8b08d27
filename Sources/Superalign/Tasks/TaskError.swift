/// Errors building a task: an unknown name, a bad option, a bad data file (with its line).
public enum TaskError: Error, Equatable, CustomStringConvertible {
    case unknownTask(String, known: [String])
    case invalidOption(String)
    case badFile(path: String, line: Int?, message: String)

    public var description: String {
        switch self {
        case .unknownTask(let name, let known):
            return "unknown task '\(name)' (known: \(known.joined(separator: ", ")))"
        case .invalidOption(let message): return message
        case .badFile(let path, let line, let message):
            return line.map { "\(path):\($0): \(message)" } ?? "\(path): \(message)"
        }
    }
}

/// The built-in tasks by name, and how their options are read.
///
/// ```swift
/// let t = try TaskCatalog.make("modular", options: ["modulus": "97", "op": "*"])
/// ```
public enum TaskCatalog {
    /// Names and a one-line description, for help texts and errors.
    public static let tasks: [(name: String, summary: String)] = [
        ("addition", "a+b= with up to `digits` digits (default 2); OOD: one more digit"),
        ("multiplication", "a*b= with up to `digits` digits (default 2); OOD: one more digit"),
        ("modular", "a op b % p= with `modulus` p (default 97) and `op` + - * (default +); OOD: operands above p"),
        ("jsonl", "problems from `file` (JSONL prompt/answer lines; `numeric` for numeric match)"),
    ]

    /// Builds a task from its name and string options (as given on the command line or by a
    /// campaign). Unknown names and bad options are errors that say what is allowed.
    public static func make(_ name: String, options: [String: String] = [:]) throws -> any ProblemTask {
        func int(_ key: String, default value: Int) throws -> Int {
            guard let text = options[key] else { return value }
            guard let v = Int(text) else { throw TaskError.invalidOption("\(name): option '\(key)' must be an integer, got '\(text)'") }
            return v
        }
        let allowed: [String: Set<String>] = [
            "addition": ["digits"], "multiplication": ["digits"], "modular": ["modulus", "op"], "jsonl": ["file", "numeric"],
        ]
        guard let keys = allowed[name] else { throw TaskError.unknownTask(name, known: tasks.map(\.name)) }
        if let bad = options.keys.sorted().first(where: { !keys.contains($0) }) {
            throw TaskError.invalidOption("\(name): unknown option '\(bad)' (allowed: \(keys.sorted().joined(separator: ", ")))")
        }
        switch name {
        case "addition": return try AdditionTask(digits: int("digits", default: 2))
        case "multiplication": return try MultiplicationTask(digits: int("digits", default: 2))
        case "modular":
            let opText = options["op"] ?? "+"
            guard let op = ModularTask.Operation(rawValue: opText) else {
                throw TaskError.invalidOption("modular: op must be one of + - *, got '\(opText)'")
            }
            return try ModularTask(modulus: int("modulus", default: 97), operation: op)
        default:
            guard let file = options["file"] else { throw TaskError.invalidOption("jsonl: option 'file' is required") }
            let numeric = ["1", "true", "yes"].contains(options["numeric"]?.lowercased() ?? "")
            return try JSONLTask(path: file, numeric: numeric)
        }
    }
}

import Tensor

/// One problem of a task: the text the learner sees, the reference answer, and the features
/// that make it easy or hard.
public struct Problem: Equatable, Hashable, Sendable, Codable {
    public var prompt: String
    public var answer: String
    /// Difficulty features by name (for addition: `carries`, `longest_carry_chain`, `digits`).
    public var features: [String: Double]

    public init(prompt: String, answer: String, features: [String: Double] = [:]) {
        self.prompt = prompt
        self.answer = answer
        self.features = features
    }
}

/// The verdict of a task on one response: correct or not, and why.
public struct Verification: Equatable, Sendable {
    public var correct: Bool
    /// A one-line explanation ("digits 2 and 3 are wrong", "expected 46, got 45").
    public var detail: String
    /// 1-based positions (from the left) of wrong characters, for digit-wise tasks.
    public var wrongPositions: [Int]

    public init(correct: Bool, detail: String, wrongPositions: [Int] = []) {
        self.correct = correct
        self.detail = detail
        self.wrongPositions = wrongPositions
    }
}

/// Which part of a task's distribution to sample.
public enum ProblemDistribution: String, Sendable, Codable, CaseIterable {
    /// The distribution the learner is trained and evaluated on.
    case standard
    /// A shifted variant (longer operands, unseen ranges) for out-of-distribution accuracy.
    case outOfDistribution = "ood"
}

/// A task: samples problems with a seed, verifies responses, describes difficulty.
///
/// ```swift
/// let task = try TaskCatalog.make("addition", options: ["digits": 2])
/// var rng = RandomGenerator(seed: 1)
/// let p = task.sample(&rng, from: .standard)   // Problem(prompt: "47+85=", answer: "132", …)
/// task.verify(p, response: "132").correct      // true
/// ```
public protocol ProblemTask: Sendable {
    /// The task's name as campaigns and the command line spell it.
    var name: String { get }
    /// Every character a prompt or answer may contain (the learner's vocabulary comes from it).
    var alphabet: [Character] { get }
    /// The longest prompt + answer, in characters (sizes the learner's context).
    var maxLength: Int { get }
    /// The options the task was built with (as `TaskCatalog.make` reads them).
    var options: [String: String] { get }
    /// One problem drawn from `distribution`.
    func sample(_ rng: inout RandomGenerator, from distribution: ProblemDistribution) -> Problem
    /// Checks a response against the problem's answer.
    func verify(_ problem: Problem, response: String) -> Verification
    /// Builds the problem for a prompt written by someone else (an attacker): nil when the
    /// prompt is not a well-formed problem of this task.
    func problem(forPrompt prompt: String) -> Problem?
    /// Which distribution a prompt belongs to (`.outOfDistribution` for the shifted region:
    /// longer operands, operands past the modulus, a data file's `ood` lines).
    func region(ofPrompt prompt: String) -> ProblemDistribution
}

extension ProblemTask {
    /// `count` problems from `distribution`.
    public func sample(_ count: Int, _ rng: inout RandomGenerator,
                       from distribution: ProblemDistribution = .standard) -> [Problem] {
        (0..<max(0, count)).map { _ in sample(&rng, from: distribution) }
    }

    /// Digit-wise comparison of a response with the answer, right-aligned (units under units).
    public func digitwise(_ problem: Problem, response: String) -> Verification {
        let answer = Array(problem.answer), got = Array(response.trimmingSpaces)
        if got == answer { return Verification(correct: true, detail: "correct") }
        var wrong: [Int] = []
        let width = max(answer.count, got.count)
        for i in 0..<width {
            let a = i < width - answer.count ? nil : answer[i - (width - answer.count)]
            let g = i < width - got.count ? nil : got[i - (width - got.count)]
            if a != g { wrong.append(i + 1) }
        }
        let detail = got.isEmpty
            ? "expected \(problem.answer), got nothing"
            : "expected \(problem.answer), got \(String(got)); wrong at position\(wrong.count == 1 ? "" : "s") "
                + wrong.map(String.init).joined(separator: ", ")
        return Verification(correct: false, detail: detail, wrongPositions: wrong)
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs and newlines.
    var trimmingSpaces: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !" \t\n\r".unicodeScalars.contains($0) }) else { return "" }
        let last = scalars.lastIndex(where: { !" \t\n\r".unicodeScalars.contains($0) })!
        return String(scalars[first...last])
    }
}

import Foundation
import LuaHost
import Models
import Tensor

/// A user's problems from a JSONL file: one `{"prompt": …, "answer": …}` per line, optionally
/// `"split": "ood"` to put a line in the out-of-distribution set (without such lines, OOD
/// samples come from the whole file). Responses are checked by exact match, or numerically
/// (`|response − answer| ≤ 1e-6·max(1, |answer|)`) when `numeric` is set.
public struct JSONLTask: ProblemTask {
    public let path: String
    public let numeric: Bool
    public let standard: [Problem]
    public let ood: [Problem]
    /// Prompts of the file's `"split": "ood"` lines.
    let oodPrompts: Set<String>
    public var name: String { "jsonl" }
    public var options: [String: String] { ["file": path, "numeric": numeric ? "true" : "false"] }
    public let alphabet: [Character]
    public let maxLength: Int

    /// The longest prompt + answer a line may have, in characters: a learner's context is the
    /// task's longest problem plus 4 (BOS, EOS and room), at most `ModelBounds.maximumContext`.
    public static var maximumProblemLength: Int { ModelBounds.maximumContext - 4 }

    /// Loads `path`; a malformed line, or one longer than `maximumProblemLength`, is an error
    /// naming the file and the line.
    public init(path: String, numeric: Bool = false) throws {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw TaskError.badFile(path: path, line: nil, message: "cannot read the file (\(error.localizedDescription))")
        }
        var standard: [Problem] = [], ood: [Problem] = []
        var lineNumber = 0
        for raw in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            let text = String(decoding: raw, as: UTF8.self).trimmingSpaces
            if text.isEmpty { continue }
            let value: LuaValue
            do { value = try LuaValue(json: text) } catch {
                throw TaskError.badFile(path: path, line: lineNumber, message: "not JSON: \(error)")
            }
            guard value.table != nil, !(value.table!.hash.isEmpty) else {
                throw TaskError.badFile(path: path, line: lineNumber, message: "expected a JSON object")
            }
            guard let prompt = value["prompt"].text else {
                throw TaskError.badFile(path: path, line: lineNumber, message: "missing string field 'prompt'")
            }
            let answer: String
            switch value["answer"] {
            case .string: answer = value["answer"].text!
            case .integer(let i): answer = String(i)
            case .number(let d): answer = String(d)
            default: throw TaskError.badFile(path: path, line: lineNumber, message: "missing field 'answer' (a string or number)")
            }
            if numeric, Double(answer.trimmingSpaces) == nil {
                throw TaskError.badFile(path: path, line: lineNumber, message: "answer '\(answer)' is not a number")
            }
            let length = prompt.unicodeScalars.count + answer.unicodeScalars.count
            guard length <= Self.maximumProblemLength else {
                throw TaskError.badFile(path: path, line: lineNumber, message:
                    "prompt and answer are \(length) characters, more than a learner reads (\(Self.maximumProblemLength): "
                    + "a context of at most \(ModelBounds.maximumContext) with BOS, EOS and room); shorten or split the line")
            }
            let problem = Problem(prompt: prompt, answer: answer, features: ["length": Double(prompt.count)])
            switch value["split"].text {
            case nil, "train", "standard": standard.append(problem)
            case "ood": ood.append(problem)
            case let other?: throw TaskError.badFile(path: path, line: lineNumber, message: "unknown split '\(other)' (train or ood)")
            }
        }
        guard !standard.isEmpty else { throw TaskError.badFile(path: path, line: nil, message: "no problems in the file") }
        self.path = path
        self.numeric = numeric
        self.standard = standard
        self.ood = ood.isEmpty ? standard : ood
        oodPrompts = Set(ood.map(\.prompt))
        var chars = Set<Character>()
        var longest = 0
        for p in standard + ood {
            chars.formUnion(p.prompt)
            chars.formUnion(p.answer)
            longest = max(longest, p.prompt.count + p.answer.count)
        }
        alphabet = chars.sorted()
        maxLength = longest
    }

    public func sample(_ rng: inout RandomGenerator, from distribution: ProblemDistribution) -> Problem {
        let pool = distribution == .standard ? standard : ood
        return pool[rng.below(pool.count)]
    }

    public func verify(_ problem: Problem, response: String) -> Verification {
        if numeric, let want = Double(problem.answer.trimmingSpaces) {
            guard let got = Double(response.trimmingSpaces) else {
                return Verification(correct: false, detail: "expected the number \(problem.answer), got '\(response)'")
            }
            let ok = abs(got - want) <= 1e-6 * max(1, abs(want))
            return Verification(correct: ok, detail: ok ? "correct" : "expected \(problem.answer), got \(response)")
        }
        let ok = response.trimmingSpaces == problem.answer.trimmingSpaces
        return Verification(correct: ok, detail: ok ? "correct" : "expected \(problem.answer), got \(response)")
    }

    public func region(ofPrompt prompt: String) -> ProblemDistribution {
        // Without `ood` lines, OOD samples come from the whole file: no prompt is shifted.
        oodPrompts.contains(prompt) ? .outOfDistribution : .standard
    }

    public func problem(forPrompt prompt: String) -> Problem? {
        standard.first { $0.prompt == prompt } ?? ood.first { $0.prompt == prompt }
    }
}

import Tensor

/// `a+b=` → `c`, operands of up to `digits` digits (out of distribution: exactly `digits + 1`).
///
/// Features: `carries` (positions that carry), `longest_carry_chain` (the longest run of
/// consecutive carries: the hard part for a learner), `digits` (of the longer operand).
public struct AdditionTask: ProblemTask {
    public let digits: Int
    public var name: String { "addition" }
    public var options: [String: String] { ["digits": String(digits)] }
    public var alphabet: [Character] { Array("0123456789+=") }
    public var maxLength: Int { 2 * (digits + 1) + 2 + digits + 2 }

    public init(digits: Int) throws {
        guard (1...9).contains(digits) else { throw TaskError.invalidOption("addition: digits must be in 1...9, got \(digits)") }
        self.digits = digits
    }

    public func sample(_ rng: inout RandomGenerator, from distribution: ProblemDistribution) -> Problem {
        let (a, b) = operandPair(&rng, digits: digits, distribution)
        return make(a, b)
    }

    func make(_ a: Int, _ b: Int) -> Problem {
        let (carries, chain) = Self.carryStatistics(a, b)
        return Problem(prompt: "\(a)+\(b)=", answer: String(a + b), features: [
            "carries": Double(carries), "longest_carry_chain": Double(chain),
            "digits": Double(max(String(a).count, String(b).count)),
        ])
    }

    public func verify(_ problem: Problem, response: String) -> Verification { digitwise(problem, response: response) }

    public func problem(forPrompt prompt: String) -> Problem? {
        guard let (a, b) = parseBinary(prompt, op: "+", maxDigits: digits + 1) else { return nil }
        return make(a, b)
    }

    public func region(ofPrompt prompt: String) -> ProblemDistribution {
        guard let (a, b) = parseBinary(prompt, op: "+", maxDigits: digits + 1) else { return .standard }
        return operandRegion(a, b, digits: digits)
    }

    /// Number of carrying positions and the longest run of consecutive carries in `a + b`.
    public static func carryStatistics(_ a: Int, _ b: Int) -> (carries: Int, longestChain: Int) {
        var x = a, y = b, carry = 0, carries = 0, run = 0, longest = 0
        while x > 0 || y > 0 || carry > 0 {
            let s = x % 10 + y % 10 + carry
            carry = s >= 10 ? 1 : 0
            if carry == 1 { carries += 1; run += 1; longest = max(longest, run) } else { run = 0 }
            x /= 10; y /= 10
        }
        return (carries, longest)
    }
}

/// `a*b=` → `c`, operands of up to `digits` digits (out of distribution: exactly `digits + 1`).
/// Features: `digits`, `product_digits`, `nonzero_digits` (partial products to add up).
public struct MultiplicationTask: ProblemTask {
    public let digits: Int
    public var name: String { "multiplication" }
    public var options: [String: String] { ["digits": String(digits)] }
    public var alphabet: [Character] { Array("0123456789*=") }
    public var maxLength: Int { 2 * (digits + 1) + 2 + 2 * (digits + 1) }

    public init(digits: Int) throws {
        guard (1...6).contains(digits) else {
            throw TaskError.invalidOption("multiplication: digits must be in 1...6, got \(digits)")
        }
        self.digits = digits
    }

    public func sample(_ rng: inout RandomGenerator, from distribution: ProblemDistribution) -> Problem {
        let (a, b) = operandPair(&rng, digits: digits, distribution)
        return make(a, b)
    }

    func make(_ a: Int, _ b: Int) -> Problem {
        Problem(prompt: "\(a)*\(b)=", answer: String(a * b), features: [
            "digits": Double(max(String(a).count, String(b).count)),
            "product_digits": Double(String(a * b).count),
            "nonzero_digits": Double(String(b).filter { $0 != "0" }.count),
        ])
    }

    public func verify(_ problem: Problem, response: String) -> Verification { digitwise(problem, response: response) }

    public func problem(forPrompt prompt: String) -> Problem? {
        guard let (a, b) = parseBinary(prompt, op: "*", maxDigits: digits + 1) else { return nil }
        return make(a, b)
    }

    public func region(ofPrompt prompt: String) -> ProblemDistribution {
        guard let (a, b) = parseBinary(prompt, op: "*", maxDigits: digits + 1) else { return .standard }
        return operandRegion(a, b, digits: digits)
    }
}

/// `a+b%p=` (or `-`, `*`) → `(a op b) mod p`, the result in `0..<p`. Operands are below `p`;
/// out of distribution they are between `p` and `10·p` (the learner must reduce first).
/// Features: `wraps` (how many times the raw result passes the modulus).
public struct ModularTask: ProblemTask {
    public enum Operation: String, Sendable, CaseIterable { case add = "+", subtract = "-", multiply = "*" }
    public let modulus: Int
    public let operation: Operation
    public var name: String { "modular" }
    public var options: [String: String] { ["modulus": String(modulus), "op": operation.rawValue] }
    public var alphabet: [Character] { Array("0123456789%=") + [Character(operation.rawValue)] }
    public var maxLength: Int { 2 * (String(modulus * 10).count) + 3 + String(modulus).count + 2 }

    public init(modulus: Int, operation: Operation) throws {
        guard (2...10_000).contains(modulus) else {
            throw TaskError.invalidOption("modular: modulus must be in 2...10000, got \(modulus)")
        }
        self.modulus = modulus
        self.operation = operation
    }

    public func sample(_ rng: inout RandomGenerator, from distribution: ProblemDistribution) -> Problem {
        let range = distribution == .standard ? 0..<modulus : modulus..<(10 * modulus)
        let a = range.lowerBound + rng.below(range.count), b = range.lowerBound + rng.below(range.count)
        return make(a, b)
    }

    func make(_ a: Int, _ b: Int) -> Problem {
        let raw: Int
        switch operation {
        case .add: raw = a + b
        case .subtract: raw = a - b
        case .multiply: raw = a * b
        }
        let r = ((raw % modulus) + modulus) % modulus
        return Problem(prompt: "\(a)\(operation.rawValue)\(b)%\(modulus)=", answer: String(r), features: [
            "wraps": Double(abs(raw - r) / modulus), "digits": Double(max(String(a).count, String(b).count)),
        ])
    }

    public func verify(_ problem: Problem, response: String) -> Verification { digitwise(problem, response: response) }

    public func problem(forPrompt prompt: String) -> Problem? {
        let suffix = "%\(modulus)="
        guard prompt.hasSuffix(suffix) else { return nil }
        let body = String(prompt.dropLast(suffix.count))
        guard let (a, b) = parseBinary(body + "=", op: Character(operation.rawValue),
                                       maxDigits: String(10 * modulus).count) else { return nil }
        return make(a, b)
    }

    public func region(ofPrompt prompt: String) -> ProblemDistribution {
        guard problem(forPrompt: prompt) != nil else { return .standard }
        // Operands at or past the modulus are the shifted region (the learner must reduce first).
        let body = prompt.dropLast("%\(modulus)=".count)
        let operands = body.split(separator: Character(operation.rawValue)).compactMap { Int($0) }
        return operands.contains(where: { $0 >= modulus }) ? .outOfDistribution : .standard
    }
}

/// Operands with more than `digits` digits lie in the out-of-distribution region.
private func operandRegion(_ a: Int, _ b: Int, digits: Int) -> ProblemDistribution {
    var p = 1
    for _ in 0..<digits { p *= 10 }
    return a >= p || b >= p ? .outOfDistribution : .standard
}

/// Operands for a binary arithmetic problem: uniform below 10^digits (standard), or with
/// exactly `digits + 1` digits (out of distribution).
private func operandPair(_ rng: inout RandomGenerator, digits: Int,
                         _ distribution: ProblemDistribution) -> (Int, Int) {
    var p = 1
    for _ in 0..<digits { p *= 10 }
    switch distribution {
    case .standard: return (rng.below(p), rng.below(p))
    case .outOfDistribution: return (p + rng.below(9 * p), p + rng.below(9 * p))
    }
}

/// Parses "a<op>b=" with decimal operands of at most `maxDigits` digits and no leading zeros.
private func parseBinary(_ prompt: String, op: Character, maxDigits: Int) -> (Int, Int)? {
    guard prompt.hasSuffix("=") else { return nil }
    let parts = prompt.dropLast().split(separator: op, omittingEmptySubsequences: false)
    guard parts.count == 2 else { return nil }
    func number(_ s: Substring) -> Int? {
        guard !s.isEmpty, s.count <= maxDigits, s.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        if s.count > 1 && s.first == "0" { return nil }
        return Int(s)
    }
    guard let a = number(parts[0]), let b = number(parts[1]) else { return nil }
    return (a, b)
}

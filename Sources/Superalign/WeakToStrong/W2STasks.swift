import Tensor

/// Built-in weak-to-strong tasks: arithmetic properties of digit strings. Each example has both
/// input views: one-hot digit `features` (10 per digit position, MLPs) and `text` (GPTs).
///
/// The gap is real because the label is a non-linear function of the digits (an OR of per-
/// position thresholds, a parity, a residue) that a small model learns only partly from a few
/// hundred labels, while the self-supervised pretraining of a strong model ("what is the digit
/// sum / the sum of a and b?", computed from the input alone, never from the label) plants
/// exactly the latent quantity the label is a simple function of. That is the situation of
/// pretrained language models in Burns et al. (2023): the knowledge is in the model, the weak
/// labels only have to elicit it.
///
/// - `carry`: `"a+b="` with `digits`-digit operands (zero-padded) → 1 if adding them carries at
///   any column. Classes balanced 50/50. Auxiliary targets (the written-out column addition a
///   pupil would do): which columns carry, and the digits of `a + b`. Pretraining text:
///   `"a+b=" + reversed(a + b)` (least significant digit first, so the first character the model
///   predicts after `=` already depends on the whole input).
/// - `parity`: `"d₁…dₙ="` → parity of the digit sum. Auxiliary targets: the digit sum written in
///   bases 2, 3 and 10 (digit by digit, least significant first); pretraining text: the string
///   followed by its reversed decimal digit sum.
/// - `div3`: `"d₁…dₙ="` → 1 if the number is divisible by 3 (its digit sum is), balanced 50/50.
///   Auxiliary and pretraining as `parity`.
///
/// Each label is a simple readout of some auxiliary quantity (a carry column, the last binary or
/// ternary digit of the digit sum) but not of the raw digits, so pretraining plants the concept
/// in the strong model without ever showing it a label; whether weak labels elicit that concept
/// or teach the strong model to imitate the weak model's errors is what PGR then measures.
///
/// ```swift
/// let data = try W2STasks.make("carry", count: 4000, seed: 0)
/// data.examples[0].text        // "047+815="
/// data.examples[0].label       // 1 (7 + 5 carries)
/// ```
public enum W2STasks {
    public static let tasks: [(name: String, summary: String)] = [
        ("carry", "a+b= with 3-digit operands → does the addition carry anywhere (balanced)"),
        ("parity", "4-digit string → parity of its digit sum"),
        ("div3", "4-digit string → divisible by 3 (balanced)"),
    ]

    /// Default digits per operand / string.
    public static func defaultDigits(_ name: String) -> Int { name == "carry" ? 3 : 4 }

    /// `count` distinct examples of task `name`, generated deterministically from `seed`, plus a
    /// pretraining pool of up to `poolCount` further distinct inputs (fewer when the input space
    /// runs out: at most half of what is left, so generation stays fast).
    public static func make(_ name: String, count: Int = 4000, digits: Int? = nil, seed: UInt64 = 0,
                            poolCount: Int = 20000) throws -> W2SDataset {
        guard tasks.contains(where: { $0.name == name }) else {
            throw TaskError.unknownTask(name, known: tasks.map(\.name))
        }
        let n = digits ?? defaultDigits(name)
        guard (1...8).contains(n) else { throw TaskError.invalidOption("\(name): digits must be in 1...8, got \(n)") }
        var rng = RandomGenerator(seed: seed ^ 0xC0FF_EE57_A5C5)
        var power = 1
        for _ in 0..<n { power *= 10 }
        // Carry inputs are pairs; the others single numbers. Classes are balanced by drawing each
        // example's class first and rejecting draws of the other class (except parity, which is
        // balanced by nature).
        let space = name == "carry" ? power * power : power
        let balanced = name != "parity"
        let perClass: [Int]? = balanced ? [count / 2, count - count / 2] : nil
        guard count >= 10, count <= space / 2 else {
            throw TaskError.invalidOption("\(name): count must be in 10...\(space / 2) for \(n) digits, got \(count)")
        }
        var seen = Set<Int>()
        var made = [0, 0]
        var examples: [W2SExample] = []
        examples.reserveCapacity(count)
        while examples.count < count {
            let code = rng.below(space)
            guard !seen.contains(code) else { continue }
            let e: W2SExample
            switch name {
            case "carry": e = carryExample(code / power, code % power, digits: n)
            case "parity": e = digitExample(code, digits: n) { $0 % 2 }
            default: e = digitExample(code, digits: n) { _ in code % 3 == 0 ? 1 : 0 }
            }
            if let perClass, made[e.label] >= perClass[e.label] { continue }
            seen.insert(code)
            made[e.label] += 1
            examples.append(e)
        }
                // The pool: unseen inputs, whatever their class (its labels are never read).
        var pool: [W2SExample] = []
        let poolSize = min(poolCount, (space - count) / 2)
        while pool.count < poolSize {
            let code = rng.below(space)
            guard seen.insert(code).inserted else { continue }
            switch name {
            case "carry": pool.append(carryExample(code / power, code % power, digits: n))
            case "parity": pool.append(digitExample(code, digits: n) { $0 % 2 })
            default: pool.append(digitExample(code, digits: n) { _ in code % 3 == 0 ? 1 : 0 })
            }
        }
        return try W2SDataset(name: name, examples: examples, classes: 2, auxiliaryClasses: 10, pretrainingPool: pool)
    }

    static func padded(_ x: Int, _ digits: Int) -> [Int] {
        var out = [Int](repeating: 0, count: digits), v = x
        for i in stride(from: digits - 1, through: 0, by: -1) { out[i] = v % 10; v /= 10 }
        return out
    }

    /// The `count` lowest digits of `x` in `base`, least significant first.
    static func digits(_ x: Int, base: Int, count: Int) -> [Int] {
        var v = x
        return (0..<count).map { _ in defer { v /= base }; return v % base }
    }

    static func oneHot(_ digits: [Int]) -> [Float] {
        var f = [Float](repeating: 0, count: digits.count * 10)
        for (i, d) in digits.enumerated() { f[i * 10 + d] = 1 }
        return f
    }

    static func carryExample(_ a: Int, _ b: Int, digits n: Int) -> W2SExample {
        let (da, db) = (padded(a, n), padded(b, n))
        let carries = zip(da, db).contains { $0 + $1 >= 10 }   // a first carry needs a column ≥ 10
        let sum = padded(a + b, n + 1)
        // Column i (from the right) carries when its digits plus the incoming carry reach 10.
        var carryBits: [Int] = [], carry = 0
        for i in stride(from: n - 1, through: 0, by: -1) {
            carry = da[i] + db[i] + carry >= 10 ? 1 : 0
            carryBits.append(carry)
        }
        let text = da.map(String.init).joined() + "+" + db.map(String.init).joined() + "="
        return W2SExample(features: oneHot(da + db), text: text, label: carries ? 1 : 0,
                          auxiliary: carryBits + sum.reversed(), pretrainingText: text + sum.reversed().map(String.init).joined())
    }

    static func digitExample(_ x: Int, digits n: Int, label: (Int) -> Int) -> W2SExample {
        let d = padded(x, n)
        let s = d.reduce(0, +)
        let text = d.map(String.init).joined() + "="
        return W2SExample(features: oneHot(d), text: text, label: label(s), auxiliary: digits(s, base: 2, count: 7) + digits(s, base: 3, count: 4) + digits(s, base: 10, count: 2),
                          pretrainingText: text + String(String(s).reversed()))
    }
}

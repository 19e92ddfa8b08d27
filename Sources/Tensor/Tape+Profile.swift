/// Wall time per op of a tape's forward ops and backward rules, for finding where a training
/// step goes (`superalign bench train --profile`). Off unless a profile is attached.
///
/// A forward op is charged the time since the previous record (or since `mark()`), since every
/// op computes its result just before it records; a backward rule is timed around its call.
///
/// ```swift
/// let profile = TapeProfile()
/// tape.profile = profile
/// profile.mark(); let loss = try model.loss(tape, …); try tape.backward(loss)
/// for row in profile.rows { print(row.name, row.forwardSeconds, row.backwardSeconds) }
/// ```
public final class TapeProfile {
    /// Totals for one op kind and shape.
    public struct Row {
        public var name: String
        public var forwardSeconds = 0.0
        public var backwardSeconds = 0.0
        public var calls = 0
    }

    /// Steps the totals cover (set by whoever runs them, to report per-step times).
    public var steps = 0

    private var table: [String: Row] = [:]
    private var last = 0.0

    public init() {}

    /// Seconds on a monotonic clock.
    public static func now() -> Double { monotonicSeconds() }

    /// Starts the clock for the next forward op (call before a forward pass).
    public func mark() { last = Self.now() }

    /// Rows, most expensive (forward + backward) first.
    public var rows: [Row] {
        table.values.sorted { $0.forwardSeconds + $0.backwardSeconds > $1.forwardSeconds + $1.backwardSeconds }
    }

    /// Forgets every total.
    public func clear() { table.removeAll() }

    /// Charges `seconds` to a row of its own (work outside the tape, e.g. the optimizer step).
    public func charge(_ name: String, seconds: Double) {
        table[name, default: Row(name: name)].backwardSeconds += seconds
        table[name, default: Row(name: name)].calls += 1
    }

    func forward(_ name: String) {
        let t = Self.now()
        table[name, default: Row(name: name)].forwardSeconds += t - last
        table[name, default: Row(name: name)].calls += 1
        last = t
    }

    func backward(_ name: String, seconds: Double) {
        table[name, default: Row(name: name)].backwardSeconds += seconds
        last = Self.now()
    }
}

extension Tape.Record {
    /// The profile row of this record: the op, and for matrix ops the shapes that set their cost.
    var profileName: String {
        switch op {
        case .linear:
            let x = a!, w = b!
            let act = i0 == 1 ? "+gelu" : i0 == 2 ? "+relu" : ""
            return "linear\(act) \(x.count / w.shape[1])×\(w.shape[1])→\(w.shape[0])"
        case .custom: return "custom " + (custom?.name ?? "?")
        default: return op.rawValue + " " + output.shape.map(String.init).joined(separator: "×")
        }
    }
}

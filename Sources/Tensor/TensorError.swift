/// Every failure the engine reports. Nothing in the public API traps on bad input: shape
/// mismatches, empty tensors, out-of-range indices and non-finite losses all surface as one of
/// these, naming the op and the shapes involved so the message alone locates the bug.
///
/// ```swift
/// do { _ = try tape.add(a, b) }
/// catch let e as TensorError { print(e) }   // "add: shape mismatch [2, 3] vs [3, 2]: …"
/// ```
public enum TensorError: Error, CustomStringConvertible, Equatable {
    /// Operand shapes do not fit together.
    case shapeMismatch(op: String, shapes: [[Int]], detail: String)
    /// An operand has no elements (or a zero-sized dimension) where the op needs some.
    case emptyTensor(op: String, shape: [Int])
    /// A value that must be finite (a loss, a gradient norm) is NaN or infinite.
    case nonFinite(op: String, detail: String)
    /// An index (token id, target, gather index) lies outside its valid range.
    case indexOutOfRange(op: String, index: Int, bound: Int)
    /// An argument is invalid for reasons other than shape (negative size, bad head count, …).
    case invalidArgument(op: String, detail: String)
    /// Backward reached an op that has no gradient rule.
    case missingGradientRule(op: String)

    public var description: String {
        func fmt(_ s: [Int]) -> String { "[" + s.map(String.init).joined(separator: ", ") + "]" }
        switch self {
        case let .shapeMismatch(op, shapes, detail):
            return "\(op): shape mismatch \(shapes.map(fmt).joined(separator: " vs ")): \(detail)"
        case let .emptyTensor(op, shape):
            return "\(op): empty tensor of shape \(fmt(shape))"
        case let .nonFinite(op, detail):
            return "\(op): non-finite value: \(detail)"
        case let .indexOutOfRange(op, index, bound):
            return "\(op): index \(index) out of range 0..<\(bound)"
        case let .invalidArgument(op, detail):
            return "\(op): invalid argument: \(detail)"
        case let .missingGradientRule(op):
            return "backward: no gradient rule for op '\(op)'"
        }
    }
}

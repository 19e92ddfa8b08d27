/// A tensor of Int32 indices (token ids, class targets), contiguous row-major.
///
/// ```swift
/// let ids = try IndexTensor(shape: [2, 3], values: [1, 0, 2, 2, 1, 0])
/// let x = try tape.embedding(wte, ids)    // [2, 3, width]
/// ```
public struct IndexTensor: Sendable, Equatable {
    /// Dimensions, outermost first.
    public private(set) var shape: [Int]
    /// Elements in row-major order.
    public var values: [Int32]

    /// Number of elements.
    public var count: Int { values.count }

    public init(shape: [Int], values: [Int32]) throws {
        guard !shape.contains(where: { $0 < 0 }), shape.reduce(1, *) == values.count else {
            throw TensorError.shapeMismatch(op: "IndexTensor", shapes: [shape, [values.count]],
                                            detail: "shape does not match the number of values")
        }
        self.shape = shape
        self.values = values
    }

    /// A rank-1 index tensor.
    public init(_ values: [Int32]) {
        self.shape = [values.count]
        self.values = values
    }

    /// Same values, new shape (element counts must match).
    public func reshaped(_ newShape: [Int]) throws -> IndexTensor {
        try IndexTensor(shape: Tensor.resolve(newShape, count: count, op: "IndexTensor.reshaped", from: shape),
                        values: values)
    }

    /// Throws unless every value is in `0..<bound` (or equals `ignoring`).
    func check(below bound: Int, ignoring: Int32? = nil, op: String) throws {
        for v in values where v != ignoring && (v < 0 || Int(v) >= bound) {
            throw TensorError.indexOutOfRange(op: op, index: Int(v), bound: bound)
        }
    }
}

/// A dense Float32 tensor: contiguous, row-major, with a shape.
///
/// Tensors are reference types so that autograd can attach a gradient to the very object a
/// model holds (`weight.grad`). Their memory comes from `BufferPool.shared` and returns there
/// when the last reference goes, so a training step that repeats the same shapes allocates no
/// new buffers after the first step.
///
/// - Parameters (trainable weights) are tensors with `requiresGrad = true`. After
///   `tape.backward(loss)`, `weight.grad` holds ∂loss/∂weight (accumulated: call
///   `zeroGrad()` or let the optimizer do it between steps).
/// - Intermediate tensors are produced by `Tape` ops; their gradients are freed during backward.
/// - A rank-0 tensor (shape `[]`) holds one scalar, e.g. a loss: read it with `item`.
///
/// ```swift
/// var rng = RandomGenerator(seed: 0)
/// let w = try Tensor.randn([256, 784], std: 0.02, using: &rng, requiresGrad: true)  // [out, in]
/// let x = try Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
/// x[1, 2]          // 6
/// x.scalars        // [1, 2, 3, 4, 5, 6]
/// ```
public final class Tensor: @unchecked Sendable {
    /// Dimensions, outermost first. `[]` is a scalar.
    public private(set) var shape: [Int]
    /// Number of elements (product of `shape`; 1 for a scalar).
    public let count: Int
    /// The buffer; shared by reshaped views of the same data.
    public let storage: TensorStorage
    /// ∂loss/∂self after `Tape.backward`, for leaves with `requiresGrad` (nil until then).
    public var grad: Tensor?
    /// Whether ops on this tensor are recorded for backward (true for parameters).
    public var requiresGrad: Bool
    /// False for tensors produced by a recorded op: their gradients are transient.
    public internal(set) var isLeaf: Bool = true
    /// Optional label used in error messages and by checkpoint code.
    public var name: String?

    /// First element. Valid for `count` floats (and readable up to `storage.capacity`).
    @inlinable public var data: UnsafeMutablePointer<Float> { storage.base }

    /// Uninitialized tensor; `shape` must be valid (internal: kernels fill it).
    init(uninitialized shape: [Int], requiresGrad: Bool = false) {
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.storage = TensorStorage(count: count)
        self.requiresGrad = requiresGrad
    }

    /// A view with a new shape over the same storage.
    init(view source: Tensor, shape: [Int]) {
        self.shape = shape
        self.count = source.count
        self.storage = source.storage
        self.requiresGrad = source.requiresGrad
    }

    /// Zero-filled tensor.
    static func zerosUnchecked(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
        let t = Tensor(uninitialized: shape, requiresGrad: requiresGrad)
        t.data.initialize(repeating: 0, count: t.count)
        return t
    }

    static func validate(_ shape: [Int], op: String) throws {
        if shape.contains(where: { $0 < 0 }) {
            throw TensorError.invalidArgument(op: op, detail: "negative dimension in shape \(shape)")
        }
    }

    /// A tensor of `shape` filled with `value`.
    public convenience init(shape: [Int], repeating value: Float, requiresGrad: Bool = false) throws {
        try Tensor.validate(shape, op: "Tensor(shape:repeating:)")
        self.init(uninitialized: shape, requiresGrad: requiresGrad)
        data.initialize(repeating: value, count: count)
    }

    /// A tensor of `shape` holding `values` in row-major order (`values.count` must match).
    public convenience init(shape: [Int], values: [Float], requiresGrad: Bool = false) throws {
        try Tensor.validate(shape, op: "Tensor(shape:values:)")
        let n = shape.reduce(1, *)
        guard n == values.count else {
            throw TensorError.shapeMismatch(op: "Tensor(shape:values:)", shapes: [shape, [values.count]],
                                            detail: "shape holds \(n) elements, got \(values.count) values")
        }
        self.init(uninitialized: shape, requiresGrad: requiresGrad)
        values.withUnsafeBufferPointer { data.initialize(from: $0.baseAddress!, count: n) }
    }

    /// A one-element rank-0 tensor.
    public convenience init(scalar: Float, requiresGrad: Bool = false) {
        self.init(uninitialized: [], requiresGrad: requiresGrad)
        data[0] = scalar
    }

    /// A zero-filled tensor.
    public static func zeros(_ shape: [Int], requiresGrad: Bool = false) throws -> Tensor {
        try Tensor(shape: shape, repeating: 0, requiresGrad: requiresGrad)
    }

    /// Normal draws `N(mean, std²)` from `rng` (same seed ⇒ same tensor).
    public static func randn(_ shape: [Int], mean: Float = 0, std: Float = 1,
                             using rng: inout RandomGenerator, requiresGrad: Bool = false) throws -> Tensor {
        try validate(shape, op: "Tensor.randn")
        let t = Tensor(uninitialized: shape, requiresGrad: requiresGrad)
        for i in 0..<t.count { t.data[i] = mean + std * rng.normal() }
        return t
    }

    /// Uniform draws in `[low, high)` from `rng`.
    public static func uniform(_ shape: [Int], low: Float = 0, high: Float = 1,
                               using rng: inout RandomGenerator, requiresGrad: Bool = false) throws -> Tensor {
        try validate(shape, op: "Tensor.uniform")
        let t = Tensor(uninitialized: shape, requiresGrad: requiresGrad)
        for i in 0..<t.count { t.data[i] = low + (high - low) * rng.uniform() }
        return t
    }

    /// Rank (number of dimensions).
    public var rank: Int { shape.count }

    /// The size of the last dimension (1 for a scalar): the "row length" most kernels use.
    public var lastDimension: Int { shape.last ?? 1 }

    /// `count / lastDimension`: rows when the tensor is seen as a matrix `[rows, last]`.
    public var rows: Int { lastDimension == 0 ? 0 : count / lastDimension }

    /// All elements, row-major, as an array (a copy).
    public var scalars: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

    /// The first element: the value of a scalar tensor such as a loss.
    public var item: Float { count > 0 ? data[0] : .nan }

    /// Element at a multi-index (row-major); out-of-range indices read NaN rather than trap.
    public subscript(_ index: Int...) -> Float {
        get { flatIndex(index).map { data[$0] } ?? .nan }
        set { if let i = flatIndex(index) { data[i] = newValue } }
    }

    func flatIndex(_ index: [Int]) -> Int? {
        guard index.count == shape.count else { return nil }
        var flat = 0
        for (i, d) in zip(index, shape) {
            guard i >= 0 && i < d else { return nil }
            flat = flat * d + i
        }
        return flat
    }

    /// Overwrites the contents with `values` (same element count).
    public func copy(from values: [Float]) throws {
        guard values.count == count else {
            throw TensorError.shapeMismatch(op: "Tensor.copy(from:)", shapes: [shape, [values.count]],
                                            detail: "element counts differ")
        }
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }

    /// Copies another tensor's elements into this one (same element count).
    public func copy(from other: Tensor) throws {
        guard other.count == count else {
            throw TensorError.shapeMismatch(op: "Tensor.copy(from:)", shapes: [shape, other.shape],
                                            detail: "element counts differ")
        }
        data.update(from: other.data, count: count)
    }

    /// A deep copy with its own storage (no gradient, not recorded).
    public func clone() -> Tensor {
        let t = Tensor(uninitialized: shape, requiresGrad: requiresGrad)
        t.data.update(from: data, count: count)
        return t
    }

    /// Sets every element to `value`.
    public func fill(_ value: Float) { data.update(repeating: value, count: count) }

    /// Zeroes the gradient in place (keeps its buffer).
    public func zeroGrad() { grad?.fill(0) }

    /// A tensor sharing this one's storage but never recorded for backward.
    public func detached() -> Tensor {
        let t = Tensor(view: self, shape: shape)
        t.requiresGrad = false
        return t
    }

    /// A view with a new shape over the same elements (no copy, not recorded for backward —
    /// use `Tape.reshape` inside a differentiable computation). One dimension may be -1.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        let s = try Tensor.resolve(newShape, count: count, op: "reshaped", from: shape)
        let t = Tensor(view: self, shape: s)
        t.requiresGrad = false
        return t
    }

    static func resolve(_ newShape: [Int], count: Int, op: String, from: [Int]) throws -> [Int] {
        var s = newShape
        let unknown = s.indices.filter { s[$0] == -1 }
        if unknown.count > 1 || s.contains(where: { $0 < -1 }) {
            throw TensorError.invalidArgument(op: op, detail: "bad target shape \(newShape)")
        }
        let known = s.filter { $0 != -1 }.reduce(1, *)
        if let u = unknown.first {
            guard known > 0, count % known == 0 else {
                throw TensorError.shapeMismatch(op: op, shapes: [from, newShape], detail: "cannot infer -1")
            }
            s[u] = count / known
        }
        guard s.reduce(1, *) == count else {
            throw TensorError.shapeMismatch(op: op, shapes: [from, newShape], detail: "element counts differ")
        }
        return s
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = scalars.prefix(8).map { "\($0)" }.joined(separator: ", ")
        return "Tensor\(shape)(\(shown)\(count > 8 ? ", …" : ""))"
    }
}

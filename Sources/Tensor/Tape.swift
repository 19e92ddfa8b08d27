/// A reverse-mode autograd tape over coarse, fused ops.
///
/// Every op (`Tape+Ops.swift`) computes its forward result immediately and, when any input
/// has `requiresGrad`, appends a record. `backward(_:)` walks the records in reverse and applies
/// each op's gradient rule (all rules live in `Tape+Gradients.swift`); rules *accumulate* (+=)
/// into input gradients, so a tensor used twice (a tied embedding, a residual) gets the sum.
/// Leaves (parameters, inputs with `requiresGrad`) keep `.grad` after backward; intermediate
/// gradients are freed as soon as their op's rule has run.
///
/// A training step:
/// ```swift
/// let tape = Tape()
/// let opt = AdamW(parameters: params, learningRate: 3e-4)
/// for step in 0..<steps {
///     let h = try tape.linear(x, w1, b1, activation: .relu)          // w1: [256, 784]
///     let logits = try tape.linear(h, w2, b2)                          // w2: [10, 256]
///     let loss = try tape.crossEntropy(logits, targets: y)            // mean over rows
///     try tape.backward(loss)          // fills w1.grad … ; throws if loss is NaN/Inf
///     try opt.step()                   // updates, then zeroes the gradients
/// }
/// ```
/// After `backward` the tape is empty again (pass `retainGraph: true` to keep it). Intermediate
/// tensors return their buffers to `BufferPool.shared` when the last reference goes, so the
/// second and later steps reuse the first step's memory.
///
/// A tape is not thread-safe: use one per thread (the kernels themselves are multi-threaded).
public final class Tape {
    /// The activation fused into `linear`.
    public enum Activation: String, Sendable { case none, gelu, relu }

    /// How `crossEntropy` reduces per-row losses.
    public enum Reduction: String, Sendable {
        /// Σ wᵢℓᵢ / (number of non-ignored rows) — PyTorch's `mean` with `ignore_index`.
        case mean
        /// Σ wᵢℓᵢ / Σ wᵢ over non-ignored rows (a weighted average).
        case weightedMean
        /// Σ wᵢℓᵢ.
        case sum
        /// Per-row losses, shape = the targets' shape (0 for ignored rows).
        case none
    }

    /// The differentiable ops. A case without a rule in `Tape+Gradients.swift` makes backward
    /// throw `TensorError.missingGradientRule`.
    enum Op: String {
        case linear, matmul, batchedMatmul, add, sub, mul, scale, addScalar
        case gelu, relu, sigmoid, logSigmoid, tanh, exp, log
        case sum, mean, sumLastAxis
        case softmax, logSoftmax, layerNorm, embedding, attention, crossEntropy
        case gather, reshape, sliceRows, concatRows, custom
    }

    struct Record {
        var op: Op
        var output: Tensor
        var a: Tensor? = nil
        var b: Tensor? = nil
        var c: Tensor? = nil
        var saved0: Tensor? = nil
        var saved1: Tensor? = nil
        var saved2: Tensor? = nil
        var ids: IndexTensor? = nil
        var i0 = 0, i1 = 0, i2 = 0
        var f0: Float = 0
        var flag0 = false, flag1 = false
        var custom: CustomRule? = nil
        var inputs: [Tensor] = []
    }

    /// The backward of a user-defined op (see `custom(_:inputs:output:backward:)`).
    final class CustomRule {
        let name: String
        let backward: ((Tensor, [Tensor?]) throws -> Void)?
        init(name: String, backward: ((Tensor, [Tensor?]) throws -> Void)?) { self.name = name; self.backward = backward }
    }

    var records: [Record] = []

    /// When false, ops compute results but record nothing (inference, evaluation).
    public var isRecording = true

    /// Per-op timing, when attached (see `TapeProfile`).
    public var profile: TapeProfile?

    public init() {
        records.reserveCapacity(256)
    }

    /// Number of recorded ops (for diagnostics and tests).
    public var recordCount: Int { records.count }

    /// Drops every record (and with them the references to intermediate tensors).
    public func reset() { records.removeAll(keepingCapacity: true) }

    /// Runs `body` with recording switched off.
    public func withoutRecording<T>(_ body: () throws -> T) rethrows -> T {
        let saved = isRecording
        isRecording = false
        defer { isRecording = saved }
        return try body()
    }

    /// Whether an op on these inputs must be recorded.
    @inline(__always) func shouldRecord(_ inputs: Tensor?...) -> Bool {
        guard isRecording else { return false }
        for t in inputs where t?.requiresGrad == true { return true }
        return false
    }

    /// Appends a record and marks its output as a non-leaf that requires grad.
    @inline(__always) func push(_ r: Record) {
        r.output.requiresGrad = true
        r.output.isLeaf = false
        records.append(r)
        if let profile { profile.forward(r.profileName) }
    }

    /// Registers a user-defined differentiable op whose forward the caller already computed.
    /// `backward` receives the output gradient and the inputs' gradient tensors (nil for inputs
    /// that do not require grad) and must *add* into them. Passing `nil` for `backward` records
    /// an op without a rule: `Tape.backward` then throws `missingGradientRule(name)` if the
    /// loss depends on it.
    ///
    /// ```swift
    /// let y = try computeSomething(x)            // any forward
    /// tape.custom("myOp", inputs: [x], output: y) { dy, grads in
    ///     ElementwiseKernels.accumulate(dy.data, into: grads[0]!.data, count: dy.count)
    /// }
    /// ```
    public func custom(_ name: String, inputs: [Tensor], output: Tensor,
                       backward: ((_ outputGrad: Tensor, _ inputGrads: [Tensor?]) throws -> Void)?) {
        guard isRecording, inputs.contains(where: { $0.requiresGrad }) else { return }
        var r = Record(op: .custom, output: output)
        r.inputs = inputs
        r.custom = CustomRule(name: name, backward: backward)
        push(r)
    }

    /// The gradient tensor of `t`, created zero-filled on first use; nil when `t` needs none.
    @inline(__always) func gradient(_ t: Tensor?) -> Tensor? {
        guard let t, t.requiresGrad else { return nil }
        if let g = t.grad { return g }
        let g = Tensor.zerosUnchecked(t.shape)
        t.grad = g
        return g
    }

    /// The gradient of `t` for a rule that writes every element of it: a fresh buffer, left
    /// uninitialized, when `t` has none yet (`accumulate` false: the rule overwrites it, saving
    /// the zero-fill), else the existing one (`accumulate` true: the rule adds into it).
    @inline(__always) func gradientForWrite(_ t: Tensor?) -> (tensor: Tensor, accumulate: Bool)? {
        guard let t, t.requiresGrad else { return nil }
        if let g = t.grad { return (g, true) }
        let g = Tensor(uninitialized: t.shape)
        t.grad = g
        return (g, false)
    }

    /// Back-propagates from `loss`: fills `.grad` of every leaf with `requiresGrad` that the
    /// loss depends on (accumulating onto existing gradients).
    ///
    /// - Parameters:
    ///   - loss: a one-element tensor (or any tensor when `seed` is given).
    ///   - seed: ∂L/∂loss; defaults to 1.
    ///   - retainGraph: keep the records (to call backward again); otherwise the tape is reset.
    /// - Throws: `nonFinite` if the loss is NaN or infinite (no gradient is touched then),
    ///   `missingGradientRule` for an op without a rule, shape errors for a bad `seed`.
    public func backward(_ loss: Tensor, seed: Tensor? = nil, retainGraph: Bool = false) throws {
        defer { if !retainGraph { reset() } }
        if let seed {
            guard seed.count == loss.count else {
                throw TensorError.shapeMismatch(op: "backward", shapes: [loss.shape, seed.shape],
                                                detail: "seed gradient must match the output")
            }
        } else if loss.count != 1 {
            throw TensorError.invalidArgument(op: "backward", detail: "loss of shape \(loss.shape) is not a scalar; pass `seed:`")
        }
        for i in 0..<loss.count where !loss.data[i].isFinite {
            throw TensorError.nonFinite(op: "backward", detail: "loss\(loss.count > 1 ? "[\(i)]" : "") = \(loss.data[i])")
        }
        guard loss.requiresGrad else {
            throw TensorError.invalidArgument(op: "backward", detail: "loss does not depend on any tensor that requires grad")
        }
        // Find the first rule-less op before touching any gradient, so a failure leaves
        // parameter gradients as they were.
        for r in records where r.op == .custom && r.custom?.backward == nil {
            throw TensorError.missingGradientRule(op: r.custom?.name ?? "custom")
        }
        let g = gradient(loss)!
        if let seed { ElementwiseKernels.accumulate(seed.data, into: g.data, count: g.count) } else { g.data[0] += 1 }
        for index in records.indices.reversed() {
            let r = records[index]
            guard let gOut = r.output.grad else { continue }
            if let profile {
                let t0 = TapeProfile.now()
                try applyRule(r, gOut)
                profile.backward(r.profileName, seconds: TapeProfile.now() - t0)
            } else {
                try applyRule(r, gOut)
            }
            if !r.output.isLeaf { r.output.grad = nil }
        }
    }
}

/// An optimizer updates parameters in place from their `.grad`.
///
/// `step()` applies one update (parameters without a gradient are skipped) and then zeroes the
/// gradients, so a loop is just forward → `tape.backward(loss)` → `optimizer.step()`.
/// `learningRate` may be changed between steps (see `LearningRateSchedule`).
public protocol Optimizer: AnyObject {
    /// The tensors updated by `step()`.
    var parameters: [Tensor] { get }
    /// The step size used by the next `step()`.
    var learningRate: Float { get set }
    /// Applies one update, then zeroes every gradient. Throws `nonFinite` (before changing any
    /// parameter) if a gradient holds NaN or infinity.
    func step() throws
}

extension Optimizer {
    /// Zeroes every parameter's gradient (keeping the buffers).
    public func zeroGrad() { for p in parameters { p.zeroGrad() } }

    /// Throws if any gradient element is not finite, naming the parameter.
    func checkGradients(_ op: String) throws {
        for (i, p) in parameters.enumerated() {
            guard let g = p.grad else { continue }
            let s = ReductionKernels.sumOfSquares(g.data, count: g.count)
            if !s.isFinite {
                throw TensorError.nonFinite(op: op, detail: "gradient of parameter \(p.name ?? "#\(i)") \(p.shape)")
            }
        }
    }
}

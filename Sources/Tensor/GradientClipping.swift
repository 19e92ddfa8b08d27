/// Scales all gradients so that their global L2 norm is at most `maxNorm` (PyTorch's
/// `clip_grad_norm_`: coefficient `maxNorm / (norm + 1e-6)`, applied only when below 1).
/// Returns the norm before clipping; throws `nonFinite` if it is NaN or infinite.
@discardableResult
public func clipGradientNorm(_ parameters: [Tensor], maxNorm: Float) throws -> Float {
    var total = 0.0
    for p in parameters { if let g = p.grad { total += ReductionKernels.sumOfSquares(g.data, count: g.count) } }
    let norm = Float(total.squareRoot())
    guard norm.isFinite else { throw TensorError.nonFinite(op: "clipGradientNorm", detail: "gradient norm is \(norm)") }
    let coef = maxNorm / (norm + 1e-6)
    if coef < 1 {
        for p in parameters { if let g = p.grad { ElementwiseKernels.affine(g.data, g.data, count: g.count, alpha: coef) } }
    }
    return norm
}

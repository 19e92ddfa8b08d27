import Tensor
import XCTest

/// AdamW over parameters long enough for the vector loop (two full 16-lane vectors and a ragged
/// tail; two tensors, one without weight decay), against the formula written out in double
/// precision here, step by step. A vector loop that dropped a bias correction, the decay, or the
/// ε placement fails it; the 6-parameter PyTorch fixture never reaches that loop.
final class AdamWVectorTests: XCTestCase {
    func testLongParametersFollowTheFormulaStepByStep() throws {
        let sizes = [37, 70]
        let lr = 3e-2, beta1 = 0.9, beta2 = 0.95, eps = 1e-6, decay = 0.1
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func draw() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 500
        }
        let params = try sizes.map { n in try Tensor(shape: [n], values: (0..<n).map { _ in draw() }) }
        let opt = AdamW(parameters: params, learningRate: Float(lr), beta1: Float(beta1), beta2: Float(beta2), eps: Float(eps),
                        weightDecay: Float(decay), noDecay: [params[1]])
        var theta = params.map { $0.scalars.map(Double.init) }
        var m = sizes.map { [Double](repeating: 0, count: $0) }
        var v = sizes.map { [Double](repeating: 0, count: $0) }
        for t in 1...6 {
            for (k, p) in params.enumerated() {
                let g = (0..<sizes[k]).map { _ in draw() }
                p.grad = try Tensor(shape: [sizes[k]], values: g)
                for i in 0..<sizes[k] {
                    let gi = Double(g[i])
                    if k == 0 { theta[k][i] *= 1 - lr * decay }
                    m[k][i] = beta1 * m[k][i] + (1 - beta1) * gi
                    v[k][i] = beta2 * v[k][i] + (1 - beta2) * gi * gi
                    let mHat = m[k][i] / (1 - pow(beta1, Double(t)))
                    let denom = (v[k][i]).squareRoot() / (1 - pow(beta2, Double(t))).squareRoot() + eps
                    theta[k][i] -= lr * mHat / denom
                }
            }
            try opt.step()
            for (k, p) in params.enumerated() {
                let got = p.scalars
                for i in 0..<sizes[k] {
                    XCTAssertEqual(Double(got[i]), theta[k][i], accuracy: 2e-5 + 2e-5 * abs(theta[k][i]),
                                   "step \(t), tensor \(k), element \(i)")
                }
                let (mk, vk) = opt.moments(of: k)
                for i in [0, 15, 16, 31, 32, sizes[k] - 1] {
                    XCTAssertEqual(Double(mk.scalars[i]), m[k][i], accuracy: 1e-5 + 1e-5 * abs(m[k][i]), "m, step \(t)")
                    XCTAssertEqual(Double(vk.scalars[i]), v[k][i], accuracy: 1e-5 + 1e-4 * abs(v[k][i]), "v, step \(t)")
                }
            }
        }
    }
}

import Foundation
import XCTest
import TestSupport
@testable import Tensor

/// Deterministic random tensors for tests.
func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1, requiresGrad: Bool = false) -> Tensor {
    var rng = RandomGenerator(seed: seed)
    return try! Tensor.randn(shape, std: scale, using: &rng, requiresGrad: requiresGrad)
}

/// Asserts element-wise closeness: |a − e| ≤ atol + rtol·|e|.
func assertClose(_ actual: [Float], _ expected: [Double], atol: Double = 1e-5, rtol: Double = 1e-4,
                 _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, "\(message): count", file: file, line: line)
    var worst = 0.0, worstIndex = -1
    for (i, (a, e)) in zip(actual, expected).enumerated() {
        let err = abs(Double(a) - e) - (atol + rtol * abs(e))
        if !(err <= 0) && (worstIndex < 0 || err > worst) { worst = err; worstIndex = i }
    }
    if worstIndex >= 0 {
        XCTFail("\(message): element \(worstIndex) is \(actual[worstIndex]), expected \(expected[worstIndex])",
                file: file, line: line)
    }
}

func assertClose(_ actual: [Float], _ expected: [Float], atol: Double = 1e-5, rtol: Double = 1e-4,
                 _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
    assertClose(actual, expected.map(Double.init), atol: atol, rtol: rtol, message, file: file, line: line)
}

/// Finite-difference gradient check of `build` with respect to each tensor in `inputs` that
/// requires grad. The scalar checked is L = Σ output ⊙ R for a fixed random R (evaluated in
/// Double), so every output element's gradient path is exercised.
func checkGradients(_ inputs: [Tensor], step h: Float = 1e-2, atol: Double = 2e-3, rtol: Double = 2e-2,
                    maxElements: Int = 48, file: StaticString = #filePath, line: UInt = #line,
                    _ build: (Tape) throws -> Tensor) throws {
    let tape = Tape()
    let out = try build(tape)
    let r = randomTensor(out.shape, seed: 99)
    for t in inputs { t.grad = nil }
    try tape.backward(out, seed: r)
    let analytic = inputs.map { $0.grad?.scalars ?? [Float](repeating: 0, count: $0.count) }
    func loss() throws -> Double {
        let t = Tape()
        t.isRecording = false
        let o = try build(t)
        var s = 0.0
        for i in 0..<o.count { s += Double(o.data[i]) * Double(r.data[i]) }
        return s
    }
    for (n, x) in inputs.enumerated() where x.requiresGrad {
        let stride = max(1, x.count / maxElements)
        for i in Swift.stride(from: 0, to: x.count, by: stride) {
            let saved = x.data[i]
            x.data[i] = saved + h
            let up = try loss()
            x.data[i] = saved - h
            let down = try loss()
            x.data[i] = saved
            let numeric = (up - down) / (2 * Double(h))
            let a = Double(analytic[n][i])
            if abs(a - numeric) > atol + rtol * max(abs(a), abs(numeric)) {
                XCTFail("input \(n) \(x.shape) element \(i): analytic \(a), numeric \(numeric)", file: file, line: line)
                return
            }
        }
    }
}

/// The committed numpy fixtures (see Scripts/gen_tensor_fixtures.py).
enum Fixtures {
    static let all: [String: Any] = {
        let url = TestSupport.repositoryRoot.appendingPathComponent("Tests/TensorTests/Fixtures/tensor_fixtures.json")
        let data = try! Data(contentsOf: url)
        return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
    }()

    static func group(_ name: String) -> [String: Any] { all[name] as! [String: Any] }

    static func doubles(_ g: [String: Any], _ key: String) -> [Double] {
        ((g[key] as! [String: Any])["data"] as! [Any]).map { ($0 as! NSNumber).doubleValue }
    }

    static func shape(_ g: [String: Any], _ key: String) -> [Int] {
        ((g[key] as! [String: Any])["shape"] as! [Any]).map { ($0 as! NSNumber).intValue }
    }

    static func tensor(_ g: [String: Any], _ key: String, requiresGrad: Bool = false) -> Tensor {
        try! Tensor(shape: shape(g, key), values: doubles(g, key).map { Float($0) }, requiresGrad: requiresGrad)
    }

    static func indices(_ g: [String: Any], _ key: String) -> IndexTensor {
        try! IndexTensor(shape: shape(g, key), values: doubles(g, key).map { Int32($0) })
    }
}

/// Runs `body` with the pool set to `threads`, restoring the previous count.
func withThreads<T>(_ threads: Int, _ body: () throws -> T) rethrows -> T {
    let saved = ThreadPool.shared.threadCount
    ThreadPool.shared.threadCount = threads
    defer { ThreadPool.shared.threadCount = saved }
    return try body()
}

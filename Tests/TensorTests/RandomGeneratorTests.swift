import XCTest
@testable import Tensor

final class RandomGeneratorTests: XCTestCase {
    func testSameSeedGivesSameStream() {
        var a = RandomGenerator(seed: 7), b = RandomGenerator(seed: 7)
        for _ in 0..<1000 { XCTAssertEqual(a.next(), b.next()) }
    }

    func testDifferentSeedsDiverge() {
        var a = RandomGenerator(seed: 1), b = RandomGenerator(seed: 2)
        XCTAssertNotEqual((0..<8).map { _ in a.next() }, (0..<8).map { _ in b.next() })
    }

    func testUniformAndNormalMoments() {
        var rng = RandomGenerator(seed: 3)
        let n = 200_000
        var su = 0.0, sz = 0.0, sz2 = 0.0
        for _ in 0..<n {
            let u = rng.uniform(); XCTAssert(u >= 0 && u < 1)
            su += Double(u)
            let z = Double(rng.normal()); sz += z; sz2 += z * z
        }
        XCTAssertEqual(su / Double(n), 0.5, accuracy: 0.01)
        XCTAssertEqual(sz / Double(n), 0, accuracy: 0.01)
        XCTAssertEqual(sz2 / Double(n), 1, accuracy: 0.02)
    }

    func testBelowStaysInRangeAndCoversIt() {
        var rng = RandomGenerator(seed: 9)
        var seen = Set<Int>()
        for _ in 0..<1000 { let v = rng.below(7); XCTAssert((0..<7).contains(v)); seen.insert(v) }
        XCTAssertEqual(seen.count, 7)
    }
}

import Foundation
import XCTest
@testable import Superalign
import Models
import Tensor
import TestSupport

final class WeakToStrongPGRTests: XCTestCase {
    func testPGRIsTheFractionOfTheGapRecovered() throws {
        XCTAssertEqual(try XCTUnwrap(PGR.compute(weak: 0.70, weakToStrong: 0.85, ceiling: 0.90)), 0.75, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(PGR.compute(weak: 0.6, weakToStrong: 0.6, ceiling: 0.8)), 0, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(PGR.compute(weak: 0.6, weakToStrong: 0.8, ceiling: 0.8)), 1, accuracy: 1e-12)
        // A student worse than its supervisor has negative PGR; one beyond the ceiling, above 1.
        XCTAssertEqual(try XCTUnwrap(PGR.compute(weak: 0.6, weakToStrong: 0.5, ceiling: 0.8)), -0.5, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(PGR.compute(weak: 0.6, weakToStrong: 0.9, ceiling: 0.8)), 1.5, accuracy: 1e-12)
    }

    func testPGRIsUndefinedWhenTheCeilingDoesNotBeatTheWeakModel() {
        XCTAssertNil(PGR.compute(weak: 0.8, weakToStrong: 0.9, ceiling: 0.8))
        XCTAssertNil(PGR.compute(weak: 0.8, weakToStrong: 0.9, ceiling: 0.7))
        XCTAssertNil(PGR.compute(weak: 0.5, weakToStrong: .nan, ceiling: 0.9))
    }

    func testMedianSkipsUndefinedValues() {
        XCTAssertEqual(PGR.median([0.2, nil, 0.6, 0.4]), 0.4)
        XCTAssertEqual(PGR.median([0.6, 0.2]), 0.4)
        XCTAssertEqual(PGR.median([0.9, -0.1, 0.3]), 0.3)
        XCTAssertNil(PGR.median([nil, nil]))
        XCTAssertNil(PGR.median([]))
    }

    func testSeedResultComputesPGRAndBestStepFromItsAccuracies() throws {
        let steps = [W2SEvaluationStep(step: 10, testAccuracy: 0.7, pgr: PGR.compute(weak: 0.6, weakToStrong: 0.7, ceiling: 0.8)),
                     W2SEvaluationStep(step: 20, testAccuracy: 0.78, pgr: PGR.compute(weak: 0.6, weakToStrong: 0.78, ceiling: 0.8)),
                     W2SEvaluationStep(step: 30, testAccuracy: 0.72, pgr: PGR.compute(weak: 0.6, weakToStrong: 0.72, ceiling: 0.8))]
        let r = W2SSeedResult(seed: 3, weakAccuracy: 0.6, w2sAccuracy: 0.72, strongCeilingAccuracy: 0.8,
                              weakLabelAccuracy: 0.61, agreement: 0.7, agreementOnWeakErrors: 0.3, steps: steps)
        XCTAssertEqual(try XCTUnwrap(r.pgr), 0.6, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(r.bestPGR), 0.9, accuracy: 1e-9)
        XCTAssertEqual(r.bestStep, 20)
        let undefined = W2SSeedResult(seed: 0, weakAccuracy: 0.9, w2sAccuracy: 0.9, strongCeilingAccuracy: 0.85,
                                      weakLabelAccuracy: 0.9, agreement: 1, agreementOnWeakErrors: nil, steps: [])
        let config = W2SConfigurationResult(weak: "w", strong: "s", loss: "xent", seeds: [r, undefined])
        XCTAssertEqual(try XCTUnwrap(config.medianPGR), 0.6, accuracy: 1e-9)
        XCTAssertEqual(config.definedPGRCount, 1)
    }

    func testUndefinedPGRIsWrittenAsJSONNullAndReadBack() throws {
        let r = W2SSeedResult(seed: 0, weakAccuracy: 0.9, w2sAccuracy: 0.9, strongCeilingAccuracy: 0.9,
                              weakLabelAccuracy: 0.9, agreement: 1, agreementOnWeakErrors: nil, steps: [])
        let c = W2SConfigurationResult(weak: "linear", strong: "mlp:8", loss: "xent", seeds: [r])
        let json = String(decoding: try JSONEncoder().encode(c), as: UTF8.self)
        XCTAssertTrue(json.contains("\"median_pgr\":null"), json)
        XCTAssertTrue(json.contains("\"pgr\":null"), json)
        XCTAssertTrue(json.contains("\"strong_ceiling_accuracy\":0.9"), json)
        XCTAssertEqual(try JSONDecoder().decode(W2SConfigurationResult.self, from: Data(json.utf8)), c)
    }
}

final class WeakToStrongLossTests: XCTestCase {
    func testAlphaWarmsUpLinearlyThenStaysAtItsFinalValue() {
        let w = ConfidenceWarmup(finalAlpha: 0.5, warmupFraction: 0.2)
        XCTAssertEqual(w.alpha(step: 0, totalSteps: 100), 0)
        XCTAssertEqual(w.alpha(step: 10, totalSteps: 100), 0.25, accuracy: 1e-12)
        XCTAssertEqual(w.alpha(step: 20, totalSteps: 100), 0.5, accuracy: 1e-12)
        XCTAssertEqual(w.alpha(step: 99, totalSteps: 100), 0.5, accuracy: 1e-12)
        XCTAssertEqual(ConfidenceWarmup(finalAlpha: 0.3, warmupFraction: 0).alpha(step: 0, totalSteps: 100), 0.3)
        let defaults = ConfidenceWarmup()
        XCTAssertEqual(defaults.finalAlpha, 0.5)
        XCTAssertEqual(defaults.warmupFraction, 0.2)
    }

    func testQuotasFollowTheClassBalanceAndSumToTheRowCount() {
        XCTAssertEqual(ClassBalance.quotas(fractions: [0.75, 0.25], count: 4), [3, 1])
        XCTAssertEqual(ClassBalance.quotas(fractions: [0.5, 0.5], count: 5), [3, 2])
        XCTAssertEqual(ClassBalance.quotas(fractions: [0.2, 0.3, 0.5], count: 7).reduce(0, +), 7)
        XCTAssertEqual(ClassBalance.quotas(fractions: [1, 0], count: 6), [6, 0])
    }

    func testBinaryHardeningThresholdsAtTheWeakLabelsClassBalance() {
        // p₁ of 8 rows; a plain arg-max would give five 1s.
        let p1: [Float] = [0.9, 0.8, 0.7, 0.65, 0.6, 0.3, 0.2, 0.1]
        let probs = p1.flatMap { [1 - $0, $0] }
        let weakTargets = WeakToStrong.oneHot([1, 0, 0, 1, 0, 0, 0, 0], classes: 2)   // 25% class 1
        let fractions = ClassBalance.fractions(of: weakTargets, classes: 2)
        XCTAssertEqual(fractions, [0.75, 0.25])
        let hard = ClassBalance.harden(probabilities: probs, classes: 2, fractions: fractions)
        XCTAssertEqual(hard, [1, 1, 0, 0, 0, 0, 0, 0])
        // The same as thresholding p₁ at its (1 − π₁) quantile, for every balance.
        for ones in 0...8 {
            let h = ClassBalance.harden(probabilities: probs, classes: 2, fractions: [Double(8 - ones) / 8, Double(ones) / 8])
            XCTAssertEqual(h, (0..<8).map { $0 < ones ? 1 : 0 }, "\(ones) ones")
        }
    }

    func testMulticlassHardeningMatchesEveryQuota() {
        var rng = RandomGenerator(seed: 7)
        let n = 50, k = 3
        var probs: [Float] = []
        for _ in 0..<n {
            let raw = (0..<k).map { _ in rng.uniform() + 0.01 }
            let s = raw.reduce(0, +)
            probs += raw.map { $0 / s }
        }
        let hard = ClassBalance.harden(probabilities: probs, classes: k, fractions: [0.5, 0.3, 0.2])
        XCTAssertEqual((0..<k).map { c in hard.filter { $0 == c }.count }, [25, 15, 10])
    }

    func testSoftCrossEntropyWithOneHotTargetsIsCrossEntropy() throws {
        let tape = Tape()
        let logits = try Tensor(shape: [3, 2], values: [0.5, -1, 2, 0.25, -0.3, 0.7])
        let labels = [1, 0, 1]
        let soft = try tape.softCrossEntropy(logits, targets: WeakToStrong.oneHot(labels, classes: 2)).item
        let hard = try tape.crossEntropy(logits, targets: IndexTensor(labels.map(Int32.init))).item
        XCTAssertEqual(soft, hard, accuracy: 1e-5)
        // Linear in the target: the logconf mixture is a mixture of the two losses.
        let a = WeakToStrong.oneHot([1, 0, 1], classes: 2), b = WeakToStrong.oneHot([0, 0, 1], classes: 2)
        let mixed = try tape.softCrossEntropy(logits, targets: zip(a, b).map { 0.7 * $0 + 0.3 * $1 }).item
        let separate = try 0.7 * tape.softCrossEntropy(logits, targets: a).item + 0.3 * tape.softCrossEntropy(logits, targets: b).item
        XCTAssertEqual(mixed, separate, accuracy: 1e-5)
    }
}

final class WeakToStrongSpecTests: XCTestCase {
    func testSpecsParseAndPrintBack() throws {
        for text in ["linear", "mlp:16", "mlp:256,256+pretrain", "gpt:2x64", "gpt:1x32+pretrain", "gpt:2x64x2"] {
            XCTAssertEqual(try W2SModelSpec(text).description, text)
        }
        XCTAssertEqual(try W2SModelSpec("mlp:128x3").architecture, .mlp(hidden: [128, 128, 128]))
        XCTAssertEqual(try W2SModelSpec("gpt:2x64").architecture, .gpt(layers: 2, width: 64, heads: 4))
        XCTAssertTrue(try W2SModelSpec("mlp:8+pt").pretrain)
        for bad in ["mlp:", "mlp:0", "mlp:a,b", "gpt:2", "gpt:2x60x7", "resnet:50"] {
            XCTAssertThrowsError(try W2SModelSpec(bad), bad) { error in
                XCTAssertTrue("\(error)".contains(bad), "\(error)")
            }
        }
    }
}

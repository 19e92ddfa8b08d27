import Foundation
import TestSupport
import XCTest
@testable import Tensor

/// What the binary reports it was built for (`BuildInfo`), against the defines it was compiled
/// with and recorded machines' /proc/cpuinfo (Scripts/tests/fixtures/build-flags).
final class BuildInfoTests: XCTestCase {
    static let avx512Set: Set<String> = ["sse2", "avx", "avx2", "fma", "bmi2", "avx512f", "avx512bw", "avx512dq",
                                         "avx512vl", "avx512cd"]
    static let avx2Set: Set<String> = ["sse2", "avx", "avx2", "fma", "bmi2"]

    static var fixtures: URL {
        TestSupport.repositoryRoot.appendingPathComponent("Scripts/tests/fixtures/build-flags")
    }

    static func fixtureFeatures(_ name: String) throws -> Set<String> {
        let text = try String(contentsOf: fixtures.appendingPathComponent(name), encoding: .utf8)
        return BuildInfo.features(cpuinfo: text)
    }

    // MARK: The compiled build

    func testKernelsAndFMAAgreeWithTheDefinesAndTheVectorWidth() {
        #if SUPERALIGN_AVX512
        XCTAssertEqual(BuildInfo.kernels, "avx512")
        XCTAssertEqual(VecF.scalarCount, 16)
        #elseif SUPERALIGN_AVX2
        XCTAssertEqual(BuildInfo.kernels, "avx2")
        XCTAssertEqual(VecF.scalarCount, 8)
        #elseif SUPERALIGN_NEON
        XCTAssertEqual(BuildInfo.kernels, "neon")
        XCTAssertEqual(VecF.scalarCount, 4)
        #else
        XCTAssertEqual(BuildInfo.kernels, "baseline")
        XCTAssertEqual(VecF.scalarCount, 4)
        #endif
        #if SUPERALIGN_FMA
        XCTAssertTrue(BuildInfo.fma)
        #else
        XCTAssertFalse(BuildInfo.fma)
        #endif
    }

    func testSummaryNamesKernelsFMAAndTargetCPU() {
        XCTAssertEqual(BuildInfo.summary,
                       "kernels \(BuildInfo.kernels) (\(BuildInfo.fma ? "FMA" : "no FMA")), target CPU \(BuildInfo.targetCPU)")
    }

    /// Every CPU in build-flags.sh's table has its `#elseif SUPERALIGN_TARGET_…` branch in
    /// BuildInfo.swift (the script's comment asks for one with each new CPU), and the compiled
    /// target is one of them or the default.
    func testTargetCPUChainCoversBuildFlagsTable() throws {
        let script = try String(contentsOf: TestSupport.repositoryRoot.appendingPathComponent("Scripts/build-flags.sh"),
                                encoding: .utf8)
        let source = try String(contentsOf: TestSupport.repositoryRoot.appendingPathComponent("Sources/Tensor/BuildInfo.swift"),
                                encoding: .utf8)
        guard let start = script.range(of: "TABLE=\"\n"),
              let end = script.range(of: "\"\n", range: start.upperBound..<script.endIndex) else {
            return XCTFail("no TABLE=\"...\" in Scripts/build-flags.sh")
        }
        let names = script[start.upperBound..<end.lowerBound].split(separator: "\n")
            .map { $0.split(separator: " ") }.filter { $0.count == 2 }.map { String($0[0]) }
        XCTAssertGreaterThan(names.count, 40, "the table should list every supported CPU")
        let sourceLines = Set(source.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) })
        for name in names {
            let define = "SUPERALIGN_TARGET_" + name.map { $0 == "-" || $0 == "." ? "_" : String($0) }.joined()
            XCTAssertTrue(sourceLines.contains("#if \(define)") || sourceLines.contains("#elseif \(define)"),
                          "no branch for \(define) in BuildInfo.swift")
            XCTAssertTrue(sourceLines.contains("return \"\(name)\""), "no name \"\(name)\" in BuildInfo.swift")
        }
        XCTAssertTrue(names.contains(BuildInfo.targetCPU) || BuildInfo.targetCPU == BuildInfo.defaultTargetCPU,
                      BuildInfo.targetCPU)
    }

    // MARK: The running CPU

    func testFeaturesFromRecordedCPUInfo() throws {
        let zen5 = try Self.fixtureFeatures("cpuinfo-zen5-epyc.txt")
        XCTAssertTrue(zen5.isSuperset(of: ["avx512f", "avx512bw", "avx512dq", "avx512vl", "fma", "avx2", "fpu"]))
        XCTAssertFalse(zen5.contains(":"))
        let neoverse = try Self.fixtureFeatures("cpuinfo-arm64-neoverse-n1.txt")
        XCTAssertTrue(neoverse.isSuperset(of: ["fp", "asimd", "atomics"]))
        XCTAssertEqual(BuildInfo.features(cpuinfo: "processor\t: 0\nmodel name\t: x\n"), [])
        XCTAssertEqual(BuildInfo.features(cpuinfo: "flags\t\t: a b\nflags\t\t: c\n"), ["a", "b"], "the first line only")
    }

    func testRunningCPUFeaturesReadsProcCPUInfo() {
        let features = BuildInfo.runningCPUFeatures()
        #if os(Linux) && (arch(x86_64) || arch(arm64))
        if FileManager.default.isReadableFile(atPath: "/proc/cpuinfo") {
            XCTAssertFalse(features.isEmpty, "no flags/Features line read from /proc/cpuinfo")
            #if arch(x86_64)
            XCTAssertTrue(features.contains("sse2"), "every x86-64 CPU has SSE2")
            #endif
        }
        #else
        XCTAssertTrue(features.isEmpty)
        #endif
    }

    func testBestKernelsFollowsBuildFlagsRule() throws {
        #if arch(x86_64)
        XCTAssertEqual(BuildInfo.bestKernels(for: Self.avx512Set), "avx512")
        XCTAssertEqual(BuildInfo.bestKernels(for: Self.avx2Set), "avx2")
        XCTAssertEqual(BuildInfo.bestKernels(for: ["avx2", "fma"]), "avx2")
        XCTAssertEqual(BuildInfo.bestKernels(for: ["avx2"]), "baseline", "AVX2 without FMA")
        XCTAssertEqual(BuildInfo.bestKernels(for: Self.avx512Set.subtracting(["avx512vl"])), "avx2")
        XCTAssertEqual(BuildInfo.bestKernels(for: []), "baseline")
        // Recorded machines, with the kernels build-flags.sh picks for them.
        let recorded = [
            ("cpuinfo-zen5-epyc.txt", "avx512"), ("flags-zen4-epyc9654.txt", "avx512"),
            ("flags-cascadelake-xeon8259cl.txt", "avx512"), ("flags-sapphirerapids-xeon8488c.txt", "avx512"),
            ("flags-zen4-avx512-hidden.txt", "avx2"), ("flags-zen3-epyc7763.txt", "avx2"),
            ("flags-haswell-xeon-e5-2676v3.txt", "avx2"), ("flags-westmere-no-avx.txt", "baseline"),
        ]
        for (file, expected) in recorded {
            XCTAssertEqual(BuildInfo.bestKernels(for: try Self.fixtureFeatures(file)), expected, file)
        }
        #elseif arch(arm64)
        XCTAssertEqual(BuildInfo.bestKernels(for: try Self.fixtureFeatures("cpuinfo-arm64-neoverse-n1.txt")), "neon")
        XCTAssertEqual(BuildInfo.bestKernels(for: []), "neon")
        #else
        XCTAssertEqual(BuildInfo.bestKernels(for: Self.avx512Set), "baseline")
        #endif
    }

    // MARK: The warning

    func testNoWarningWithoutFeatures() {
        XCTAssertNil(BuildInfo.warning(features: []))
    }

    func testWarningWhenTheCPUSupportsWiderKernelsThanCompiled() {
        let generic = BuildInfo.genericLevels.contains(BuildInfo.targetCPU)
        #if arch(x86_64)
        let avx512 = BuildInfo.warning(features: Self.avx512Set)
        let avx2 = BuildInfo.warning(features: Self.avx2Set)
        switch BuildInfo.kernels {
        case "avx512":
            if generic {
                XCTAssertEqual(avx512, "built for the generic \(BuildInfo.targetCPU) level: the compiler did not know this CPU "
                                       + "(the code is not tuned for it; a newer Swift toolchain may know it)")
            } else {
                XCTAssertNil(avx512)
            }
            XCTAssertNotNil(avx2, "an avx512 build on a CPU without AVX-512")
        case "avx2":
            XCTAssertEqual(avx512?.hasPrefix("this binary was built for avx2 kernels but the CPU supports avx512: "
                                             + "rebuild with Scripts/build-flags.sh"), true, avx512 ?? "nil")
            if generic { XCTAssertNotNil(avx2) } else { XCTAssertNil(avx2) }
        default:
            XCTAssertEqual(BuildInfo.kernels, "baseline")
            XCTAssertEqual(avx512?.hasPrefix("this binary was built for baseline kernels but the CPU supports avx512: "), true,
                           avx512 ?? "nil")
            XCTAssertEqual(avx2?.hasPrefix("this binary was built for baseline kernels but the CPU supports avx2: "), true,
                           avx2 ?? "nil")
            // A CPU without AVX2 runs the baseline: nothing to say (plain x86-64 is not a generic fallback).
            if !generic { XCTAssertNil(BuildInfo.warning(features: ["sse2", "sse4_2"])) }
        }
        #elseif arch(arm64)
        let neon = BuildInfo.warning(features: ["fp", "asimd"])
        if BuildInfo.kernels == "neon" {
            if !generic { XCTAssertNil(neon) }
        } else {
            XCTAssertEqual(neon?.hasPrefix("this binary was built for \(BuildInfo.kernels) kernels but the CPU supports neon: "),
                           true, neon ?? "nil")
        }
        #else
        XCTAssertNil(BuildInfo.warning(features: Self.avx512Set))
        #endif
        if let w = BuildInfo.warning(features: Self.avx512Set.union(["asimd"])) {
            XCTAssertFalse(w.contains("\n"), "one line")
        }
    }
}

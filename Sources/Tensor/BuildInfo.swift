#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What this binary was compiled for, from the defines that `Scripts/build-flags.sh` passes to
/// swiftc, and a check of the running CPU against it.
///
/// A plain `swift build` passes none of them and builds the portable baseline; the build scripts
/// (`bash Scripts/run.sh`, `Scripts/bench_kernels.sh`) pass this machine's flags.
///
///     print(BuildInfo.summary)            // "kernels avx512 (FMA), target CPU znver5"
///     if let w = BuildInfo.warning() { print("warning: \(w)") }
public enum BuildInfo {
    /// The matrix-multiply and element-wise kernels compiled in: "avx512", "avx2", "neon" or
    /// "baseline", from the `SUPERALIGN_AVX512` / `SUPERALIGN_AVX2` / `SUPERALIGN_NEON` defines
    /// (none: the portable baseline), the same defines the kernels choose their code with.
    ///
    ///     BuildInfo.kernels   // "avx2" in a build with -DSUPERALIGN_AVX2
    public static let kernels: String = {
        #if SUPERALIGN_AVX512
        return "avx512"
        #elseif SUPERALIGN_AVX2
        return "avx2"
        #elseif SUPERALIGN_NEON
        return "neon"
        #else
        return "baseline"
        #endif
    }()

    /// Whether multiply-adds are fused (the `SUPERALIGN_FMA` define; set with every kernel set
    /// except the baseline).
    ///
    ///     BuildInfo.fma   // true in a build with -DSUPERALIGN_FMA
    public static let fma: Bool = {
        #if SUPERALIGN_FMA
        return true
        #else
        return false
        #endif
    }()

    /// The CPU the code was generated for (the `-target-cpu`, or `-march` for the generic
    /// x86-64-v3/v4 levels), from the `SUPERALIGN_TARGET_<cpu>` define; covers every CPU in
    /// `bash Scripts/build-flags.sh --list-cpus`. Without such a define (a plain `swift build`,
    /// arm64 on a CPU missing from the table, a SUPERALIGN_CPU outside it), "default (no
    /// -target-cpu: portable code for the architecture)".
    ///
    ///     BuildInfo.targetCPU   // "znver5" in a build with -DSUPERALIGN_TARGET_znver5
    public static let targetCPU: String = {
        #if SUPERALIGN_TARGET_x86_64_v4
        return "x86-64-v4"
        #elseif SUPERALIGN_TARGET_skylake_avx512
        return "skylake-avx512"
        #elseif SUPERALIGN_TARGET_cascadelake
        return "cascadelake"
        #elseif SUPERALIGN_TARGET_cooperlake
        return "cooperlake"
        #elseif SUPERALIGN_TARGET_cannonlake
        return "cannonlake"
        #elseif SUPERALIGN_TARGET_icelake_client
        return "icelake-client"
        #elseif SUPERALIGN_TARGET_icelake_server
        return "icelake-server"
        #elseif SUPERALIGN_TARGET_tigerlake
        return "tigerlake"
        #elseif SUPERALIGN_TARGET_rocketlake
        return "rocketlake"
        #elseif SUPERALIGN_TARGET_sapphirerapids
        return "sapphirerapids"
        #elseif SUPERALIGN_TARGET_emeraldrapids
        return "emeraldrapids"
        #elseif SUPERALIGN_TARGET_graniterapids
        return "graniterapids"
        #elseif SUPERALIGN_TARGET_graniterapids_d
        return "graniterapids-d"
        #elseif SUPERALIGN_TARGET_diamondrapids
        return "diamondrapids"
        #elseif SUPERALIGN_TARGET_znver4
        return "znver4"
        #elseif SUPERALIGN_TARGET_znver5
        return "znver5"
        #elseif SUPERALIGN_TARGET_x86_64_v3
        return "x86-64-v3"
        #elseif SUPERALIGN_TARGET_haswell
        return "haswell"
        #elseif SUPERALIGN_TARGET_broadwell
        return "broadwell"
        #elseif SUPERALIGN_TARGET_skylake
        return "skylake"
        #elseif SUPERALIGN_TARGET_alderlake
        return "alderlake"
        #elseif SUPERALIGN_TARGET_raptorlake
        return "raptorlake"
        #elseif SUPERALIGN_TARGET_meteorlake
        return "meteorlake"
        #elseif SUPERALIGN_TARGET_arrowlake
        return "arrowlake"
        #elseif SUPERALIGN_TARGET_arrowlake_s
        return "arrowlake-s"
        #elseif SUPERALIGN_TARGET_lunarlake
        return "lunarlake"
        #elseif SUPERALIGN_TARGET_pantherlake
        return "pantherlake"
        #elseif SUPERALIGN_TARGET_gracemont
        return "gracemont"
        #elseif SUPERALIGN_TARGET_sierraforest
        return "sierraforest"
        #elseif SUPERALIGN_TARGET_grandridge
        return "grandridge"
        #elseif SUPERALIGN_TARGET_clearwaterforest
        return "clearwaterforest"
        #elseif SUPERALIGN_TARGET_znver1
        return "znver1"
        #elseif SUPERALIGN_TARGET_znver2
        return "znver2"
        #elseif SUPERALIGN_TARGET_znver3
        return "znver3"
        #elseif SUPERALIGN_TARGET_x86_64
        return "x86-64"
        #elseif SUPERALIGN_TARGET_neoverse_n1
        return "neoverse-n1"
        #elseif SUPERALIGN_TARGET_neoverse_n2
        return "neoverse-n2"
        #elseif SUPERALIGN_TARGET_neoverse_n3
        return "neoverse-n3"
        #elseif SUPERALIGN_TARGET_neoverse_v1
        return "neoverse-v1"
        #elseif SUPERALIGN_TARGET_neoverse_v2
        return "neoverse-v2"
        #elseif SUPERALIGN_TARGET_neoverse_v3
        return "neoverse-v3"
        #elseif SUPERALIGN_TARGET_grace
        return "grace"
        #elseif SUPERALIGN_TARGET_cortex_a72
        return "cortex-a72"
        #elseif SUPERALIGN_TARGET_cortex_a76
        return "cortex-a76"
        #elseif SUPERALIGN_TARGET_ampere1
        return "ampere1"
        #elseif SUPERALIGN_TARGET_ampere1a
        return "ampere1a"
        #elseif SUPERALIGN_TARGET_ampere1b
        return "ampere1b"
        #elseif SUPERALIGN_TARGET_apple_m1
        return "apple-m1"
        #elseif SUPERALIGN_TARGET_apple_m2
        return "apple-m2"
        #elseif SUPERALIGN_TARGET_apple_m3
        return "apple-m3"
        #elseif SUPERALIGN_TARGET_apple_m4
        return "apple-m4"
        #else
        return defaultTargetCPU
        #endif
    }()

    /// What ``targetCPU`` says when the build named no target CPU.
    static let defaultTargetCPU = "default (no -target-cpu: portable code for the architecture)"

    /// The generic x86-64 levels that `Scripts/build-flags.sh` falls back to for the avx2 and
    /// avx512 kernels when it cannot name the CPU (plain x86-64, the baseline's, is not tuning).
    static let genericLevels: Set<String> = ["x86-64-v3", "x86-64-v4"]

    /// The running CPU's feature flags: on Linux, the words of the first `flags` line (x86-64)
    /// or `Features` line (arm64) of /proc/cpuinfo, of which at most 1 MiB is read; an empty set
    /// when it cannot be read, and on other systems.
    ///
    ///     BuildInfo.runningCPUFeatures().contains("avx512f")   // true on a Zen 4
    public static func runningCPUFeatures() -> Set<String> {
        #if os(Linux)
        guard let text = readPrefix(path: "/proc/cpuinfo", limit: 1 << 20) else { return [] }
        return features(cpuinfo: text)
        #else
        return []
        #endif
    }

    /// The running CPU's vendor (`vendor_id` of /proc/cpuinfo: "AuthenticAMD", "GenuineIntel";
    /// nil when unknown). Kernels that tune for a microarchitecture read it once.
    ///
    ///     BuildInfo.runningCPUVendor()   // "AuthenticAMD" on a Zen 5
    public static func runningCPUVendor() -> String? {
        #if os(Linux)
        guard let text = readPrefix(path: "/proc/cpuinfo", limit: 1 << 16) else { return nil }
        return vendor(cpuinfo: text)
        #else
        return nil
        #endif
    }

    /// The `vendor_id` of a /proc/cpuinfo text.
    static func vendor(cpuinfo text: String) -> String? {
        for line in text.split(whereSeparator: \.isNewline) {
            guard let colon = line.firstIndex(of: ":"), line[..<colon].trimmingWhitespace() == "vendor_id" else { continue }
            return String(line[line.index(after: colon)...].trimmingWhitespace())
        }
        return nil
    }

    /// The flags of the first `flags` or `Features` line of a /proc/cpuinfo text (empty if none).
    static func features(cpuinfo text: String) -> Set<String> {
        for line in text.split(whereSeparator: \.isNewline) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingWhitespace()
            guard key == "flags" || key == "Features" else { continue }
            return Set(line[line.index(after: colon)...]
                .split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init))
        }
        return []
    }

    #if os(Linux)
    /// Up to `limit` bytes of a file (read until end of file, as /proc files report no size);
    /// nil when it cannot be opened or read.
    static func readPrefix(path: String, limit: Int) -> String? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: limit)
        var total = 0
        while total < limit {
            let n = bytes.withUnsafeMutableBytes { buf in
                read(fd, buf.baseAddress! + total, limit - total)
            }
            if n < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if n == 0 { break }
            total += n
        }
        return String(decoding: bytes[..<total], as: UTF8.self)
    }
    #endif

    /// The widest kernels a CPU with these feature flags runs, by the rule of
    /// `Scripts/build-flags.sh`: on x86-64, "avx512" with AVX-512 F/BW/DQ/VL and FMA, else "avx2"
    /// with AVX2 and FMA, else "baseline"; on arm64 always "neon"; elsewhere "baseline".
    ///
    ///     BuildInfo.bestKernels(for: ["avx2", "fma"])   // "avx2" on x86-64
    public static func bestKernels(for features: Set<String>) -> String {
        #if arch(arm64)
        return "neon"
        #elseif arch(x86_64)
        if features.isSuperset(of: ["avx512f", "avx512bw", "avx512dq", "avx512vl", "fma"]) { return "avx512" }
        if features.isSuperset(of: ["avx2", "fma"]) { return "avx2" }
        return "baseline"
        #else
        return "baseline"
        #endif
    }

    /// Order of kernel sets by what they need: baseline < avx2 < avx512 on x86-64, baseline <
    /// neon on arm64 (an architecture never has both avx2 and neon).
    static func rank(_ kernels: String) -> Int {
        switch kernels {
        case "avx512": return 2
        case "avx2", "neon": return 1
        default: return 0
        }
    }

    /// A one-line warning when this binary does not fit the running CPU: the CPU supports wider
    /// kernels than were compiled in (a plain `swift build`, or a binary built on another
    /// machine), or lacks the ones compiled in, or the build fell back to a generic x86-64 level
    /// (x86-64-v3/v4) rather than naming the CPU. Nil when it fits, and when `features` is empty
    /// (unknown).
    ///
    ///     BuildInfo.warning(features: ["avx512f", "avx512bw", "avx512dq", "avx512vl", "avx2", "fma"])
    ///     // in an avx2 build: "this binary was built for avx2 kernels but the CPU supports avx512: …"
    public static func warning(features: Set<String> = BuildInfo.runningCPUFeatures()) -> String? {
        guard !features.isEmpty else { return nil }
        let rebuild = "rebuild with Scripts/build-flags.sh (bash Scripts/run.sh does)"
        var notes: [String] = []
        let best = bestKernels(for: features)
        if rank(best) > rank(kernels) {
            notes.append("this binary was built for \(kernels) kernels but the CPU supports \(best): \(rebuild)")
        } else if rank(best) < rank(kernels) {
            notes.append("this binary was built for \(kernels) kernels but the CPU has only \(best)'s features "
                         + "(it may stop on an illegal instruction): \(rebuild)")
        }
        if genericLevels.contains(targetCPU) {
            notes.append("built for the generic \(targetCPU) level: the compiler did not know this CPU "
                         + "(the code is not tuned for it; a newer Swift toolchain may know it)")
        }
        return notes.isEmpty ? nil : notes.joined(separator: "; also ")
    }

    /// The compiled kernels, whether they fuse multiply-adds, and the target CPU, in one line.
    ///
    ///     BuildInfo.summary   // "kernels avx512 (FMA), target CPU znver5"
    public static var summary: String {
        "kernels \(kernels) (\(fma ? "FMA" : "no FMA")), target CPU \(targetCPU)"
    }
}

private extension Substring {
    /// Without leading and trailing spaces and tabs.
    func trimmingWhitespace() -> Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" { s.removeLast() }
        return s
    }
}

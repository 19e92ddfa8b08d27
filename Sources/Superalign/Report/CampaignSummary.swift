import Foundation
import LuaHost

/// A campaign across its seeds and arms (DESIGN.md, "Statistics"): per arm, the mean of each
/// headline measure with a Student-t 95% interval over seeds (at least 3 seeds, else no
/// interval); per further arm, the difference from the first arm paired by seed, with its
/// interval and a Holm-corrected paired-t p-value over all the differences in the table.
public struct CampaignSummary: Sendable {
    /// A headline measure: its name and how it is read from one run.
    public struct Measure: Sendable {
        public var name: String
        public var read: @Sendable (CampaignReport) -> Double?
    }

    public struct ArmRow: Sendable {
        public var arm: String
        public var seeds: [UInt64]
        public var values: [String: [Double?]]
        public var intervals: [String: Statistics.Interval?]
    }

    public struct Difference: Sendable {
        public var arm: String
        public var measure: String
        public var interval: Statistics.Interval?
        public var p: Double?
        public var holmP: Double?
    }

    public var name: String
    public var referenceBased: Bool
    public var arms: [ArmRow]
    public var differences: [Difference]
    public static let minimumSeedsForInterval = 3

    static func final(_ name: String) -> @Sendable (CampaignReport) -> Double? { { $0.iterations.last?[name] } }
    static func mean(_ name: String) -> @Sendable (CampaignReport) -> Double? {
        { r in
            let xs = r.iterations.compactMap { $0[name] }
            return xs.isEmpty ? nil : xs.reduce(0, +) / Double(xs.count)
        }
    }

    public static let measures: [Measure] = [
        Measure(name: "final clean accuracy", read: final("clean_accuracy")),
        Measure(name: "clean gain", read: { r in
            guard let last = r.iterations.last?["clean_accuracy"], let first = r.baseline["clean_accuracy"] else { return nil }
            return last - first
        }),
        Measure(name: "final OOD accuracy", read: final("ood_accuracy")),
        Measure(name: "final attack success", read: final("attack_success_rate")),
        Measure(name: "critic accuracy", read: mean("critic_accuracy")),
        Measure(name: "train label accuracy", read: mean("train_label_accuracy")),
        Measure(name: "human labels", read: { r in r.iterations.compactMap { $0["human_labels"] }.reduce(0, +) }),
    ]

    /// The summary of the runs of one campaign (any order); arms keep their first appearance's order.
    public init(_ reports: [CampaignReport]) {
        name = reports.first?.name ?? ""
        referenceBased = reports.contains(where: \.referenceBased)
        var armOrder: [String] = []
        for r in reports where !armOrder.contains(r.arm) { armOrder.append(r.arm) }
        arms = armOrder.map { arm in
            let runs = reports.filter { $0.arm == arm }.sorted { $0.seed < $1.seed }
            var values: [String: [Double?]] = [:], intervals: [String: Statistics.Interval?] = [:]
            for m in Self.measures {
                let xs = runs.map(m.read)
                values[m.name] = xs
                let defined = xs.compactMap { $0 }
                intervals[m.name] = defined.count >= Self.minimumSeedsForInterval ? Statistics.meanInterval(defined)
                    : nil
            }
            return ArmRow(arm: arm, seeds: runs.map(\.seed), values: values, intervals: intervals)
        }
        var diffs: [Difference] = []
        if let reference = arms.first {
            for row in arms.dropFirst() {
                let shared = row.seeds.filter(reference.seeds.contains)
                for m in Self.measures {
                    func paired(_ r: ArmRow) -> [Double] {
                        shared.map { s in r.values[m.name]![r.seeds.firstIndex(of: s)!] ?? .nan }
                    }
                    let a = paired(row), b = paired(reference)
                    let pairs = zip(a, b).filter { !$0.0.isNaN && !$0.1.isNaN }.count
                    diffs.append(Difference(arm: row.arm, measure: m.name,
                                            interval: pairs >= Self.minimumSeedsForInterval ? Statistics.pairedDifference(a, b) : nil,
                                            p: pairs >= Self.minimumSeedsForInterval ? Statistics.pairedTTestP(a, b) : nil))
                }
            }
        }
        let tested = diffs.indices.filter { diffs[$0].p != nil }
        let adjusted = Statistics.holm(tested.map { diffs[$0].p! })
        for (k, i) in tested.enumerated() { diffs[i].holmP = adjusted[k] }
        differences = diffs
    }

    static func cell(_ i: Statistics.Interval?, mean values: [Double?]) -> String {
        if let i { return String(format: "%.3f [%.3f, %.3f]", i.estimate, i.low, i.high) }
        let defined = values.compactMap { $0 }
        guard !defined.isEmpty else { return "–" }
        return String(format: "%.3f (n=%d, no interval)", defined.reduce(0, +) / Double(defined.count), defined.count)
    }

    /// The summary as a text table.
    public func table() -> String {
        var lines: [String] = []
        let armName = { (a: String) in a.isEmpty ? "(single arm)" : a }
        lines.append("campaign \(name): mean over seeds [Student-t 95% interval]"
                     + (referenceBased ? "; REFERENCE-BASED critic (it reads the answer)" : ""))
        let width = max(22, Self.measures.map(\.name.count).max()! + 2)
        for row in arms {
            lines.append("\n\(armName(row.arm)) — seeds \(row.seeds.map(String.init).joined(separator: ", "))")
            for m in Self.measures {
                lines.append("  " + m.name.padding(toLength: width, withPad: " ", startingAt: 0)
                             + Self.cell(row.intervals[m.name] ?? nil, mean: row.values[m.name] ?? []))
            }
        }
        if !differences.isEmpty, let reference = arms.first {
            lines.append("\npaired differences (arm − \(armName(reference.arm)), by seed) [95% interval], Holm-corrected p")
            for d in differences {
                let cell: String
                if let i = d.interval {
                    cell = String(format: "%+.3f [%+.3f, %+.3f]  p=%@", i.estimate, i.low, i.high, d.holmP.map { String(format: "%.3f", $0) } ?? "–")
                } else {
                    cell = "– (needs \(Self.minimumSeedsForInterval) seeds shared by both arms)"
                }
                lines.append("  \(d.arm): " + d.measure.padding(toLength: width, withPad: " ", startingAt: 0) + cell)
            }
        }
        return lines.joined(separator: "\n")
    }

    /// The summary as JSON data: `{"name", "reference_based", "arms": [{"arm", "seeds",
    /// "measures": {name: {"values": [...], "mean", "low", "high"}}}], "differences": [{"arm",
    /// "measure", "mean", "low", "high", "p", "p_holm"}]}` (null where undefined).
    public var value: LuaValue {
        func num(_ x: Double?) -> LuaValue { x.map { $0.isFinite ? .number($0) : .nil } ?? .nil }
        return .table(LuaTable(fields: [
            "name": .text(name), "reference_based": .boolean(referenceBased),
            "arms": .table(LuaTable(array: arms.map { row in
                var measures: [String: LuaValue] = [:]
                for m in Self.measures {
                    let i = row.intervals[m.name] ?? nil
                    measures[m.name] = .table(LuaTable(fields: [
                        "values": .table(LuaTable(array: (row.values[m.name] ?? []).map(num))),
                        "mean": num(i?.estimate), "low": num(i?.low), "high": num(i?.high),
                    ]))
                }
                return .table(LuaTable(fields: ["arm": .text(row.arm), "seeds": .table(LuaTable(array: row.seeds.map {
                    .integer(Int64(bitPattern: $0)) })), "measures": .table(LuaTable(fields: measures))]))
            })),
            "differences": .table(LuaTable(array: differences.map { d in
                .table(LuaTable(fields: ["arm": .text(d.arm), "measure": .text(d.measure), "mean": num(d.interval?.estimate),
                                         "low": num(d.interval?.low), "high": num(d.interval?.high), "p": num(d.p),
                                         "p_holm": num(d.holmP)]))
            })),
        ]))
    }
}

import Foundation
import LuaHost

/// Run exports in the TRL conventions, and the `--json` document of a run.
public enum RunExport {
    /// Lines of the export: `jsonl` every item (with its ground truth, for analysis); `csv`
    /// every item with a header; `sft` `{"prompt","completion"}` for what the labels support
    /// (accepted responses, human corrections) in the `pretrain` partition; `dpo`
    /// `{"prompt","chosen","rejected"}` with `chosen` an accepted sample or a human correction
    /// and `rejected` a sample the labels reject. Neither `sft` nor `dpo` ever reveals an answer
    /// nobody paid for.
    public static func lines(_ items: [StoredItem], format: String) throws -> [String] {
        func json(_ fields: [String: LuaValue]) throws -> String { try LuaValue.table(LuaTable(fields: fields)).jsonText() }
        switch format {
        case "jsonl":
            return try items.map { it in
                var f: [String: LuaValue] = [
                    "iteration": .integer(Int64(it.iteration)), "position": .integer(Int64(it.position)), "prompt": .text(it.query),
                    "answer": .text(it.answer), "response": .text(it.response), "correct": .boolean(it.correct),
                    "critic_score": .number(it.criticScore), "critic_label": .boolean(it.criticLabel),
                    "critic_confidence": .number(it.criticConfidence), "critique": .text(it.critique), "escalated": .boolean(it.escalated),
                    "final_label": .boolean(it.finalLabel), "label_source": .text(it.labelSource), "partition": .text(it.partition),
                    "critic_verdicts": (try? LuaValue(json: it.criticVerdicts)) ?? .nil,
                    "greedy": .text(it.greedy), "greedy_correct": .boolean(it.greedyCorrect),
                ]
                if let h = it.humanLabel { f["human_label"] = .boolean(h) }
                if let c = it.humanCorrection { f["human_correction"] = .text(c) }
                if let t = it.trainedCompletion { f["trained_completion"] = .text(t) }
                return try json(f)
            }
        case "csv":
            func q(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
            return ["iteration,position,partition,prompt,answer,response,correct,critic_score,critic_label,critic_confidence,critique,"
                    + "escalated,human_label,human_correction,final_label,label_source,trained"]
                + items.map { it in
                    [String(it.iteration), String(it.position), it.partition, q(it.query), q(it.answer), q(it.response), String(it.correct),
                     String(it.criticScore), String(it.criticLabel), String(it.criticConfidence), q(it.critique), String(it.escalated),
                     it.humanLabel.map { String($0) } ?? "", it.humanCorrection.map(q) ?? "", String(it.finalLabel), it.labelSource,
                     String(it.trainedCompletion != nil)].joined(separator: ",")
                }
        case "sft":
            return try items.compactMap { it in
                guard it.partition == Partition.pretrain.rawValue else { return nil }
                if it.finalLabel { return try json(["prompt": .text(it.query), "completion": .text(it.response)]) }
                if let c = it.humanCorrection { return try json(["prompt": .text(it.query), "completion": .text(c)]) }
                return nil
            }
        case "dpo":
            return try items.compactMap { it in
                guard it.partition == Partition.pretrain.rawValue else { return nil }
                let samples = (try? LuaValue(json: it.samples).table?.array.compactMap(\.text)) ?? []
                let chosen: String? = it.finalLabel ? it.response : it.humanCorrection
                // Rejected: the response itself when the labels reject it; else another sample
                // (the critics preferred the chosen one).
                let rejected: String? = it.finalLabel ? samples.first { $0 != it.response } : it.response
                guard let chosen, let rejected, rejected != chosen else { return nil }
                return try json(["prompt": .text(it.query), "chosen": .text(chosen), "rejected": .text(rejected)])
            }
        default:
            throw CampaignError.invalid("unknown export format '\(format)' (jsonl, csv, sft, dpo)")
        }
    }

    /// Lines of the export of a weak-to-strong run (which has no prompt/response items):
    /// `jsonl` one object per (configuration, seed) with the `W2SSeedResult` fields (`pgr` null
    /// when undefined) beside `weak`, `strong` and `loss`; `csv` the same without the curve, with
    /// a header, an undefined value left empty. `sft` and `dpo` are errors that say why.
    public static func w2sLines(_ report: W2SReport, format: String) throws -> [String] {
        let results = report.configurations.flatMap { c in c.seeds.map { (c, $0) } }
        switch format {
        case "jsonl":
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return try results.map { c, s in
                String(decoding: try encoder.encode(W2SExportRow(configuration: c, result: s)), as: UTF8.self)
            }
        case "csv":
            func q(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
            func n(_ x: Double?) -> String { x.map { "\($0)" } ?? "" }
            return ["weak,strong,loss,seed,weak_accuracy,w2s_accuracy,strong_ceiling_accuracy,pgr,best_pgr,best_step,"
                    + "weak_label_accuracy,agreement,agreement_on_weak_errors"]
                + results.map { c, s in
                    [q(c.weak), q(c.strong), q(c.loss), "\(s.seed)", n(s.weakAccuracy), n(s.w2sAccuracy), n(s.strongCeilingAccuracy),
                     n(s.pgr), n(s.bestPGR), s.bestStep.map(String.init) ?? "", n(s.weakLabelAccuracy), n(s.agreement),
                     n(s.agreementOnWeakErrors)].joined(separator: ",")
                }
        case "sft", "dpo":
            throw CampaignError.invalid("a weak-to-strong run has no prompt/response items to export as \(format); use jsonl or csv")
        default:
            throw CampaignError.invalid("unknown export format '\(format)' (jsonl, csv, sft, dpo)")
        }
    }

    /// The `--json` document of a run: `{"run", "name", "arm", "seed", "reference_based",
    /// "baseline": {metric: value}, "iterations": [{"iteration", metric: value|null, …}],
    /// "wall_clock": {…}}` (metric names as in `MetricRegistry`; null = undefined).
    public static func reportValue(_ r: CampaignReport, timings: CampaignTimings?) -> LuaValue {
        func metrics(_ m: IterationMetrics) -> LuaValue {
            var f: [String: LuaValue] = ["iteration": .integer(Int64(m.iteration))]
            for (k, v) in m.rows { f[k] = v.map { .number($0) } ?? .nil }
            return .table(LuaTable(fields: f))
        }
        var doc: [String: LuaValue] = [
            "run": .text(r.run), "name": .text(r.name), "arm": .text(r.arm), "seed": .integer(Int64(bitPattern: r.seed)),
            "reference_based": .boolean(r.referenceBased), "baseline": metrics(r.baseline),
            "iterations": .table(LuaTable(array: r.iterations.map(metrics))),
        ]
        if let t = timings {
            doc["wall_clock"] = .table(LuaTable(fields: [
                "total_seconds": .number(t.totalSeconds), "pretrain_seconds": .number(t.pretrainSeconds),
                "lua_seconds": .number(t.luaSeconds), "lua_share": .number(t.luaShare),
                "peak_memory_mb": .number(t.peakMemoryMB),
            ]))
        }
        return .table(LuaTable(fields: doc))
    }

    public static func reportJSON(_ r: CampaignReport, timings: CampaignTimings?) throws -> String {
        try reportValue(r, timings: timings).jsonText()
    }
}

/// One `jsonl` export line of a weak-to-strong run: the configuration's names, then the
/// seed's result fields in the same object.
private struct W2SExportRow: Encodable {
    let configuration: W2SConfigurationResult
    let result: W2SSeedResult

    enum CodingKeys: String, CodingKey { case weak, strong, loss }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(configuration.weak, forKey: .weak)
        try c.encode(configuration.strong, forKey: .strong)
        try c.encode(configuration.loss, forKey: .loss)
        try result.encode(to: encoder)   // the same keyed container: one flat object
    }
}

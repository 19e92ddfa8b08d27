import Foundation
import LuaHost

/// Run exports in the TRL conventions, and the `--json` document of a run.
public enum RunExport {
    /// Lines of the export: `jsonl` every item; `csv` every item with a header; `sft`
    /// `{"prompt","completion"}` for accepted items (the correct answer where a human said no);
    /// `dpo` `{"prompt","chosen","rejected"}` pairing the critic's best and worst samples.
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
                    "final_label": .boolean(it.finalLabel), "label_source": .text(it.labelSource),
                ]
                if let h = it.humanLabel { f["human_label"] = .boolean(h) }
                return try json(f)
            }
        case "csv":
            func q(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
            return ["iteration,position,prompt,answer,response,correct,critic_score,critic_label,critic_confidence,escalated,human_label,final_label,label_source"]
                + items.map { it in
                    [String(it.iteration), String(it.position), q(it.query), q(it.answer), q(it.response), String(it.correct),
                     String(it.criticScore), String(it.criticLabel), String(it.criticConfidence), String(it.escalated),
                     it.humanLabel.map { String($0) } ?? "", String(it.finalLabel), it.labelSource].joined(separator: ",")
                }
        case "sft":
            return try items.compactMap { it in
                if it.finalLabel { return try json(["prompt": .text(it.query), "completion": .text(it.response)]) }
                if it.humanLabel == false { return try json(["prompt": .text(it.query), "completion": .text(it.answer)]) }
                return nil
            }
        case "dpo":
            // Chosen: the accepted response (or the human-supplied answer); rejected: a response the
            // labels reject. Items with several samples pair distinct samples.
            return try items.compactMap { it in
                let samples = (try? LuaValue(json: it.samples).table?.array.compactMap(\.text)) ?? []
                let chosen = it.finalLabel ? it.response : it.answer
                let rejected = it.finalLabel ? samples.first { $0 != it.response && $0 != it.answer } : it.response
                guard let rejected, rejected != chosen else { return nil }
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

    /// The documented `--json` schema of a run:
    /// `{"run", "seed", "baseline": {"clean_accuracy", "ood_accuracy"}, "iterations": [{"iteration",
    /// "clean_accuracy", "ood_accuracy", "attack_success_rate", "critic_accuracy", "critic_precision",
    /// "critic_recall", "human_labels", "distinct_share", "train_loss", "invalid_queries"}],
    /// "wall_clock": {"total_seconds", "pretrain_seconds", "lua_seconds", "lua_share", "peak_memory_mb"}}`.
    public static func reportJSON(_ r: CampaignReport, timings: CampaignTimings?) throws -> String {
        func num(_ x: Double) -> LuaValue { x.isFinite ? .number(x) : .nil }
        var doc: [String: LuaValue] = [
            "run": .text(r.run), "seed": .integer(Int64(bitPattern: r.seed)),
            "baseline": .table(LuaTable(fields: ["clean_accuracy": num(r.baselineCleanAccuracy), "ood_accuracy": num(r.baselineOODAccuracy)])),
            "iterations": .table(LuaTable(array: r.iterations.map { m in
                var f: [String: LuaValue] = ["iteration": .integer(Int64(m.iteration))]
                for (k, v) in m.rows { f[k] = (k == "human_labels" || k == "invalid_queries") ? .integer(Int64(v)) : num(v) }
                return .table(LuaTable(fields: f))
            })),
        ]
        if let t = timings {
            doc["wall_clock"] = .table(LuaTable(fields: [
                "total_seconds": .number(t.totalSeconds), "pretrain_seconds": .number(t.pretrainSeconds),
                "lua_seconds": .number(t.luaSeconds), "lua_share": .number(t.luaShare),
                "peak_memory_mb": .number(t.peakMemoryMB),
            ]))
        }
        return try LuaValue.table(LuaTable(fields: doc)).jsonText()
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

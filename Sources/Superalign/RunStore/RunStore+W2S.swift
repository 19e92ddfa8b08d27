import Foundation
import GRDB

/// Weak-to-strong results in the run store (tables `w2s_results` and `w2s_steps`, migration
/// `v2-w2s`). Each seed of each configuration is committed in one transaction with its whole
/// PGR curve, so an interrupted experiment keeps every result it finished, and a continued one
/// (`W2SRunDirectory.run` on the same directory) computes only what is missing.
///
/// A PGR that is undefined (the ceiling does not beat the weak model) is stored as NULL, never
/// as 0 or ±∞; so is `agreement_on_weak_errors` when the weak model made no test error.
extension RunStore {
    /// Commits one result, its evaluation steps and the split sizes it was measured on.
    public func commitW2S(_ key: W2SResultKey, _ result: W2SSeedResult, splits: W2SSplitSizes) throws {
        guard key.seed == result.seed else {
            throw RunStoreError.mismatch("result of seed \(result.seed) offered for \(key)")
        }
        try db.write { db in
            try db.execute(sql: """
                INSERT INTO w2s_results (weak, strong, loss, seed, weak_accuracy, w2s_accuracy, strong_ceiling_accuracy,
                  pgr, best_pgr, best_step, weak_label_accuracy, agreement, agreement_on_weak_errors,
                  supervisor_size, unlabeled_size, test_size)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [key.weak, key.strong, key.loss, Int64(bitPattern: key.seed), result.weakAccuracy, result.w2sAccuracy,
                                 result.strongCeilingAccuracy, result.pgr, result.bestPGR, result.bestStep, result.weakLabelAccuracy,
                                 result.agreement, result.agreementOnWeakErrors, splits.supervisor, splits.unlabeled, splits.test])
            for step in result.steps {
                try db.execute(sql: """
                    INSERT INTO w2s_steps (weak, strong, loss, seed, step, test_accuracy, pgr) VALUES (?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [key.weak, key.strong, key.loss, Int64(bitPattern: key.seed), step.step, step.testAccuracy, step.pgr])
            }
        }
    }

    /// Every stored result with its evaluation steps and split sizes.
    ///
    /// PGR and best PGR are recomputed from the stored accuracies (`W2SSeedResult.init`); a
    /// stored value that disagrees with its accuracies means the store was edited or written by
    /// a different formula, and is an error rather than a silently different report.
    public func w2sResults() throws -> [(key: W2SResultKey, result: W2SSeedResult, splits: W2SSplitSizes)] {
        try db.read { db in
            var curves: [W2SResultKey: [W2SEvaluationStep]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT * FROM w2s_steps ORDER BY weak, strong, loss, seed, step") {
                let key = Self.w2sKey(row)
                curves[key, default: []].append(W2SEvaluationStep(step: row["step"], testAccuracy: row["test_accuracy"], pgr: row["pgr"]))
            }
            return try Row.fetchAll(db, sql: "SELECT * FROM w2s_results ORDER BY weak, strong, loss, seed").map { row in
                let key = Self.w2sKey(row)
                let result = W2SSeedResult(seed: key.seed, weakAccuracy: row["weak_accuracy"], w2sAccuracy: row["w2s_accuracy"],
                                           strongCeilingAccuracy: row["strong_ceiling_accuracy"],
                                           weakLabelAccuracy: row["weak_label_accuracy"], agreement: row["agreement"],
                                           agreementOnWeakErrors: row["agreement_on_weak_errors"], steps: curves[key] ?? [])
                let storedPGR: Double? = row["pgr"]
                guard Self.same(storedPGR, result.pgr) else {
                    throw RunStoreError.mismatch("\(url.path): stored PGR \(storedPGR.map { "\($0)" } ?? "NULL") of \(key) does not follow "
                                                 + "from its stored accuracies (\(result.pgr.map { "\($0)" } ?? "undefined"))")
                }
                return (key, result, W2SSplitSizes(supervisor: row["supervisor_size"], unlabeled: row["unlabeled_size"], test: row["test_size"]))
            }
        }
    }

    private static func w2sKey(_ row: Row) -> W2SResultKey {
        W2SResultKey(weak: row["weak"], strong: row["strong"], loss: row["loss"], seed: UInt64(bitPattern: row["seed"] as Int64))
    }

    private static func same(_ a: Double?, _ b: Double?) -> Bool {
        switch (a, b) {
        case (nil, nil): return true
        case let (x?, y?): return abs(x - y) <= 1e-12 * max(1, abs(x))
        default: return false
        }
    }
}

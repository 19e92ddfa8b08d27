import Foundation
import GRDB

/// One item of an iteration: a query, the learner's response, and every label it got.
public struct StoredItem: Codable, Equatable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "items"
    public var iteration: Int
    public var position: Int
    public var query: String
    /// Ground truth: the task's answer.
    public var answer: String
    public var response: String
    /// Every sample's text (JSON array) when the method draws several.
    public var samples: String
    public var correct: Bool
    public var criticScore: Double
    public var criticLabel: Bool
    public var criticConfidence: Double
    public var critique: String
    public var escalated: Bool
    /// The human oracle's label when escalated within budget (nil otherwise).
    public var humanLabel: Bool?
    public var finalLabel: Bool
    /// "human" or "critic".
    public var labelSource: String
}

/// The measurements of one finished iteration.
public struct IterationMetrics: Codable, Equatable, Sendable {
    public var iteration: Int
    public var cleanAccuracy: Double
    public var oodAccuracy: Double
    public var attackSuccessRate: Double
    public var criticAccuracy: Double
    public var criticPrecision: Double
    public var criticRecall: Double
    public var humanLabels: Int
    public var distinctShare: Double
    public var trainLoss: Double
    /// Queries the attacker proposed that were not well-formed problems (skipped).
    public var invalidQueries: Int

    /// The metrics as (name, value) rows, in a fixed order.
    public var rows: [(String, Double)] {
        [("clean_accuracy", cleanAccuracy), ("ood_accuracy", oodAccuracy), ("attack_success_rate", attackSuccessRate),
         ("critic_accuracy", criticAccuracy), ("critic_precision", criticPrecision), ("critic_recall", criticRecall),
         ("human_labels", Double(humanLabels)), ("distinct_share", distinctShare), ("train_loss", trainLoss),
         ("invalid_queries", Double(invalidQueries))]
    }
}

/// The run store: `run.sqlite` in a run directory. Each iteration is committed in one
/// transaction (its items, metrics, plugin states and checkpoint path), so a killed run
/// resumes at the last finished iteration. Nothing time-dependent is stored here (wall-clock
/// figures go to `timings.jsonl`), so the same seed gives the same database content.
public final class RunStore {
    public let url: URL
    let db: DatabaseQueue

    public init(url: URL) throws {
        self.url = url
        var config = Configuration()
        config.label = "run-store"
        db = try DatabaseQueue(path: url.path, configuration: config)
        try migrate()
    }

    private func migrate() throws {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "runs") { t in
                t.column("id", .text).primaryKey()
                t.column("seed", .integer).notNull()
                t.column("config", .text).notNull()
            }
            try db.create(table: "iterations") { t in
                t.column("iteration", .integer).primaryKey()
                t.column("checkpoint", .text).notNull()
                t.column("plugin_states", .text).notNull()
                t.column("human_budget_spent", .integer).notNull()
            }
            try db.create(table: "items") { t in
                t.column("iteration", .integer).notNull().references("iterations", onDelete: .cascade)
                t.column("position", .integer).notNull()
                t.column("query", .text).notNull()
                t.column("answer", .text).notNull()
                t.column("response", .text).notNull()
                t.column("samples", .text).notNull()
                t.column("correct", .boolean).notNull()
                t.column("criticScore", .double).notNull()
                t.column("criticLabel", .boolean).notNull()
                t.column("criticConfidence", .double).notNull()
                t.column("critique", .text).notNull()
                t.column("escalated", .boolean).notNull()
                t.column("humanLabel", .boolean)
                t.column("finalLabel", .boolean).notNull()
                t.column("labelSource", .text).notNull()
                t.primaryKey(["iteration", "position"])
            }
            try db.create(table: "metrics") { t in
                t.column("iteration", .integer).notNull().references("iterations", onDelete: .cascade)
                t.column("name", .text).notNull()
                t.column("value", .double).notNull()
                t.primaryKey(["iteration", "name"])
            }
        }
        // Weak-to-strong experiments (`RunStore+W2S.swift`): one row per seed of each
        // (weak, strong, loss) configuration, and the student's PGR curve. `runs.kind` says
        // which tables a run fills; stores written before this migration hold campaigns.
        migrator.registerMigration("v2-w2s") { db in
            try db.alter(table: "runs") { t in
                t.add(column: "kind", .text).notNull().defaults(to: RunKind.campaign.rawValue)
            }
            try db.create(table: "w2s_results") { t in
                t.column("weak", .text).notNull()
                t.column("strong", .text).notNull()
                t.column("loss", .text).notNull()
                t.column("seed", .integer).notNull()
                t.column("weak_accuracy", .double).notNull()
                t.column("w2s_accuracy", .double).notNull()
                t.column("strong_ceiling_accuracy", .double).notNull()
                t.column("pgr", .double)                      // NULL: undefined (ceiling ≤ weak)
                t.column("best_pgr", .double)
                t.column("best_step", .integer)
                t.column("weak_label_accuracy", .double).notNull()
                t.column("agreement", .double).notNull()
                t.column("agreement_on_weak_errors", .double)  // NULL: the weak model made no test error
                t.column("supervisor_size", .integer).notNull()
                t.column("unlabeled_size", .integer).notNull()
                t.column("test_size", .integer).notNull()
                t.primaryKey(["weak", "strong", "loss", "seed"])
            }
            try db.create(table: "w2s_steps") { t in
                t.column("weak", .text).notNull()
                t.column("strong", .text).notNull()
                t.column("loss", .text).notNull()
                t.column("seed", .integer).notNull()
                t.column("step", .integer).notNull()
                t.column("test_accuracy", .double).notNull()
                t.column("pgr", .double)
                t.primaryKey(["weak", "strong", "loss", "seed", "step"])
                t.foreignKey(["weak", "strong", "loss", "seed"], references: "w2s_results", onDelete: .cascade)
            }
        }
        try migrator.migrate(db)
    }

    /// Records the run's identity; a second call with a different config (or kind) is refused.
    public func begin(runID: String, seed: UInt64, configJSON: String, kind: RunKind = .campaign) throws {
        try db.write { db in
            if let row = try Row.fetchOne(db, sql: "SELECT config, kind FROM runs WHERE id = ?", arguments: [runID]) {
                guard row["config"] as String == configJSON, row["kind"] as String == kind.rawValue else {
                    throw RunStoreError.mismatch("the run directory holds run '\(runID)' with a different configuration")
                }
                return
            }
            if let other = try String.fetchOne(db, sql: "SELECT id FROM runs LIMIT 1") {
                throw RunStoreError.mismatch("the run directory holds another run ('\(other)'); use a new directory")
            }
            try db.execute(sql: "INSERT INTO runs (id, seed, config, kind) VALUES (?, ?, ?, ?)",
                           arguments: [runID, Int64(bitPattern: seed), configJSON, kind.rawValue])
        }
    }

    /// What the run in this store is (nil when the store holds no run yet).
    public func kind() throws -> RunKind? {
        try db.read { db in
            guard let raw = try String.fetchOne(db, sql: "SELECT kind FROM runs LIMIT 1") else { return nil }
            guard let kind = RunKind(rawValue: raw) else {
                throw RunStoreError.mismatch("\(url.path): unknown run kind '\(raw)' (written by a newer superalign?)")
            }
            return kind
        }
    }

    /// Commits one finished iteration atomically.
    public func commit(iteration: Int, checkpoint: String, pluginStates: String, humanBudgetSpent: Int,
                       items: [StoredItem], metrics: IterationMetrics) throws {
        try db.write { db in
            try db.execute(sql: "INSERT INTO iterations (iteration, checkpoint, plugin_states, human_budget_spent) VALUES (?, ?, ?, ?)",
                           arguments: [iteration, checkpoint, pluginStates, humanBudgetSpent])
            for item in items { try item.insert(db) }
            for (name, value) in metrics.rows {
                try db.execute(sql: "INSERT INTO metrics (iteration, name, value) VALUES (?, ?, ?)",
                               arguments: [iteration, name, value])
            }
        }
    }

    /// The last finished iteration (0 when none), with what resuming needs.
    public func lastIteration() throws -> (iteration: Int, checkpoint: String, pluginStates: String, humanBudgetSpent: Int)? {
        try db.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM iterations ORDER BY iteration DESC LIMIT 1") else { return nil }
            return (row["iteration"], row["checkpoint"], row["plugin_states"], row["human_budget_spent"])
        }
    }

    public func config() throws -> (runID: String, seed: UInt64, json: String)? {
        try db.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM runs LIMIT 1") else { return nil }
            return (row["id"], UInt64(bitPattern: row["seed"] as Int64), row["config"])
        }
    }

    public func metrics() throws -> [IterationMetrics] {
        try db.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT iteration, name, value FROM metrics ORDER BY iteration, name")
            var byIteration: [Int: [String: Double]] = [:]
            for r in rows { byIteration[r["iteration"], default: [:]][r["name"]] = r["value"] }
            return byIteration.keys.sorted().map { i in
                let m = byIteration[i]!
                return IterationMetrics(iteration: i, cleanAccuracy: m["clean_accuracy"] ?? .nan, oodAccuracy: m["ood_accuracy"] ?? .nan,
                                        attackSuccessRate: m["attack_success_rate"] ?? .nan, criticAccuracy: m["critic_accuracy"] ?? .nan,
                                        criticPrecision: m["critic_precision"] ?? .nan, criticRecall: m["critic_recall"] ?? .nan,
                                        humanLabels: Int(m["human_labels"] ?? 0), distinctShare: m["distinct_share"] ?? .nan,
                                        trainLoss: m["train_loss"] ?? .nan, invalidQueries: Int(m["invalid_queries"] ?? 0))
            }
        }
    }

    public func items(iteration: Int? = nil) throws -> [StoredItem] {
        try db.read { db in
            if let iteration {
                return try StoredItem.filter(Column("iteration") == iteration).order(Column("position")).fetchAll(db)
            }
            return try StoredItem.order(Column("iteration"), Column("position")).fetchAll(db)
        }
    }
}

/// What a run directory holds: a refinement campaign (iterations, items, metrics) or a
/// weak-to-strong experiment (`w2s_results`, `w2s_steps`).
public enum RunKind: String, Codable, Sendable {
    case campaign
    case w2s
}

public enum RunStoreError: Error, CustomStringConvertible {
    case mismatch(String)
    public var description: String {
        switch self { case .mismatch(let m): return m }
    }
}

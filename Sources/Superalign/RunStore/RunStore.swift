import Foundation
import GRDB

/// One item of an iteration: a query, the learner's response, and every label it got.
public struct StoredItem: Codable, Equatable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "items"
    public var iteration: Int
    public var position: Int
    public var query: String
    /// Ground truth: the task's answer (the engine's and the human oracle's, never a plugin's).
    public var answer: String
    public var response: String
    /// Every sample's text (JSON array) when the method draws several.
    public var samples: String
    public var correct: Bool
    /// The aggregated critic verdict on the response.
    public var criticScore: Double
    public var criticLabel: Bool
    public var criticConfidence: Double
    public var critique: String
    public var escalated: Bool
    /// The human oracle's label when bought within budget (nil otherwise).
    public var humanLabel: Bool?
    public var finalLabel: Bool
    /// "human" or "critic".
    public var labelSource: String
    /// `pretrain`, `eval` or `ood`: items outside `pretrain` are never trained on.
    public var partition: String = Partition.pretrain.rawValue
    /// Each critic's verdict on the response (JSON array of {critic, score, label, confidence, critique}).
    public var criticVerdicts: String = "[]"
    /// The right answer a human supplied with a "wrong" label (corrections on).
    public var humanCorrection: String?
    /// The completion refinement trained on for this item (nil: not trained on).
    public var trainedCompletion: String?
    /// The learner's greedy answer (attack success is measured on it) and whether it was right.
    public var greedy: String = ""
    public var greedyCorrect: Bool = false

    // Column names are snake_case (migration v4 renamed the older camelCase columns).
    enum CodingKeys: String, CodingKey {
        case iteration, position, query, answer, response, samples, correct, critique, escalated, partition, greedy
        case criticScore = "critic_score", criticLabel = "critic_label", criticConfidence = "critic_confidence"
        case humanLabel = "human_label", finalLabel = "final_label", labelSource = "label_source"
        case criticVerdicts = "critic_verdicts", humanCorrection = "human_correction"
        case trainedCompletion = "trained_completion", greedyCorrect = "greedy_correct"
    }
}

/// One sample of an item with every critic's verdict on it.
public struct StoredSample: Codable, Equatable, Sendable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "samples"
    public var iteration: Int
    public var position: Int
    public var k: Int
    public var text: String
    public var logprob: Double?
    public var correct: Bool
    /// JSON array of {critic, score, label, confidence, critique}.
    public var verdicts: String
    public var aggregateScore: Double
    public var aggregateLabel: Bool
    /// The candidate the item's labels and refinement used.
    public var chosen: Bool

    enum CodingKeys: String, CodingKey {
        case iteration, position, k, text, logprob, correct, verdicts, chosen
        case aggregateScore = "aggregate_score", aggregateLabel = "aggregate_label"
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
        // The honest loop: partitions, every critic's verdict, human corrections, what was
        // trained on, every sample, and metrics that may be undefined (NULL).
        migrator.registerMigration("v3-samples") { db in
            try db.alter(table: "items") { t in
                t.add(column: "partition", .text).notNull().defaults(to: Partition.pretrain.rawValue)
                t.add(column: "criticVerdicts", .text).notNull().defaults(to: "[]")
                t.add(column: "humanCorrection", .text)
                t.add(column: "trainedCompletion", .text)
                t.add(column: "greedy", .text).notNull().defaults(to: "")
                t.add(column: "greedyCorrect", .boolean).notNull().defaults(to: false)
            }
            try db.create(table: "samples") { t in
                t.column("iteration", .integer).notNull().references("iterations", onDelete: .cascade)
                t.column("position", .integer).notNull()
                t.column("k", .integer).notNull()
                t.column("text", .text).notNull()
                t.column("logprob", .double)
                t.column("correct", .boolean).notNull()
                t.column("verdicts", .text).notNull()
                t.column("aggregateScore", .double).notNull()
                t.column("aggregateLabel", .boolean).notNull()
                t.column("chosen", .boolean).notNull()
                t.primaryKey(["iteration", "position", "k"])
            }
            try db.create(table: "metric_values") { t in
                t.column("iteration", .integer).notNull().references("iterations", onDelete: .cascade)
                t.column("name", .text).notNull()
                t.column("value", .double)                    // NULL: undefined this iteration
                t.primaryKey(["iteration", "name"])
            }
        }
        // snake_case everywhere: the camelCase columns of older stores are renamed in place.
        migrator.registerMigration("v4-snake-case") { db in
            let items = [("criticScore", "critic_score"), ("criticLabel", "critic_label"),
                         ("criticConfidence", "critic_confidence"), ("humanLabel", "human_label"),
                         ("finalLabel", "final_label"), ("labelSource", "label_source"),
                         ("criticVerdicts", "critic_verdicts"), ("humanCorrection", "human_correction"),
                         ("trainedCompletion", "trained_completion"), ("greedyCorrect", "greedy_correct")]
            for (old, new) in items { try db.execute(sql: "ALTER TABLE items RENAME COLUMN \(old) TO \(new)") }
            for (old, new) in [("aggregateScore", "aggregate_score"), ("aggregateLabel", "aggregate_label")] {
                try db.execute(sql: "ALTER TABLE samples RENAME COLUMN \(old) TO \(new)")
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
                       items: [StoredItem], samples: [StoredSample] = [], metrics: IterationMetrics) throws {
        try db.write { db in
            try db.execute(sql: "INSERT INTO iterations (iteration, checkpoint, plugin_states, human_budget_spent) VALUES (?, ?, ?, ?)",
                           arguments: [iteration, checkpoint, pluginStates, humanBudgetSpent])
            for item in items { try item.insert(db) }
            for sample in samples { try sample.insert(db) }
            for (name, value) in metrics.rows {
                try db.execute(sql: "INSERT INTO metric_values (iteration, name, value) VALUES (?, ?, ?)",
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

    /// Every iteration's metrics (iteration 0: the pretrained learner). Stores written before
    /// undefined values existed keep theirs in `metrics` and are read from there.
    public func metrics() throws -> [IterationMetrics] {
        try db.read { db in
            var rows = try Row.fetchAll(db, sql: "SELECT iteration, name, value FROM metric_values ORDER BY iteration, name")
            if rows.isEmpty { rows = try Row.fetchAll(db, sql: "SELECT iteration, name, value FROM metrics ORDER BY iteration, name") }
            var byIteration: [Int: [String: Double?]] = [:]
            for r in rows { byIteration[r["iteration"], default: [:]][r["name"]] = .some(r["value"] as Double?) }
            return byIteration.keys.sorted().map { IterationMetrics(iteration: $0, values: byIteration[$0]!) }
        }
    }

    public func samples(iteration: Int? = nil) throws -> [StoredSample] {
        try db.read { db in
            var request = StoredSample.order(Column("iteration"), Column("position"), Column("k"))
            if let iteration { request = request.filter(Column("iteration") == iteration) }
            return try request.fetchAll(db)
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

import GRDB
import Superalign
import TestSupport
import XCTest

/// A run store written before the honest loop (schema v1 and v2: camelCase item columns, metrics
/// that could not be undefined) still opens, and reads back what it held.
final class RunStoreMigrationTests: XCTestCase {
    func testAnOlderStoreOpensAndKeepsItsItemsAndMetrics() throws {
        let url = try TestSupport.temporaryDirectory().appendingPathComponent("run.sqlite")
        let db = try DatabaseQueue(path: url.path)
        try db.write { db in
            // The v1 and v2 schema as they were shipped, and their migration records.
            try db.execute(sql: """
                CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
                INSERT INTO grdb_migrations VALUES ('v1'), ('v2-w2s');
                CREATE TABLE runs (id TEXT PRIMARY KEY, seed INTEGER NOT NULL, config TEXT NOT NULL,
                                   kind TEXT NOT NULL DEFAULT 'campaign');
                CREATE TABLE iterations (iteration INTEGER PRIMARY KEY, checkpoint TEXT NOT NULL,
                                         plugin_states TEXT NOT NULL, human_budget_spent INTEGER NOT NULL);
                CREATE TABLE items (iteration INTEGER NOT NULL REFERENCES iterations(iteration) ON DELETE CASCADE,
                  position INTEGER NOT NULL, query TEXT NOT NULL, answer TEXT NOT NULL, response TEXT NOT NULL,
                  samples TEXT NOT NULL, correct BOOLEAN NOT NULL, criticScore DOUBLE NOT NULL, criticLabel BOOLEAN NOT NULL,
                  criticConfidence DOUBLE NOT NULL, critique TEXT NOT NULL, escalated BOOLEAN NOT NULL, humanLabel BOOLEAN,
                  finalLabel BOOLEAN NOT NULL, labelSource TEXT NOT NULL, PRIMARY KEY (iteration, position));
                CREATE TABLE metrics (iteration INTEGER NOT NULL REFERENCES iterations(iteration) ON DELETE CASCADE,
                  name TEXT NOT NULL, value DOUBLE NOT NULL, PRIMARY KEY (iteration, name));
                CREATE TABLE w2s_results (weak TEXT NOT NULL, strong TEXT NOT NULL, loss TEXT NOT NULL, seed INTEGER NOT NULL,
                  weak_accuracy DOUBLE NOT NULL, w2s_accuracy DOUBLE NOT NULL, strong_ceiling_accuracy DOUBLE NOT NULL,
                  pgr DOUBLE, best_pgr DOUBLE, best_step INTEGER, weak_label_accuracy DOUBLE NOT NULL,
                  agreement DOUBLE NOT NULL, agreement_on_weak_errors DOUBLE, supervisor_size INTEGER NOT NULL,
                  unlabeled_size INTEGER NOT NULL, test_size INTEGER NOT NULL, PRIMARY KEY (weak, strong, loss, seed));
                CREATE TABLE w2s_steps (weak TEXT NOT NULL, strong TEXT NOT NULL, loss TEXT NOT NULL, seed INTEGER NOT NULL,
                  step INTEGER NOT NULL, test_accuracy DOUBLE NOT NULL, pgr DOUBLE, PRIMARY KEY (weak, strong, loss, seed, step));
                INSERT INTO runs VALUES ('old-seed1', 1, '{}', 'campaign');
                INSERT INTO iterations VALUES (0, 'c0', '{}', 0), (1, 'c1', '{}', 3);
                INSERT INTO items VALUES (1, 0, '1+1=', '2', '3', '[]', 0, 0.9, 1, 0.8, 'looks right', 1, 0, 0, 'human');
                INSERT INTO metrics VALUES (0, 'clean_accuracy', 0.5), (1, 'clean_accuracy', 0.625), (1, 'critic_precision', 1.0);
                """)
        }
        let store = try RunStore(url: url)
        let items = try store.items()
        XCTAssertEqual(items.count, 1)
        XCTAssertEqual(items[0].criticScore, 0.9)
        XCTAssertEqual(items[0].humanLabel, false)
        XCTAssertEqual(items[0].labelSource, "human")
        XCTAssertEqual(items[0].partition, "pretrain", "columns added later get their defaults")
        XCTAssertNil(items[0].trainedCompletion)
        let metrics = try store.metrics()
        XCTAssertEqual(metrics.map(\.iteration), [0, 1])
        XCTAssertEqual(metrics[1]["clean_accuracy"], 0.625)
        XCTAssertEqual(try store.lastIteration()?.humanBudgetSpent, 3)
        // The columns are snake_case now.
        let columns = try DatabaseQueue(path: url.path).read { db in try db.columns(in: "items").map(\.name) }
        XCTAssertTrue(columns.contains("critic_score") && !columns.contains("criticScore"), "\(columns)")
    }
}

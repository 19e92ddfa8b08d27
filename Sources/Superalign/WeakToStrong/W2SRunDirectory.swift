import Foundation

/// `config.json` of a weak-to-strong run directory, and the `runs.config` of its store.
public struct W2SRunRecord: Codable, Equatable, Sendable {
    /// The run's name (its id in the store).
    public var run: String
    /// Always `w2s`: what tells this record from a campaign's.
    public var kind: RunKind
    public var version: String
    /// The data set's name (a built-in task or the user's file).
    public var data: String
    /// The config as it runs (`WeakToStrong.resolved`: default models filled in).
    public var w2s: W2SConfig

    public init(run: String, data: String, w2s: W2SConfig) {
        self.run = run
        kind = .w2s
        version = SuperalignAPI.version
        self.data = data
        self.w2s = w2s
    }
}

/// A weak-to-strong experiment in a run directory, the way `superalign w2s --out DIR` and
/// `superalign run SCRIPT.lua` (with `w2s{…}`) run it:
///
/// ```text
/// DIR/config.json     W2SRunRecord (the resolved config, the data set's name, the version)
/// DIR/run.sqlite      runs (kind = "w2s") + w2s_results + w2s_steps, one transaction per
///                     (weak, strong, loss, seed), see `RunStore.commitW2S`
/// DIR/results.json    the whole W2SReport, written when the experiment ends
/// DIR/metrics.jsonl   one W2SMetricsLine per student evaluation step, idem
/// ```
///
/// Running the same config into the same directory again continues it: stored results are
/// kept and only the missing ones are computed (the same numbers an uninterrupted run gives,
/// since every draw derives from the seed). A different config is refused.
public enum W2SRunDirectory {
    /// Runs (or continues) `config` in `directory` under the name `name`.
    public static func run(_ config: W2SConfig, name: String, in directory: URL,
                           log: ((String) -> Void)? = nil) throws -> W2SReport {
        let data = try WeakToStrong.dataset(for: config)
        let resolved = try WeakToStrong.resolved(config, for: data)
        let record = W2SRunRecord(run: name, data: data.name, w2s: resolved)
        let recordJSON = try encoded(record, pretty: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let store = try RunStore(url: directory.appendingPathComponent("run.sqlite"))
        if let kind = try store.kind(), kind != .w2s {
            throw RunStoreError.mismatch("\(directory.path) holds a \(kind.rawValue) run, not a weak-to-strong experiment; use a new directory")
        }
        do {
            try store.begin(runID: name, seed: resolved.seeds[0], configJSON: String(decoding: recordJSON, as: UTF8.self), kind: .w2s)
        } catch RunStoreError.mismatch {
            throw RunStoreError.mismatch("\(directory.path) holds a weak-to-strong run with a different configuration or name; "
                                         + "use a new directory (or `superalign resume \(directory.path)` to continue that run)")
        }
        try recordJSON.write(to: directory.appendingPathComponent("config.json"), options: .atomic)
        var stored: [W2SResultKey: W2SSeedResult] = [:]
        for (key, result, _) in try store.w2sResults() { stored[key] = result }
        if !stored.isEmpty { log?("continuing \(directory.path): \(stored.count) results already stored") }
        let report = try WeakToStrong.run(resolved, data: data, stored: stored, log: log) { key, result, splits in
            try store.commitW2S(key, result, splits: splits)
        }
        try writeFiles(report, to: directory)
        return report
    }

    /// Continues the experiment recorded in `directory` (its `config.json`).
    public static func resume(in directory: URL, log: ((String) -> Void)? = nil) throws -> W2SReport {
        guard let record = try record(in: directory) else {
            throw RunStoreError.mismatch("\(directory.path) holds no weak-to-strong experiment (no w2s config.json)")
        }
        return try run(record.w2s, name: record.run, in: directory, log: log)
    }

    /// The record in `directory/config.json`, or nil when there is none or it is not a W2S one.
    public static func record(in directory: URL) throws -> W2SRunRecord? {
        guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent("config.json").path) else { return nil }
        // A campaign's config.json has no `kind`, so it does not decode as a W2S record.
        return try? JSONDecoder().decode(W2SRunRecord.self, from: data)
    }

    /// The report of what the store holds (for `superalign status`/`export`): the
    /// configurations in the config's order, each with the seeds stored so far.
    public static func report(from store: RunStore) throws -> (report: W2SReport, stored: Int, expected: Int) {
        guard let (_, _, json) = try store.config(), try store.kind() == .w2s else {
            throw RunStoreError.mismatch("\(store.url.path) holds no weak-to-strong experiment")
        }
        let record: W2SRunRecord
        do { record = try JSONDecoder().decode(W2SRunRecord.self, from: Data(json.utf8)) } catch {
            throw RunStoreError.mismatch("\(store.url.path): the stored weak-to-strong config does not decode: \(error)")
        }
        let config = record.w2s
        let rows = try store.w2sResults()
        var byKey: [W2SResultKey: W2SSeedResult] = [:]
        for (key, result, _) in rows { byKey[key] = result }
        var configurations: [W2SConfigurationResult] = []
        for weak in config.weak {
            for strong in config.strong {
                for loss in config.losses {
                    let seeds = config.seeds.compactMap {
                        byKey[W2SResultKey(weak: weak.description, strong: strong.description, loss: loss.rawValue, seed: $0)]
                    }
                    guard !seeds.isEmpty else { continue }
                    configurations.append(W2SConfigurationResult(weak: weak.description, strong: strong.description,
                                                                 loss: loss.rawValue, seeds: seeds))
                }
            }
        }
        let expected = config.weak.count * config.strong.count * config.losses.count * config.seeds.count
        let report = W2SReport(data: record.data, config: config, configurations: configurations,
                               splitSizes: rows.last?.splits.dictionary ?? [:])
        return (report, rows.count, expected)
    }

    /// `results.json` (the report) and `metrics.jsonl` (one line per student evaluation step).
    static func writeFiles(_ report: W2SReport, to directory: URL) throws {
        try Data(try report.jsonText().utf8).write(to: directory.appendingPathComponent("results.json"), options: .atomic)
        var metrics = Data()
        for c in report.configurations {
            for s in c.seeds {
                for step in s.steps {
                    metrics += try encoded(W2SMetricsLine(weak: c.weak, strong: c.strong, loss: c.loss, seed: s.seed, step: step),
                                           pretty: false) + Data("\n".utf8)
                }
            }
        }
        try metrics.write(to: directory.appendingPathComponent("metrics.jsonl"), options: .atomic)
    }

    static func encoded<T: Encodable>(_ value: T, pretty: Bool) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }
}

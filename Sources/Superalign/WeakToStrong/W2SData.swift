import Foundation
import Models
import Tensor

/// One labelled example of a weak-to-strong data set. An example may carry both views of its
/// input (built-in tasks do): `features` for MLP classifiers and `text` for GPT classifiers;
/// a model spec that needs a view the data lacks is an error.
public struct W2SExample: Equatable, Sendable {
    /// Numeric input (standardised per column for user CSV data).
    public var features: [Float]?
    /// Text input, as the GPT classifier reads it (`[BOS] + text`, class read at its last character).
    public var text: String?
    /// Ground-truth class in `0..<classes`.
    public var label: Int
    /// Targets of the MLP's self-supervised pretraining task, computed from the input alone (never
    /// from the label), one class per head; empty = pretrain the MLP as an autoencoder.
    public var auxiliary: [Int]
    /// The text the GPT language-models when pretrained (defaults to `text`).
    public var pretrainingText: String?

    public init(features: [Float]? = nil, text: String? = nil, label: Int, auxiliary: [Int] = [], pretrainingText: String? = nil) {
        self.features = features
        self.text = text
        self.label = label
        self.auxiliary = auxiliary
        self.pretrainingText = pretrainingText
    }
}

/// A labelled data set the weak-to-strong protocol splits three ways.
public struct W2SDataset: Sendable {
    public var name: String
    public var examples: [W2SExample]
    public var classes: Int
    /// Classes of each auxiliary head (0 when the examples carry no auxiliary targets).
    public var auxiliaryClasses: Int
    /// Extra unlabelled inputs for self-supervised pretraining only, disjoint from `examples`
    /// (built-in tasks can generate them; a user's file has none). Their labels are never read.
    public var pretrainingPool: [W2SExample]

    public init(name: String, examples: [W2SExample], classes: Int, auxiliaryClasses: Int = 0,
                pretrainingPool: [W2SExample] = []) throws {
        guard examples.count >= 10 else {
            throw TaskError.badFile(path: name, line: nil, message: "only \(examples.count) examples; weak-to-strong needs at least 10 (three splits)")
        }
        guard classes >= 2 else { throw TaskError.badFile(path: name, line: nil, message: "every example has the same label; need at least 2 classes") }
        self.name = name
        self.examples = examples
        self.classes = classes
        self.auxiliaryClasses = auxiliaryClasses
        self.pretrainingPool = pretrainingPool
    }

    /// Whether every example has a feature vector / a text.
    public var hasFeatures: Bool { examples.allSatisfy { $0.features != nil } }
    public var hasText: Bool { examples.allSatisfy { $0.text != nil } }

    /// The three disjoint splits of the protocol, shuffled by `seed`: `test` takes
    /// `testFraction` of the examples, the rest is divided into `supervisor` (the weak model's
    /// ground truth; `supervisorFraction` of the rest, rounded down) and `unlabeled` (what the weak
    /// model labels, and what the student and the ceiling train on).
    ///
    /// ```swift
    /// let s = try data.split(seed: 0, testFraction: 0.2)   // 1000 examples → 400 / 400 / 200
    /// ```
    public func split(seed: UInt64, testFraction: Double, supervisorFraction: Double = 0.5) throws -> W2SSplits {
        var order = Array(examples.indices)
        var rng = RandomGenerator(seed: seed ^ 0x5157_2535_9117)
        rng.shuffle(&order)
        let nTest = max(1, Int((Double(examples.count) * testFraction).rounded()))
        let rest = examples.count - nTest
        let nSup = Int(Double(rest) * supervisorFraction)
        guard nSup >= 1, rest - nSup >= 1 else {
            throw TaskError.invalidOption("test fraction \(testFraction) and supervisor fraction \(supervisorFraction) leave a split empty")
        }
        let pick = { (r: Range<Int>) in r.map { examples[order[$0]] } }
        return W2SSplits(supervisor: pick(0..<nSup), unlabeled: pick(nSup..<rest), test: pick(rest..<examples.count),
                         pool: pretrainingPool)
    }
}

/// The protocol's three disjoint splits.
public struct W2SSplits: Sendable {
    public var supervisor: [W2SExample]
    public var unlabeled: [W2SExample]
    public var test: [W2SExample]
    /// The data set's extra unlabelled inputs (`W2SDataset.pretrainingPool`).
    public var pool: [W2SExample] = []

    /// Inputs the strong model may pretrain on: supervisor and unlabelled splits and the pool,
    /// never the test split (pretraining targets are label-free, but test inputs stay unseen).
    public var pretraining: [W2SExample] { supervisor + unlabeled + pool }

    public var sizes: [String: Int] { ["supervisor": supervisor.count, "unlabeled": unlabeled.count, "test": test.count] }
}

/// Loading a user's data: CSV with numeric feature columns, or JSONL with
/// `{"text": …, "label": k}` (or `{"features": [...], "label": k}`) lines. Every problem is an
/// error naming the file and the 1-based line.
public enum W2SDataLoader {
    /// Loads `path` by its extension: `.csv` (label column `label`) or `.jsonl`/`.json`.
    public static func load(path: String, label: String?) throws -> W2SDataset {
        let lower = path.lowercased()
        if lower.hasSuffix(".csv") { return try csv(text: read(path), source: path, labelColumn: label ?? "label") }
        if lower.hasSuffix(".jsonl") || lower.hasSuffix(".json") {
            guard label == nil || label == "label" else {
                throw TaskError.invalidOption("--label applies to CSV files; JSONL lines always use the field \"label\"")
            }
            return try jsonl(text: read(path), source: path)
        }
        throw TaskError.badFile(path: path, line: nil, message: "unknown data format: use a .csv or a .jsonl file")
    }

    static func read(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TaskError.badFile(path: path, line: nil, message: "cannot read the file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw TaskError.badFile(path: path, line: nil, message: "the file is not UTF-8 text")
        }
        return text
    }

    /// CSV with a header row. `labelColumn` holds the class: non-negative integers are used as
    /// class ids, any other values are mapped to classes in sorted order. Every other column is a
    /// numeric feature, standardised to zero mean and unit variance (constant columns are only
    /// centred) so that MLPs train well whatever the units.
    ///
    /// ```text
    /// x1,x2,label
    /// 0.5,1.2,1
    /// ```
    public static func csv(text: String, source: String, labelColumn: String) throws -> W2SDataset {
        var header: [String]?
        var labelIndex = 0
        var rows: [(line: Int, features: [Float], label: String)] = []
        var lineNumber = 0
        for raw in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            let bytes = raw.last == UInt8(ascii: "\r") ? raw.dropLast() : raw
            let line = String(decoding: bytes, as: UTF8.self)
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
            func fail(_ m: String) -> TaskError { .badFile(path: source, line: lineNumber, message: m) }
            let fields = try csvFields(line, fail)
            guard let names = header else {
                let names = fields.map { $0.trimmingCharacters(in: .whitespaces) }
                guard let i = names.firstIndex(of: labelColumn) else {
                    throw fail("no column '\(labelColumn)' in the header (columns: \(names.joined(separator: ", ")))")
                }
                guard names.count >= 2 else { throw fail("the header has no feature column besides '\(labelColumn)'") }
                header = names
                labelIndex = i
                continue
            }
            guard fields.count == names.count else {
                throw fail("\(fields.count) fields, the header has \(names.count)")
            }
            var features: [Float] = []
            for (j, f) in fields.enumerated() where j != labelIndex {
                let v = f.trimmingCharacters(in: .whitespaces)
                guard let x = Float(v), x.isFinite else {
                    throw fail(v.isEmpty ? "column '\(names[j])' is empty"
                                         : "column '\(names[j])' value '\(v)' is not a finite number")
                }
                features.append(x)
            }
            let label = fields[labelIndex].trimmingCharacters(in: .whitespaces)
            guard !label.isEmpty else { throw fail("column '\(labelColumn)' (the label) is empty") }
            rows.append((lineNumber, features, label))
        }
        guard header != nil else { throw TaskError.badFile(path: source, line: nil, message: "the file is empty (no header)") }
        let (labels, classes) = try classIds(rows.map { ($0.line, $0.label) }, source: source, column: labelColumn)
        let width = rows.first?.features.count ?? 0
        var mean = [Double](repeating: 0, count: width), sq = [Double](repeating: 0, count: width)
        for r in rows { for j in 0..<width { mean[j] += Double(r.features[j]); sq[j] += Double(r.features[j]) * Double(r.features[j]) } }
        let n = Double(max(rows.count, 1))
        let std = (0..<width).map { j -> Double in
            let v = sq[j] / n - (mean[j] / n) * (mean[j] / n)
            return v > 1e-12 ? v.squareRoot() : 1
        }
        let examples = zip(rows, labels).map { r, y in
            W2SExample(features: (0..<width).map { Float((Double(r.features[$0]) - mean[$0] / n) / std[$0]) }, label: y)
        }
        return try W2SDataset(name: source, examples: examples, classes: classes)
    }

    /// Class ids: the values themselves when all are non-negative integers, else sorted order.
    /// A classifier has at most `ModelBounds.maximumClasses` classes: an integer label past them,
    /// or one distinct label too many, is an error naming its line (never a head sized by a typo).
    static func classIds(_ rows: [(line: Int, label: String)], source: String, column: String) throws -> (ids: [Int], classes: Int) {
        let values = rows.map(\.label)
        let ints = values.compactMap { Int($0) }
        if ints.count == values.count, ints.allSatisfy({ $0 >= 0 }) {
            if let i = ints.firstIndex(where: { $0 >= ModelBounds.maximumClasses }) {
                throw TaskError.badFile(path: source, line: rows[i].line, message:
                    "label \(ints[i]) (column '\(column)') is over the largest class id a classifier may have "
                    + "(\(ModelBounds.maximumClasses - 1)); labels are 0…\(ModelBounds.maximumClasses - 1)")
            }
            return (ints, Set(ints).count < 2 ? Set(ints).count : (ints.max() ?? 0) + 1)
        }
        var seen = Set<String>()
        for row in rows where seen.insert(row.label).inserted && seen.count > ModelBounds.maximumClasses {
            throw TaskError.badFile(path: source, line: row.line, message:
                "label '\(row.label)' (column '\(column)') is class number \(seen.count); a classifier has at most \(ModelBounds.maximumClasses)")
        }
        let names = Array(Set(values)).sorted()
        let index = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
        return (values.map { index[$0]! }, names.count)
    }

    /// The fields of one CSV line (RFC 4180 quoting: `"a,b"`, `"say ""hi"""`).
    static func csvFields(_ line: String, _ fail: (String) -> TaskError) throws -> [String] {
        var fields: [String] = [], current = "", quoted = false, wasQuoted = false
        var chars = line.makeIterator()
        while let c = chars.next() {
            if quoted {
                if c == "\"" {
                    // A doubled quote is a literal quote; a single one closes the field.
                    var lookahead = chars
                    if lookahead.next() == "\"" { current.append("\""); chars = lookahead } else { quoted = false }
                } else { current.append(c) }
            } else if c == "," {
                fields.append(current); current = ""; wasQuoted = false
            } else if c == "\"" {
                guard current.trimmingCharacters(in: .whitespaces).isEmpty, !wasQuoted else { throw fail("stray '\"' inside a field") }
                quoted = true; wasQuoted = true; current = ""
            } else { current.append(c) }
        }
        guard !quoted else { throw fail("a quoted field is not closed (fields may not span lines)") }
        fields.append(current)
        return fields
    }

    /// JSONL: `{"text": "…", "label": k}` lines (GPT classifiers), or
    /// `{"features": [...], "label": k}` lines (MLP classifiers) when the first line has
    /// `features`. The GPT's pretraining text is the text itself.
    public static func jsonl(text: String, source: String) throws -> W2SDataset {
        let firstLine = text.split(separator: "\n").first { !$0.allSatisfy(\.isWhitespace) }
        let isFeatures = firstLine.map { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["features"] != nil
        } ?? false
        let examples: [W2SExample]
        do {
            // Bounded before any model is sized from the data: a label past the largest class id,
            // or a text longer than a GPT classifier's context, is an error naming its line.
            if isFeatures {
                examples = try JSONLines.labeledFeatures(parsing: text, source: source, limits: .newModel())
                    .map { W2SExample(features: $0.features, label: $0.label) }
            } else {
                examples = try JSONLines.labeledTexts(parsing: text, source: source, limits: textLimits)
                    .map { W2SExample(text: $0.text, label: $0.label) }
            }
        } catch let ModelsError.data(path, line, detail) {
            // One error type for every loader of this module.
            throw TaskError.badFile(path: path, line: line, message: detail)
        }
        let labels = Set(examples.map(\.label))
        return try W2SDataset(name: source, examples: examples, classes: labels.count < 2 ? labels.count : labels.max()! + 1)
    }

    /// A GPT student reads BOS + text (+ EOS when it pretrains by language modelling on the
    /// text), in at most `ModelBounds.maximumContext` positions; labels are bounded as for any
    /// new classifier.
    static var textLimits: JSONLines.ModelLimits {
        var limits = JSONLines.ModelLimits.newModel()
        let room = ModelBounds.maximumContext - 1  // BOS + text within it, and room for the EOS
        limits.context = room
        limits.contextNote = "more than the \(room) a weak-to-strong GPT has room for (a context of at most "
            + "\(ModelBounds.maximumContext), with the EOS of its pretraining); shorten or split the line"
        return limits
    }
}

import Foundation
import LuaHost

/// Creating and writing a run directory, with Foundation's errors turned into sentences
/// (`--out` naming a file, or a read-only folder).
enum RunDirectory {
    static func create(_ directory: URL) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw CampaignError.invalid("\(directory.path) is a file, not a run directory: choose another --out")
        }
        do {
            try FileManager.default.createDirectory(at: directory.appendingPathComponent("checkpoints"), withIntermediateDirectories: true)
        } catch {
            throw CampaignError.invalid("cannot create the run directory \(directory.path): \(reason(error))")
        }
    }

    static func write(_ data: Data, to url: URL) throws {
        do { try data.write(to: url, options: .atomic) } catch {
            throw CampaignError.invalid("cannot write \(url.path): \(reason(error))")
        }
    }

    /// A plain reason for a file-system error.
    static func reason(_ error: Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain,
           let code = POSIXErrorCode(rawValue: Int32(underlying.code)) {
            return String(cString: strerror(code.rawValue)).lowercased()
        }
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))).lowercased() }
        switch ns.code {
        case NSFileWriteNoPermissionError, NSFileReadNoPermissionError: return "permission denied"
        case NSFileWriteOutOfSpaceError: return "no space left on the device"
        case NSFileWriteVolumeReadOnlyError: return "the file system is read-only"
        case NSFileWriteFileExistsError: return "a file of that name is in the way"
        default: return ns.localizedDescription
        }
    }
}

/// Pretrained learners kept by (task, learner, partitions, seed), so the arms of a comparison
/// start from the same weights without pretraining again.
struct PretrainCache {
    let checkpoint: URL
    let lossFile: URL

    init(folder: URL, config: CampaignConfig) throws {
        struct Key: Codable {
            var task: [String: String]
            var learner: CampaignConfig.Learner
            var evalShare: Double
            var seed: UInt64
            var version: String
        }
        let key = try JSONEncoder.sorted.encode(Key(task: config.task, learner: config.learner, evalShare: config.evalShare,
                                                   seed: config.seed, version: SuperalignAPI.version))
        let name = "seed\(config.seed)-\(String(fnv1a64([UInt8](key)), radix: 16))"
        do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
            throw CampaignError.invalid("cannot create \(folder.path): \(RunDirectory.reason(error))")
        }
        checkpoint = folder.appendingPathComponent("\(name).safetensors")
        lossFile = folder.appendingPathComponent("\(name).json")
    }

    func load(task: any ProblemTask) throws -> (learner: Learner, loss: Double?)? {
        guard FileManager.default.fileExists(atPath: checkpoint.path),
              let data = FileManager.default.contents(atPath: lossFile.path) else { return nil }
        let loss = try? JSONDecoder().decode([String: Double?].self, from: data)["loss"] ?? nil
        return (try Learner(checkpoint: checkpoint, task: task), loss ?? nil)
    }

    func save(_ learner: Learner, loss: Double?) throws {
        try learner.save(to: checkpoint)
        // The loss file is written last: a checkpoint without it is not taken.
        try RunDirectory.write(try JSONEncoder.sorted.encode(["loss": loss]), to: lossFile)
    }
}

/// Campaign `params` are checked like every field: a name the plugin does not declare in its
/// own `params` is an error, and so is a value of another type than its default.
enum PluginParams {
    static func check(_ params: [String: LuaValue], against plugin: Plugin, key: String) throws {
        guard !params.isEmpty else { return }
        let defaults = (try? plugin.params.table?.fields) ?? [:]
        for name in params.keys.sorted() {
            guard let d = defaults[name] else {
                let known = defaults.keys.sorted()
                throw CampaignError.invalid("\(key).params.\(name): the \(plugin.name) plugin has no such parameter "
                                            + (known.isEmpty ? "(it takes none)" : "(it takes \(known.joined(separator: ", ")))"))
            }
            let v = params[name]!
            let sameKind: Bool
            switch (d, v) {
            case (.integer, .integer), (.number, .number), (.number, .integer), (.integer, .number),
                 (.string, .string), (.boolean, .boolean), (.table, .table): sameKind = true
            default: sameKind = false
            }
            guard sameKind else {
                throw CampaignError.invalid("\(key).params.\(name): expected a \(d.typeName) like the default, got \(v.typeName)")
            }
        }
    }
}

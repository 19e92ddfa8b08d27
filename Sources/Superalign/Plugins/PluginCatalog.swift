import Foundation
import LuaHost

/// Finds plugins by name. The search path, first match wins: `--plugin-path` folders,
/// `SUPERALIGN_PLUGIN_PATH` (colon-separated), `./Plugins`, then the plugins compiled into the
/// binary. In each folder a plugin named `NAME` of kind `attacker` is `attackers/NAME.lua`
/// (`critics/`, `oversight/` likewise) or `NAME.lua` directly.
public struct PluginCatalog {
    public var folders: [URL]

    public init(extraFolders: [String] = [], environment: [String: String] = ProcessInfo.processInfo.environment,
                workingDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)) {
        var folders = extraFolders.map { URL(fileURLWithPath: $0) }
        if let env = environment["SUPERALIGN_PLUGIN_PATH"] {
            folders += env.split(separator: ":").map { URL(fileURLWithPath: String($0)) }
        }
        folders.append(workingDirectory.appendingPathComponent("Plugins"))
        self.folders = folders
    }

    static func subfolder(for kind: String) -> String {
        switch kind {
        case "attacker": return "attackers"
        case "critic": return "critics"
        default: return kind
        }
    }

    /// The plugin's source and where it came from (a path, or "bundled:<kind>/<name>").
    public func source(kind: String, name: String) throws -> (bytes: [UInt8], origin: String) {
        guard !name.isEmpty, !name.contains("/"), !name.contains("..") else {
            throw CampaignError.invalid("plugin name '\(name)' must be a plain name (no path)")
        }
        let sub = Self.subfolder(for: kind)
        for folder in folders {
            for candidate in [folder.appendingPathComponent(sub).appendingPathComponent("\(name).lua"),
                              folder.appendingPathComponent("\(name).lua")] {
                if let data = FileManager.default.contents(atPath: candidate.path) {
                    return ([UInt8](data), candidate.path)
                }
            }
        }
        if let text = BundledPlugins.sources["\(sub)/\(name)"] {
            return (Array(text.utf8), "bundled:\(sub)/\(name).lua")
        }
        let bundled = BundledPlugins.sources.keys.filter { $0.hasPrefix(sub + "/") }.map { String($0.dropFirst(sub.count + 1)) }.sorted()
        throw CampaignError.invalid("no \(kind) plugin named '\(name)' (searched \(folders.map(\.path).joined(separator: ", ")); bundled: \(bundled.joined(separator: ", ")))")
    }
}

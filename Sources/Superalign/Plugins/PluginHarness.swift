import Foundation
import LuaHost

/// Exercises one plugin outside a campaign with the campaign's own adapters, so that
/// `superalign plugins check` and `exec` accept and refuse exactly what `run` does.
///
/// ```swift
/// let plugin = try Plugin.load(file: url, options: Plugin.Options(kinds: SuperalignPlugins.kinds, prepare: …))
/// try PluginHarness.check(plugin)
/// ```
public enum PluginHarness {
    // MARK: check

    /// What a campaign checks of a loaded plugin beyond its kind's functions: `params` is a table
    /// of named values, and `name` is the file's name (plugins are found by file name).
    public static func check(_ plugin: Plugin) throws {
        try SuperalignPlugins.validate(plugin)
        func invalid(_ message: String) -> PluginError {
            PluginError(plugin: plugin.name, phase: .load, kind: .validation, message: message, file: plugin.file)
        }
        let params: LuaValue
        do { params = try plugin.params } catch {
            throw invalid("'params' must be a table of named values (\(error))")
        }
        guard let table = params.table else { throw invalid("'params' must be a table of named values (got \(params.typeName))") }
        if !table.array.isEmpty {
            throw invalid("'params' must be a table of named values (got \(table.array.count) list entries)")
        }
        if let bad = table.hash.first(where: { if case .string = $0.key { return false } else { return true } }) {
            throw invalid("'params' must be a table of named values (got a \(bad.key.typeName) key)")
        }
        let leaf = (plugin.file as NSString).lastPathComponent
        let expected = leaf.hasSuffix(".lua") ? String(leaf.dropLast(4)) : leaf
        if expected != plugin.name {
            throw invalid("the plugin's name is '\(plugin.name)' but its file is \(expected).lua; "
                          + "a plugin is found by its file name, so they must match")
        }
    }

    // MARK: exec

    /// Makes reading `answer`, `correct` or `reference` on a record passed to the plugin an error,
    /// as in a campaign (`reference`: a reference-based critic reads it when it is passed).
    public static func guardBoundary(_ plugin: Plugin) throws {
        try plugin.hideFields(hiddenFieldMessages)
    }

    /// Validates what `plugin[function]` returned for `input` as a campaign would: a critic's
    /// verdicts, an oversight policy's decision or indices, an attacker's prompts. Functions
    /// the protocol does not define, and `observe`, are not checked.
    public static func validate(_ results: [LuaValue], of function: String, plugin: Plugin, input: LuaValue) throws {
        let value = results.first
        switch (plugin.kind, function) {
        case ("attacker", "propose"):
            _ = try LuaAttacker.prompts(value, plugin: plugin)
        case ("critic", "score"):
            _ = try LuaCritic.verdict(value ?? .nil, plugin: plugin, function: "score", index: nil)
        case ("critic", "score_batch"):
            let count = input.table.flatMap { $0.hash.isEmpty ? $0.array.count : nil }
            _ = try LuaCritic.verdicts(value, count: count, plugin: plugin)
        case ("oversight", "decide"):
            _ = try LuaOversight.decision(value, plugin: plugin)
        case ("oversight", "decide_batch"):
            _ = try LuaOversight.indices(value, count: input.table?.array.count ?? 0, plugin: plugin)
        default:
            break
        }
    }
}

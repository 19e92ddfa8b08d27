import LuaHost
import Tensor

/// The host API every plugin sees as the read-only global `sa`, registered from this one
/// description (which also generates `Plugins/meta/sa.lua`, the LuaLS stubs).
public enum SuperalignAPI {
    public static let version = "0.1.0"
    /// The command that regenerates the stubs.
    public static let stubsGenerator = "superalign plugins stubs"

    /// Builds the API bound to `context`.
    public static func make(context: PluginContext) -> HostAPI {
        var api = HostAPI(name: "sa", summary: "The Superalign host API (read-only).")
        api.constant("version", type: "string", summary: "Superalign's version.", .text(version))

        // The information boundary: a problem as plugins see it has no answer (DESIGN.md,
        // "Conventions of measurement"); only the engine and the human oracle hold the truth.
        api.shape(.init("sa.Problem", "A problem of the campaign's task, as plugins see it: never its answer.", fields: [
            .init("prompt", "string", "what the learner sees"),
            .init("features", "table<string, number>", "difficulty features computed from the prompt (for addition: carries, longest_carry_chain, digits)"),
        ]))
        api.shape(.init("sa.Sample", "One generated completion.", fields: [
            .init("text", "string", "the completion, without the stop token"),
            .init("logprob", "number", "its total log-probability under the learner"),
        ]))

        addTask(&api, context)
        addRandom(&api, context)
        addLearner(&api, context)
        addLog(&api)
        addText(&api)
        addJSON(&api)
        return api
    }

    // MARK: sa.task

    static func problemValue(_ p: Problem) -> LuaValue {
        var features: [String: LuaValue] = [:]
        for (k, v) in p.features { features[k] = v == v.rounded() && abs(v) < 1e15 ? .integer(Int64(v)) : .number(v) }
        return .table(LuaTable(fields: [
            "prompt": .text(p.prompt), "features": .table(LuaTable(fields: features)),
        ]))
    }

    static func addTask(_ api: inout HostAPI, _ context: PluginContext) {
        api.namespace("task", summary: "The campaign's task: sample and describe problems (never their answers).")
        api.add("task.name", summary: "The task's name (\"addition\", …).", returns: [.init("string", "the name")]) { call in
            call.push(.text(context.task.name)); return 1
        }
        api.add("task.sample", summary: "Draws `n` problems (prompts and features, no answers; seeded by the plugin's generator).",
                params: [.init("n", "integer", "how many (at most 100000)"),
                         .init("opts", "{distribution?: \"standard\"|\"ood\"}", "which distribution", optional: true)],
                returns: [.init("sa.Problem[]", "the problems")]) { call in
            let n = try call.integer(1)
            guard (0...100_000).contains(n) else { throw HostCallError.argument(1, "n must be in 0...100000") }
            var distribution = ProblemDistribution.standard
            if !call.isNil(2) {
                let opts = try call.value(2)
                if let d = opts["distribution"].text {
                    guard let parsed = ProblemDistribution(rawValue: d) else {
                        throw HostCallError.argument(2, "distribution must be \"standard\" or \"ood\", got \"\(d)\"")
                    }
                    distribution = parsed
                }
            }
            let problems = context.task.sample(Int(n), &context.rng, from: distribution)
            call.push(.table(LuaTable(array: problems.map(problemValue))))
            return 1
        }
        api.add("task.problem", summary: "The problem (prompt and features, no answer) for a prompt written by a plugin, or nil when it is not a well-formed problem of the task.",
                params: [.init("prompt", "string", "e.g. \"99+1=\"")], returns: [.init("sa.Problem?", "the problem")]) { call in
            if let p = context.task.problem(forPrompt: try call.string(1)) { call.push(problemValue(p)) } else { call.pushNil() }
            return 1
        }
        api.add("task.options", summary: "The options the task was built with (digits, modulus, op, …), as strings.",
                returns: [.init("table<string, string>", "the options")]) { call in
            call.push(.table(LuaTable(fields: context.task.options.mapValues { .text($0) }))); return 1
        }
        api.add("task.alphabet", summary: "Every character prompts and answers may contain.",
                returns: [.init("string", "the characters")]) { call in
            call.push(.text(String(context.task.alphabet))); return 1
        }
    }

    // MARK: sa.rng

    static func addRandom(_ api: inout HostAPI, _ context: PluginContext) {
        api.namespace("rng", summary: "The plugin's seeded generator (one seed drives every draw of a campaign).")
        api.add("rng.uniform", summary: "A uniform number in [0, 1).", returns: [.init("number", "the draw")]) { call in
            call.push(number: context.rng.uniformDouble()); return 1
        }
        api.add("rng.int", summary: "A uniform integer in [lo, hi].",
                params: [.init("lo", "integer", "smallest value"), .init("hi", "integer", "largest value")],
                returns: [.init("integer", "the draw")]) { call in
            let lo = try call.integer(1), hi = try call.integer(2)
            guard lo <= hi, hi - lo < Int64(Int32.max) else { throw HostCallError.argument(2, "need lo <= hi and hi - lo < 2^31") }
            call.push(integer: lo + Int64(context.rng.below(Int(hi - lo) + 1)))
            return 1
        }
        api.add("rng.normal", summary: "A standard normal draw.", returns: [.init("number", "the draw")]) { call in
            call.push(number: Double(context.rng.normal())); return 1
        }
        api.add("rng.choice", summary: "A uniformly chosen element of a non-empty list.",
                params: [.init("list", "any[]", "the list")], returns: [.init("any", "one element")]) { call in
            guard let items = try call.value(1).table?.array, !items.isEmpty else {
                throw HostCallError.argument(1, "a non-empty list expected")
            }
            call.push(items[context.rng.below(items.count)]); return 1
        }
        api.add("rng.shuffle", summary: "A shuffled copy of a list.",
                params: [.init("list", "any[]", "the list")], returns: [.init("any[]", "the shuffled copy")]) { call in
            guard var items = try call.value(1).table?.array else { throw HostCallError.argument(1, "a list expected") }
            context.rng.shuffle(&items)
            call.push(.table(LuaTable(array: items))); return 1
        }
    }

    // MARK: sa.learner

    static func stringList(_ call: HostCall, _ i: Int32) throws -> [String] {
        guard let t = try call.value(i).table, t.hash.isEmpty else { throw HostCallError.argument(i, "a list of strings expected") }
        return try t.array.enumerated().map { k, v in
            guard let s = v.text, case .string = v else { throw HostCallError.argument(i, "element \(k + 1) is not a string") }
            return s
        }
    }

    static func learner(_ context: PluginContext) throws -> LearnerProbe {
        guard let l = context.learner else {
            throw HostCallError.message("sa.learner is only available during a campaign (no learner is attached)")
        }
        return l
    }

    static func addLearner(_ api: inout HostAPI, _ context: PluginContext) {
        api.namespace("learner", summary: "The learner, probed in batches.")
        api.add("learner.generate", summary: "Completions for a batch of prompts (one batched call).",
                params: [.init("prompts", "string[]", "the prompts"),
                         .init("opts", "{samples?: integer, temperature?: number, top_k?: integer, max_tokens?: integer}",
                               "sampling options (defaults: 1 sample, greedy, no top-k, the task's answer length)", optional: true)],
                returns: [.init("sa.Sample[][]", "per prompt, its samples")]) { call in
            let prompts = try stringList(call, 1)
            let opts = call.isNil(2) ? LuaValue.nil : try call.value(2)
            let samples = opts["samples"].int ?? 1
            let temperature = opts["temperature"].double ?? 0
            let topK = opts["top_k"].int ?? 0
            let maxTokens = opts["max_tokens"].int ?? context.task.maxLength
            guard (1...64).contains(samples), temperature.isFinite, temperature >= 0, topK >= 0, (1...512).contains(maxTokens) else {
                throw HostCallError.argument(2, "need 1 <= samples <= 64, temperature >= 0, top_k >= 0, 1 <= max_tokens <= 512")
            }
            let out = try learner(context).generate(prompts: prompts, samples: samples, temperature: temperature,
                                                    topK: topK, maxTokens: maxTokens)
            call.push(.table(LuaTable(array: out.map { group in
                .table(LuaTable(array: group.map { .table(LuaTable(fields: ["text": .text($0.text), "logprob": .number($0.logprob)])) }))
            })))
            return 1
        }
        api.add("learner.logprob", summary: "Log-probability of each completion given its prompt (one batched call).",
                params: [.init("prompts", "string[]", "the prompts"), .init("completions", "string[]", "one completion per prompt")],
                returns: [.init("number[]", "the log-probabilities")]) { call in
            let prompts = try stringList(call, 1), completions = try stringList(call, 2)
            guard prompts.count == completions.count else {
                throw HostCallError.argument(2, "\(completions.count) completions for \(prompts.count) prompts")
            }
            let out = try learner(context).logprob(prompts: prompts, completions: completions)
            call.push(.table(LuaTable(array: out.map { .number($0) }))); return 1
        }
        api.add("learner.confidence", summary: "The learner's probability of its own greedy answer, per prompt.",
                params: [.init("prompts", "string[]", "the prompts")], returns: [.init("number[]", "confidences in [0, 1]")]) { call in
            let out = try learner(context).confidence(prompts: try stringList(call, 1))
            call.push(.table(LuaTable(array: out.map { .number($0) }))); return 1
        }
    }

    // MARK: sa.log

    static func addLog(_ api: inout HostAPI) {
        api.namespace("log", summary: "The host log (capped per plugin).")
        for (name, level) in [("debug", HostLogger.Level.debug), ("info", .info), ("warn", .warning), ("error", .error)] {
            api.add("log.\(name)", summary: "Logs a message at level \(level.rawValue).",
                    params: [.init("message", "string", "the message")]) { call in
                call.state.logger.log(level, source: call.state.name, try call.string(1)); return 0
            }
        }
    }

    // MARK: sa.text

    static func addText(_ api: inout HostAPI) {
        api.namespace("text", summary: "String helpers for rubrics and attackers.")
        api.add("text.digit_diff", summary: "Positions (1-based from the left of the longer string) where two strings differ, right-aligned as digits are.",
                params: [.init("a", "string", "expected"), .init("b", "string", "got")],
                returns: [.init("integer[]", "the differing positions")]) { call in
            let a = Array(try call.string(1)), b = Array(try call.string(2))
            let width = max(a.count, b.count)
            var out: [LuaValue] = []
            for i in 0..<width {
                let x = i < width - a.count ? nil : a[i - (width - a.count)]
                let y = i < width - b.count ? nil : b[i - (width - b.count)]
                if x != y { out.append(.integer(Int64(i + 1))) }
            }
            call.push(.table(LuaTable(array: out))); return 1
        }
        api.add("text.edit_distance", summary: "Levenshtein distance between two strings (by character).",
                params: [.init("a", "string", "first"), .init("b", "string", "second")],
                returns: [.init("integer", "the distance")]) { call in
            let a = Array(try call.string(1)), b = Array(try call.string(2))
            guard a.count * b.count <= 4_000_000 else { throw HostCallError.argument(2, "strings too long (product of lengths over 4e6)") }
            call.push(integer: Int64(editDistance(a, b))); return 1
        }
        api.add("text.trim", summary: "The string without leading and trailing whitespace.",
                params: [.init("s", "string", "the text")], returns: [.init("string", "trimmed")]) { call in
            call.push(.text(try call.string(1).trimmingSpaces)); return 1
        }
    }

    /// Levenshtein distance with two rows.
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0...b.count), cur = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            cur[0] = i
            for j in 1...b.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&prev, &cur)
        }
        return prev[b.count]
    }

    // MARK: sa.json

    static func addJSON(_ api: inout HostAPI) {
        api.namespace("json", summary: "JSON encoding (object keys sorted) and decoding.")
        api.add("json.encode", summary: "Encodes a value as compact JSON.",
                params: [.init("value", "any", "nil, boolean, number, string or table")], returns: [.init("string", "JSON text")]) { call in
            do { call.push(.text(try call.value(1).jsonText())) } catch let e as JSONError { throw HostCallError.argument(1, e.message) }
            return 1
        }
        api.add("json.decode", summary: "Decodes JSON text (null becomes nil).",
                params: [.init("text", "string", "JSON text")], returns: [.init("any", "the value")]) { call in
            do { call.push(try LuaValue(json: try call.string(1))) } catch let e as JSONError { throw HostCallError.argument(1, e.message) }
            return 1
        }
    }
}

/// The LuaLS stubs in `Plugins/meta/`: `sa.lua` (the host API) and `protocol.lua` (the plugin
/// protocol), both generated by `superalign plugins stubs`.
public enum SuperalignStubs {
    /// The stubs text for `Plugins/meta/sa.lua`.
    public static func text() -> String {
        let context = PluginContext(task: AdditionTask.standardForStubs, seed: 0)
        return SuperalignAPI.make(context: context).luaLSStubs(generator: SuperalignAPI.stubsGenerator)
    }

    /// The stubs text for `Plugins/meta/protocol.lua`, from `PluginProtocol`.
    public static func protocolText() -> String {
        PluginProtocol.stubs(generator: SuperalignAPI.stubsGenerator)
    }

    /// Every stubs file: its name under `Plugins/meta/` and its text.
    public static func files() -> [(name: String, text: String)] {
        [("sa.lua", text()), ("protocol.lua", protocolText())]
    }
}

extension AdditionTask {
    /// The task the stubs are generated with (stubs do not depend on it).
    static let standardForStubs = try! AdditionTask(digits: 2)
}

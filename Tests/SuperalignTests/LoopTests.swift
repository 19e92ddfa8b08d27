import XCTest
import LuaHost
import Models
import Superalign
import Tensor
import TestSupport

/// The loop's honesty, checked against values worked out by hand from the design's rules
/// (DESIGN.md, "Conventions of measurement"), never against the function the loop calls.
final class LoopTests: XCTestCase {
    /// A tiny campaign on 1-digit addition; `%CRITIC%`, `%OVERSIGHT%`, `%REFINE%` are filled per test.
    static let template = """
    return campaign{
      name = "loop", seed = 5, iterations = 3, queries = 12,
      task = { name = "addition", digits = 1 },
      learner = { layers = 1, width = 16, heads = 2, pretrain_steps = 30, pretrain_batch = 32 },
      attacker = { plugin = "random" },
      critic = %CRITIC%,
      oversight = %OVERSIGHT%,
      refine = %REFINE%,
      eval_clean = 12, eval_ood = 6,
    }
    """

    func campaign(critic: String = #"{ plugin = "last_digit" }"#, oversight: String = #"{ plugin = "never" }"#,
                  refine: String = #"{ method = "sft", steps = 4, batch = 8, rehearsal = 0 }"#,
                  plugins: [String: String] = [:]) throws -> (CampaignConfig, URL, [String]) {
        let dir = try TestSupport.temporaryDirectory()
        let text = Self.template.replacingOccurrences(of: "%CRITIC%", with: critic)
            .replacingOccurrences(of: "%OVERSIGHT%", with: oversight).replacingOccurrences(of: "%REFINE%", with: refine)
        let url = dir.appendingPathComponent("campaign.lua")
        try Data(text.utf8).write(to: url)
        let pluginDir = dir.appendingPathComponent("plugins")
        try FileManager.default.createDirectory(at: pluginDir, withIntermediateDirectories: true)
        for (name, source) in plugins { try Data(source.utf8).write(to: pluginDir.appendingPathComponent("\(name).lua")) }
        return (try CampaignScript.load(file: url)[0], dir.appendingPathComponent("run"), [pluginDir.path])
    }

    func store(_ dir: URL) throws -> RunStore { try RunStore(url: dir.appendingPathComponent("run.sqlite")) }

    // MARK: The human budget

    /// `always` asks for every item; the oracle must stop at the budget, within an iteration
    /// and across iterations, and a resumed run must remember what was spent.
    func testHumanBudgetBindsWithinAndAcrossIterationsAndAfterResume() throws {
        let (config, dir, folders) = try campaign(oversight: #"{ plugin = "always", budget = 15 }"#)
        let runner = try CampaignRunner.start(config, in: dir, pluginFolders: folders)
        try runner.run(stopAfter: 1)
        let resumed = try CampaignRunner.resume(in: dir, pluginFolders: folders)
        let report = try resumed.run()
        let items = try store(dir).items()
        // 12 queries an iteration: 12 labels in the first, the 3 left in the second, none after.
        let perIteration = (1...3).map { i in items.filter { $0.iteration == i && $0.escalated }.count }
        XCTAssertEqual(perIteration, [12, 3, 0])
        XCTAssertEqual(report.iterations.map { $0["human_labels"] }, [12, 3, 0])
        XCTAssertEqual(items.filter { $0.humanLabel != nil }.count, 15)
        // `always` asks in order, so the labelled items of iteration 2 are its first three.
        XCTAssertEqual(items.filter { $0.iteration == 2 && $0.escalated }.map(\.position), [0, 1, 2])
        // An item asked for with no budget left is neither labelled nor counted as escalated.
        XCTAssertTrue(items.filter { $0.iteration == 3 }.allSatisfy { !$0.escalated && $0.humanLabel == nil })
        XCTAssertEqual(try store(dir).lastIteration()?.humanBudgetSpent, 15)
    }

    /// With corrections, a "wrong" label costs 1 and the answer 1 more while budget lasts.
    func testCorrectionsCostOneMoreAndStopAtTheBudget() throws {
        let (config, dir, folders) = try campaign(oversight: #"{ plugin = "always", budget = 9, corrections = true }"#)
        try CampaignRunner.start(config, in: dir, pluginFolders: folders).run()
        let items = try store(dir).items().sorted { ($0.iteration, $0.position) < ($1.iteration, $1.position) }
        // The rule by hand: in order, each label costs 1; a wrong response also gets the answer
        // for 1 more when the budget still has it.
        var remaining = 9
        var expectedLabelled: [Int] = [], expectedCorrections: [Int] = []
        for (n, it) in items.enumerated() where remaining > 0 {
            remaining -= 1
            expectedLabelled.append(n)
            if !it.correct && remaining > 0 { remaining -= 1; expectedCorrections.append(n) }
        }
        XCTAssertEqual(items.indices.filter { items[$0].escalated }, expectedLabelled)
        XCTAssertEqual(items.indices.filter { items[$0].humanCorrection != nil }, expectedCorrections)
        for n in expectedCorrections { XCTAssertEqual(items[n].humanCorrection, items[n].answer) }
        XCTAssertEqual(try store(dir).lastIteration()?.humanBudgetSpent, 9)
    }

    // MARK: What refinement trains on

    /// Accepted responses, human corrections and rehearsal from the pretraining set — nothing
    /// else; nothing from the eval or ood partitions.
    func testRefinementTrainsOnAcceptedResponsesCorrectionsAndRehearsalOnly() throws {
        let (config, dir, folders) = try campaign(oversight: #"{ plugin = "random_budget", budget = 8, corrections = true, params = { rate = 0.5 } }"#,
                                                  refine: #"{ method = "sft", steps = 4, batch = 8, rehearsal = 5 }"#)
        let runner = try CampaignRunner.start(config, in: dir, pluginFolders: folders)
        var seen: [Int: [PromptCompletion]] = [:]
        runner.refinementObserver = { i, examples in seen[i] = examples }
        try runner.run()
        let task = try AdditionTask(digits: 1)
        for i in 1...3 {
            let items = try store(dir).items(iteration: i)
            var expected: [String] = []
            for it in items where it.partition == "pretrain" {
                if it.humanLabel == true || (it.humanLabel == nil && it.criticLabel) { expected.append("\(it.query)|\(it.response)") }
                else if it.humanLabel == false, let c = it.humanCorrection { expected.append("\(it.query)|\(c)") }
            }
            let examples = seen[i] ?? []
            let fromItems = examples.prefix(examples.count - (expected.isEmpty ? 0 : 5)).map { "\($0.prompt)|\($0.completion)" }
            XCTAssertEqual(fromItems.sorted(), expected.sorted(), "iteration \(i)")
            // Rehearsal: 5 problems of the pretrain partition with their true answers.
            if !expected.isEmpty {
                let rehearsal = examples.suffix(5)
                XCTAssertEqual(rehearsal.count, 5)
                for r in rehearsal {
                    let p = task.problem(forPrompt: r.prompt)!
                    XCTAssertEqual(r.completion, p.answer)
                    XCTAssertEqual(runner.partitions.partition(of: r.prompt, in: task), .pretrain)
                }
            }
            for e in examples { XCTAssertEqual(runner.partitions.partition(of: e.prompt, in: task), .pretrain, e.prompt) }
        }
    }

    /// A critic that rejects everything, no human and no rehearsal: nothing to train on, so no
    /// training at all (no fresh ground truth slips in).
    func testNothingIsTrainedWhenNothingIsAcceptedAndNoBudget() throws {
        let reject = """
        return { kind = "critic", name = "reject_all", params = {},
          score = function() return { score = 0, label = false, confidence = 1, critique = "no" } end }
        """
        let (config, dir, folders) = try campaign(critic: #"{ plugin = "reject_all" }"#, plugins: ["reject_all": reject])
        let runner = try CampaignRunner.start(config, in: dir, pluginFolders: folders)
        var seen: [[PromptCompletion]] = []
        runner.refinementObserver = { _, examples in seen.append(examples) }
        let report = try runner.run()
        XCTAssertEqual(seen.map(\.count), [0, 0, 0])
        for m in report.iterations {
            XCTAssertNil(m["train_loss"], "no training, so no loss")
            XCTAssertEqual(m["train_items"], 0)
            XCTAssertNil(m["critic_precision"], "nothing accepted: precision is undefined, not 1")
        }
        XCTAssertTrue(try store(dir).items().allSatisfy { $0.trainedCompletion == nil })
    }

    // MARK: The information boundary

    /// A plugin of each kind tries every route to the answer and records what it found.
    func testPluginsThatTryEveryRouteToTheAnswerGetNothing() throws {
        let probe = """
        local found = {}
        local function try(label, f)
          local ok, v = pcall(f)
          if ok and v ~= nil then found[#found + 1] = label .. "=" .. tostring(v) end
          if not ok and label == "item.answer" and not tostring(v):find("hidden") then found[#found + 1] = "no hidden message" end
        end
        local function probe_item(item)
          try("item.answer", function() return item.answer end)
          try("item.correct", function() return item.correct end)
          try("item.reference", function() return item.reference end)
          try("rawget answer", function() return rawget(item, "answer") end)
          try("metatable", function() local m = getmetatable(item); return m and "table" or nil end)
          for k in pairs(item) do
            if k == "answer" or k == "correct" or k == "reference" then found[#found + 1] = "pairs:" .. k end
          end
        end
        local function probe_api()
          try("sa.task.verify", function() return sa.task.verify end)
          try("sample.answer", function() return sa.task.sample(1)[1].answer end)
          try("problem.answer", function() return sa.task.problem("3+4=").answer end)
        end
        return { kind = "%KIND%", name = "%NAME%", params = {},
          propose = function(_, _, n)
            probe_api()
            local out = {}
            for i, p in ipairs(sa.task.sample(n)) do out[i] = p.prompt end
            return out
          end,
          observe = function(_, results)
            for _, r in ipairs(results) do probe_item(r) end
            if #found > 0 then error("found: " .. table.concat(found, ", ")) end
          end,
          score = function(_, item)
            probe_item(item); probe_api()
            if #found > 0 then error("found: " .. table.concat(found, ", ")) end
            return { score = 0.5, label = true, confidence = 0.5, critique = "" }
          end,
          decide = function(_, item, verdict)
            probe_item(item); probe_item(verdict); probe_api()
            if #found > 0 then error("found: " .. table.concat(found, ", ")) end
            return true
          end,
        }
        """
        func source(_ kind: String, _ name: String) -> String {
            var s = probe.replacingOccurrences(of: "%KIND%", with: kind).replacingOccurrences(of: "%NAME%", with: name)
            if kind != "attacker" { s = s.replacingOccurrences(of: "propose = function", with: "unused_propose = function")
                .replacingOccurrences(of: "observe = function", with: "unused_observe = function") }
            if kind != "critic" { s = s.replacingOccurrences(of: "score = function", with: "unused_score = function") }
            if kind != "oversight" { s = s.replacingOccurrences(of: "decide = function", with: "unused_decide = function") }
            return s
        }
        let template = Self.template.replacingOccurrences(of: #"attacker = { plugin = "random" }"#, with: #"attacker = { plugin = "probe_attacker" }"#)
        let dir = try TestSupport.temporaryDirectory()
        let text = template.replacingOccurrences(of: "%CRITIC%", with: #"{ plugin = "probe_critic" }"#)
            .replacingOccurrences(of: "%OVERSIGHT%", with: #"{ plugin = "probe_oversight", budget = 4 }"#)
            .replacingOccurrences(of: "%REFINE%", with: #"{ method = "sft", steps = 2, batch = 4, rehearsal = 0 }"#)
        let url = dir.appendingPathComponent("campaign.lua")
        try Data(text.utf8).write(to: url)
        let plugins = dir.appendingPathComponent("plugins")
        try FileManager.default.createDirectory(at: plugins, withIntermediateDirectories: true)
        for (kind, name) in [("attacker", "probe_attacker"), ("critic", "probe_critic"), ("oversight", "probe_oversight")] {
            try Data(source(kind, name).utf8).write(to: plugins.appendingPathComponent("\(name).lua"))
        }
        let config = try CampaignScript.load(file: url)[0]
        let report = try CampaignRunner.start(config, in: dir.appendingPathComponent("run"), pluginFolders: [plugins.path]).run()
        XCTAssertEqual(report.iterations.count, 3, "every probe ran and found nothing")
        XCTAssertFalse(report.referenceBased)
    }

    /// Reading `item.answer` is an error that explains the boundary and how to declare a
    /// reference-based critic; the declared critic then reads `item.reference`.
    func testReadingTheAnswerIsAClearErrorAndReferenceCriticsAreDeclared() throws {
        let peeking = """
        return { kind = "critic", name = "peeking", params = {},
          score = function(_, item)
            local ok = item.answer == item.response
            return { score = ok and 1 or 0, label = ok, confidence = 1 }
          end }
        """
        let (config, dir, folders) = try campaign(critic: #"{ plugin = "peeking" }"#, plugins: ["peeking": peeking])
        XCTAssertThrowsError(try CampaignRunner.start(config, in: dir, pluginFolders: folders).run()) { e in
            let text = "\(e)"
            XCTAssertTrue(text.contains("item.answer is hidden") && text.contains("reference = true"), text)
            XCTAssertTrue(text.contains("critique"), "the error names the phase: \(text)")
        }
        let (declared, dir2, folders2) = try campaign(critic: #"{ plugin = "exact_verifier", reference = true }"#)
        let report = try CampaignRunner.start(declared, in: dir2, pluginFolders: folders2).run()
        XCTAssertTrue(report.referenceBased)
        for m in report.iterations { XCTAssertEqual(m["critic_accuracy"], 1, "the exact verifier with the reference is always right") }
        let record = try String(contentsOf: dir2.appendingPathComponent("config.json"), encoding: .utf8)
        XCTAssertTrue(record.contains("\"referenceBased\" : true"), record)
    }

    /// An attacker that supplies answers is refused; prompts the task cannot answer are counted.
    func testAttackersProposePromptsOnly() throws {
        let answering = """
        return { kind = "attacker", name = "answering", params = {},
          propose = function() return { { prompt = "1+1=", answer = "2" } } end }
        """
        let (config, dir, folders) = try campaign(plugins: ["answering": answering])
        var c = config
        c.attacker = CampaignConfig.PluginRef(plugin: "answering")
        XCTAssertThrowsError(try CampaignRunner.start(c, in: dir, pluginFolders: folders).run()) { e in
            XCTAssertTrue("\(e)".contains("attackers propose prompts only"), "\(e)")
        }
        let mixed = """
        return { kind = "attacker", name = "mixed", params = {},
          propose = function() return { "1+1=", "hello", "2+2=", "1+1" } end }
        """
        let (config2, dir2, folders2) = try campaign(plugins: ["mixed": mixed])
        var c2 = config2
        c2.attacker = CampaignConfig.PluginRef(plugin: "mixed")
        let report = try CampaignRunner.start(c2, in: dir2, pluginFolders: folders2).run()
        XCTAssertEqual(report.iterations.map { $0["invalid_queries"] }, [2, 2, 2])
        XCTAssertEqual(try store(dir2).items(iteration: 1).map(\.answer), ["2", "4"])
    }

    // MARK: Partitions

    func testPartitionsAreDisjointStableAndEvaluationNeverTrains() throws {
        let task = try AdditionTask(digits: 2)
        let parts = TaskPartitions(seed: 99, evalShare: 0.2)
        var counts: [Partition: Int] = [:]
        for a in 0..<100 { for b in 0..<100 { counts[parts.partition(of: "\(a)+\(b)=", in: task), default: 0] += 1 } }
        XCTAssertEqual(counts[.ood], nil, "two-digit operands are never out of distribution")
        XCTAssertEqual(Double(counts[.eval]!) / 10_000, 0.2, accuracy: 0.02)
        XCTAssertEqual(parts.partition(of: "123+4=", in: task), .ood)
        XCTAssertEqual(parts.partition(of: "47+85=", in: task), parts.partition(of: "47+85=", in: task))
        XCTAssertNotEqual((0..<200).map { TaskPartitions(seed: 1, evalShare: 0.5).partition(of: "\($0)+1=", in: task) },
                          (0..<200).map { TaskPartitions(seed: 2, evalShare: 0.5).partition(of: "\($0)+1=", in: task) },
                          "the split depends on the seed")
        var rng = RandomGenerator(seed: 3)
        let eval = try parts.sample(50, from: .eval, task: task, &rng, distinct: true)
        XCTAssertEqual(Set(eval.map(\.prompt)).count, 50)
        XCTAssertTrue(eval.allSatisfy { parts.partition(of: $0.prompt, in: task) == .eval })
        let ood = try parts.sample(10, from: .ood, task: task, &rng)
        XCTAssertTrue(ood.allSatisfy { parts.partition(of: $0.prompt, in: task) == .ood })
    }

    /// An attacker aiming at the evaluation set: those items are answered, critiqued and
    /// measured, but never trained on, even when accepted.
    func testItemsFromEvalAndOODAreNeverTrainedOn() throws {
        let everything = """
        return { kind = "attacker", name = "everything", params = {},
          propose = function(_, _, n)
            local out = {}
            for a = 0, 9 do for b = 0, 9 do out[#out + 1] = a .. "+" .. b .. "=" end end
            out[#out + 1] = "10+10="
            return out
          end }
        """
        var (config, dir, folders) = try campaign(critic: #"{ plugin = "exact_verifier", reference = true }"#,
                                                  plugins: ["everything": everything])
        config.attacker = CampaignConfig.PluginRef(plugin: "everything")
        config.queriesPerIteration = 101
        config.evalShare = 0.3
        let runner = try CampaignRunner.start(config, in: dir, pluginFolders: folders)
        var trained: [String] = []
        runner.refinementObserver = { _, examples in trained += examples.map(\.prompt) }
        try runner.run()
        let items = try store(dir).items()
        let held = Set(items.filter { $0.partition != "pretrain" }.map(\.query))
        XCTAssertTrue(held.contains("10+10="), "the out-of-distribution prompt is held out")
        XCTAssertGreaterThan(held.count, 10)
        XCTAssertTrue(Set(trained).isDisjoint(with: held))
        XCTAssertFalse(trained.isEmpty)
        XCTAssertTrue(items.filter { $0.partition != "pretrain" }.allSatisfy { $0.trainedCompletion == nil })
    }

    // MARK: Metric formulas

    func testMetricFormulasOnAConstructedIteration() throws {
        func item(_ correct: Bool, _ label: Bool, greedyCorrect: Bool, response: String) -> IterationItem {
            var it = IterationItem(position: 0, prompt: "1+1=", reference: "2", partition: .pretrain, features: [:],
                                   greedy: ResponseSample(text: response, logprob: -1), greedyCorrect: greedyCorrect,
                                   samples: [ResponseSample(text: response, logprob: -1)])
            it.sampleCorrect = [correct]
            let v = CriticVerdict(score: label ? 0.8 : 0.1, label: label, confidence: 0.9, critique: "")
            it.sampleVerdicts = [[v]]
            it.sampleAggregates = [v]
            return it
        }
        // right & accepted ×2, right & rejected ×1, wrong & accepted ×1, wrong & rejected ×2
        let items = [item(true, true, greedyCorrect: true, response: "2"), item(true, true, greedyCorrect: true, response: "2"),
                     item(true, false, greedyCorrect: false, response: "2"), item(false, true, greedyCorrect: false, response: "3"),
                     item(false, false, greedyCorrect: false, response: "4"), item(false, false, greedyCorrect: true, response: "5")]
        let m = IterationMeasures(items).values
        XCTAssertEqual(m["response_accuracy"]!!, 3.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(m["attack_success_rate"]!!, 3.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(m["critic_accuracy"]!!, 4.0 / 6, accuracy: 1e-12)     // 2 TP + 2 TN
        XCTAssertEqual(m["critic_precision"]!!, 2.0 / 3, accuracy: 1e-12)    // 2 of 3 accepted are right
        XCTAssertEqual(m["critic_recall"]!!, 2.0 / 3, accuracy: 1e-12)       // 2 of 3 right are accepted
        XCTAssertEqual(m["critic_blind_spot"]!!, 1.0 / 3, accuracy: 1e-12)   // 1 of 3 wrong is accepted
        XCTAssertEqual(m["mean_critic_score"]!!, (3 * 0.8 + 3 * 0.1) / 6, accuracy: 1e-12)
        XCTAssertEqual(m["distinct_share"]!!, 4.0 / 6, accuracy: 1e-12)
        // Undefined cases: nothing accepted, nothing right, nothing wrong.
        let none = IterationMeasures([item(false, false, greedyCorrect: false, response: "3")]).values
        XCTAssertNil(none["critic_precision"]!)
        XCTAssertNil(none["critic_recall"]!)
        XCTAssertEqual(none["critic_blind_spot"]!!, 0)
        let allRight = IterationMeasures([item(true, true, greedyCorrect: true, response: "2")]).values
        XCTAssertNil(allRight["critic_blind_spot"]!)
        // Undefined is null in JSON, never a number.
        var metrics = IterationMetrics(iteration: 1)
        metrics["critic_precision"] = nil
        metrics["clean_accuracy"] = 0.5
        let json = String(decoding: try JSONEncoder().encode(metrics), as: UTF8.self)
        XCTAssertTrue(json.contains("\"critic_precision\":null"), json)
        XCTAssertEqual(try JSONDecoder().decode(IterationMetrics.self, from: Data(json.utf8)), metrics)
    }

    func testCriticAggregationRules() {
        func v(_ s: Double, _ l: Bool, _ c: Double) -> CriticVerdict { CriticVerdict(score: s, label: l, confidence: c, critique: "") }
        let three = [v(0.9, true, 0.8), v(0.2, false, 0.6), v(0.7, true, 0.5)]
        XCTAssertEqual(CriticAggregation.combine(three, rule: "first").score, 0.9)
        let mean = CriticAggregation.combine(three, rule: "mean")
        XCTAssertEqual(mean.score, 0.6, accuracy: 1e-12); XCTAssertTrue(mean.label); XCTAssertEqual(mean.confidence, 1.9 / 3, accuracy: 1e-12)
        let majority = CriticAggregation.combine(three, rule: "majority")
        XCTAssertTrue(majority.label); XCTAssertEqual(majority.confidence, 2.0 / 3, accuracy: 1e-12)
        let all = CriticAggregation.combine(three, rule: "all")
        XCTAssertFalse(all.label); XCTAssertEqual(all.score, 0.2); XCTAssertEqual(all.confidence, 0.6)
        let tie = CriticAggregation.combine([v(1, true, 1), v(0, false, 1)], rule: "majority")
        XCTAssertFalse(tie.label, "a tie is not a majority")
    }

    // MARK: RFT, arms and seeds

    /// RFT scores K samples per query and learns from the critics' best (first on ties).
    func testRFTChoosesTheCriticsBestSample() throws {
        let (config, dir, folders) = try campaign(critic: #"{ plugin = "digit_rubric", reference = true }"#,
                                                  refine: #"{ method = "rft", samples = 3, steps = 3, batch = 4, rehearsal = 0 }"#)
        var seen: [PromptCompletion] = []
        let runner = try CampaignRunner.start(config, in: dir, pluginFolders: folders)
        runner.refinementObserver = { i, e in if i == 1 { seen = e } }
        try runner.run(stopAfter: 1)
        let s = try store(dir)
        let samples = try s.samples(iteration: 1)
        let items = try s.items(iteration: 1)
        XCTAssertEqual(samples.count, 3 * items.count)
        var expected: [String] = []
        for it in items {
            let group = samples.filter { $0.position == it.position }.sorted { $0.k < $1.k }
            XCTAssertEqual(group.map(\.k), [0, 1, 2])
            let best = group.indices.first { k in group.allSatisfy { $0.aggregateScore <= group[k].aggregateScore } }!
            XCTAssertEqual(group.filter(\.chosen).map(\.k), [best])
            XCTAssertEqual(it.response, group[best].text)
            if it.criticLabel { expected.append("\(it.query)|\(group[best].text)") }
        }
        XCTAssertEqual(seen.map { "\($0.prompt)|\($0.completion)" }.sorted(), expected.sorted())
    }

    /// Arms of one seed share the pretrained learner and the query stream; seeds differ.
    func testArmsShareThePretrainedLearnerAndQueriesPerSeed() throws {
        let dir = try TestSupport.temporaryDirectory()
        let url = dir.appendingPathComponent("arms.lua")
        try Data("""
        return campaign{
          name = "arms", seeds = { 1, 2 }, iterations = 1, queries = 8,
          task = { name = "addition", digits = 1 },
          learner = { layers = 1, width = 16, heads = 2, pretrain_steps = 20, pretrain_batch = 16 },
          critic = { plugin = "last_digit" },
          refine = { steps = 2, batch = 4, rehearsal = 0 },
          arms = { { name = "never", oversight = { plugin = "never" } },
                   { name = "always", oversight = { plugin = "always", budget = 4 } } },
          eval_clean = 8, eval_ood = 4,
        }
        """.utf8).write(to: url)
        let configs = try CampaignScript.load(file: url)
        XCTAssertEqual(configs.map(\.runName), ["arms-never-seed1", "arms-always-seed1", "arms-never-seed2", "arms-always-seed2"])
        var reports: [CampaignReport] = []
        var queries: [String: [String]] = [:]
        for c in configs {
            let runDir = dir.appendingPathComponent(c.runName)
            reports.append(try CampaignRunner.start(c, in: runDir, pretrainCache: dir.appendingPathComponent("pretrained")).run())
            queries[c.runName] = try store(runDir).items(iteration: 1).map(\.query)
        }
        XCTAssertEqual(reports[0].baseline, reports[1].baseline, "seed 1's arms start from the same learner")
        XCTAssertEqual(queries["arms-never-seed1"], queries["arms-always-seed1"])
        XCTAssertNotEqual(queries["arms-never-seed1"], queries["arms-never-seed2"])
        let summary = CampaignSummary(reports)
        XCTAssertEqual(summary.arms.map(\.arm), ["never", "always"])
        XCTAssertEqual(summary.arms[1].values["human labels"]!, [4, 4])
        XCTAssertNil(summary.arms[0].intervals["final clean accuracy"]!, "two seeds give no interval")
        XCTAssertTrue(summary.table().contains("no interval"))
    }

    // MARK: Robustness

    func testRunDirectoryAndResumeErrorsAreSentences() throws {
        let (config, _, folders) = try campaign()
        let file = try TestSupport.temporaryDirectory().appendingPathComponent("a-file")
        try Data("x".utf8).write(to: file)
        XCTAssertThrowsError(try CampaignRunner.start(config, in: file, pluginFolders: folders)) { e in
            XCTAssertTrue("\(e)".contains("is a file, not a run directory"), "\(e)")
        }
        let empty = try TestSupport.temporaryDirectory()
        XCTAssertThrowsError(try CampaignRunner.resume(in: empty)) { e in
            XCTAssertTrue("\(e)".contains("not a run directory"), "\(e)")
        }
    }

    func testPluginParamsAndNamesAreChecked() throws {
        let (config, dir, folders) = try campaign(oversight: #"{ plugin = "random_budget", budget = 2, params = { rat = 0.5 } }"#)
        XCTAssertThrowsError(try CampaignRunner.start(config, in: dir, pluginFolders: folders)) { e in
            XCTAssertTrue("\(e)".contains("params.rat") && "\(e)".contains("rate"), "\(e)")
        }
        let (config2, dir2, folders2) = try campaign(oversight: #"{ plugin = "random_budget", budget = 2, params = { rate = "high" } }"#)
        XCTAssertThrowsError(try CampaignRunner.start(config2, in: dir2, pluginFolders: folders2)) { e in
            XCTAssertTrue("\(e)".contains("expected a number"), "\(e)")
        }
        let misnamed = #"return { kind = "critic", name = "other", score = function() return { score = 1, label = true } end }"#
        let (config3, dir3, folders3) = try campaign(critic: #"{ plugin = "misnamed" }"#, plugins: ["misnamed": misnamed])
        XCTAssertThrowsError(try CampaignRunner.start(config3, in: dir3, pluginFolders: folders3)) { e in
            XCTAssertTrue("\(e)".contains("must match"), "\(e)")
        }
    }

    func testCampaignFilesAreConfinedByRealPath() throws {
        let dir = try TestSupport.temporaryDirectory()
        let outside = try TestSupport.temporaryDirectory().appendingPathComponent("secret.txt")
        try Data("secret".utf8).write(to: outside)
        try FileManager.default.createSymbolicLink(at: dir.appendingPathComponent("link.txt"), withDestinationURL: outside)
        try FileManager.default.createSymbolicLink(at: dir.appendingPathComponent("root"), withDestinationURL: URL(fileURLWithPath: "/"))
        for script in ["return read_text('link.txt')", "return read_text('root/etc/passwd')",
                       "return campaign{ task = { name = 'jsonl', file = 'link.txt' } }"] {
            let url = dir.appendingPathComponent("c.lua")
            try Data(script.utf8).write(to: url)
            XCTAssertThrowsError(try CampaignScript.load(file: url), script) { e in
                XCTAssertTrue("\(e)".contains("outside the campaign's folder"), "\(script): \(e)")
            }
        }
        // Data elsewhere is readable once its folder is allowed explicitly.
        let url = dir.appendingPathComponent("c.lua")
        try Data("return { read_text('\(outside.path)') }".utf8).write(to: url)
        XCTAssertThrowsError(try CampaignScript.loadExperiments(file: url))
        XCTAssertThrowsError(try CampaignScript.loadExperiments(file: url, allowRead: [outside.deletingLastPathComponent()])) { e in
            XCTAssertFalse("\(e)".contains("outside"), "reading is allowed; only the missing campaign{} is an error: \(e)")
        }
    }
}

import ArgumentParser
import Foundation
import Models
import Tensor

/// `superalign generate`: batched sampling from a GPT checkpoint, with token log-probabilities.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Sample completions from a GPT checkpoint (KV cache, batched), with token log-probs.",
        discussion: "Example: superalign generate add.safetensors --prompt '12+34=' --temperature 0"
    )

    @Argument(help: "GPT checkpoint (.safetensors).") var checkpoint: String
    @Option(help: "One prompt.") var prompt: String?
    @Option(help: "JSONL file whose lines carry a \"prompt\" field.") var prompts: String?
    @Option(help: "Samples per prompt.") var samples = 1
    @Option(help: "Sampling temperature (0 = greedy).") var temperature: Float = 1
    @Option(help: "Sample among the K most likely tokens only.") var topK: Int?
    @Option(help: "New tokens at most.") var maxTokens = 32
    @Option(help: "A character that also ends a sample (EOS always does).") var stop: String?
    @Option(help: "Seed of the draws.") var seed: UInt64 = 0
    @Flag(help: "Print one JSON document.") var json = false

    func validate() throws {
        guard (prompt == nil) != (prompts == nil) else { throw ValidationError("give exactly one of --prompt and --prompts") }
        guard samples >= 1, maxTokens >= 0, temperature >= 0, (topK ?? 1) >= 1 else {
            throw ValidationError("need --samples ≥ 1, --max-tokens ≥ 0, --temperature ≥ 0, --top-k ≥ 1")
        }
    }

    func run() throws {
        let (gpt, tok) = try GPT.load(from: URL(fileURLWithPath: checkpoint))
        guard let tokenizer = tok else { throw CLIError("\(checkpoint) has no vocabulary in its metadata") }
        // A classifier's token head was never trained to predict text: sampling it would print noise.
        guard gpt.config.classes == 0 else {
            throw CLIError("\(checkpoint) is a text classifier (\(gpt.config.classes) classes), not a language model: it cannot "
                           + "generate text. Score labelled texts with `superalign eval \(checkpoint) --data FILE.jsonl`")
        }
        let list: [String]
        if let prompt {
            list = [prompt]
        } else {
            list = try JSONLines.prompts(from: URL(fileURLWithPath: prompts!))
        }
        var stops: Set<Int32> = [CharTokenizer.eos]
        if let stop {
            let scalars = Array(stop.unicodeScalars)
            guard scalars.count == 1, let id = tokenizer.id(of: scalars[0]) else {
                throw ValidationError("--stop must be one character of the model's vocabulary")
            }
            stops.insert(id)
        }
        let options = SamplingOptions(maxNewTokens: maxTokens, temperature: temperature, topK: topK,
                                      samplesPerPrompt: samples, stopTokens: stops, seed: seed)
        let out = try gpt.generate(list, tokenizer: tokenizer, options: options)
        if json {
            let rows = out.map { g -> String in
                let tokens = g.tokens.map { jsonString(tokenText($0, tokenizer)) }.joined(separator: ",")
                let lps = g.tokenLogProbs.map { fmt(Double($0)) }.joined(separator: ",")
                return "{\"prompt_index\":\(g.promptIndex),\"sample\":\(g.sampleIndex),\"prompt\":\(jsonString(list[g.promptIndex])),"
                    + "\"text\":\(jsonString(g.text)),\"token_ids\":\(g.tokens),\"tokens\":[\(tokens)],"
                    + "\"token_logprobs\":[\(lps)],\"total_logprob\":\(fmt(Double(g.totalLogProb))),"
                    + "\"finish_reason\":\"\(g.finishReason.rawValue)\"}"
            }
            print("{\"samples\":[" + rows.joined(separator: ",") + "]}")
        } else {
            for g in out {
                print("[\(g.promptIndex).\(g.sampleIndex)] \(list[g.promptIndex])\(g.text)  "
                      + "(log p = \(fmt(Double(g.totalLogProb))), \(g.finishReason.rawValue))")
                let parts = zip(g.tokens, g.tokenLogProbs).map { "\(tokenizer.tokenName($0)) \(fmt(Double($1)))" }
                print("    " + parts.joined(separator: "  "))
            }
        }
    }
}

/// A token as text: its character, or the special token's name (`<eos>`).
func tokenText(_ id: Int32, _ tokenizer: CharTokenizer) -> String {
    let s = tokenizer.decode([id])
    return s.isEmpty ? tokenizer.tokenName(id) : s
}

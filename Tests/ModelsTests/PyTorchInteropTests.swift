import XCTest
import TestSupport
import Tensor
@testable import Models

/// nanoGPT compatibility, end to end: PyTorch loads our checkpoint into a module with nanoGPT's
/// structure and names (`load_state_dict(strict=True)`) and must compute the same logits; a
/// state dict saved by PyTorch loads here and gives PyTorch's logits. Skips (with the reason)
/// when python3, torch or safetensors is missing; installs nothing.
final class PyTorchInteropTests: XCTestCase {
    static let script = """
    import json, sys, math, torch, torch.nn as nn, torch.nn.functional as F
    from safetensors.torch import load_file, save_file
    cfg = json.loads(sys.argv[2]); ids = torch.tensor(json.loads(sys.argv[3]))
    C, H = cfg["width"], cfg["heads"]
    class Attn(nn.Module):
        def __init__(s):
            super().__init__(); s.c_attn = nn.Linear(C, 3 * C); s.c_proj = nn.Linear(C, C)
        def forward(s, x):
            B, T, _ = x.shape
            q, k, v = (t.view(B, T, H, C // H).transpose(1, 2) for t in s.c_attn(x).split(C, dim=2))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            return s.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))
    class MLP(nn.Module):
        def __init__(s):
            super().__init__(); s.c_fc = nn.Linear(C, 4 * C); s.c_proj = nn.Linear(4 * C, C)
        def forward(s, x): return s.c_proj(F.gelu(s.c_fc(x)))
    class Block(nn.Module):
        def __init__(s):
            super().__init__(); s.ln_1 = nn.LayerNorm(C); s.attn = Attn(); s.ln_2 = nn.LayerNorm(C); s.mlp = MLP()
        def forward(s, x):
            x = x + s.attn(s.ln_1(x)); return x + s.mlp(s.ln_2(x))
    class GPT(nn.Module):
        def __init__(s):
            super().__init__()
            s.transformer = nn.ModuleDict(dict(wte=nn.Embedding(cfg["vocabulary"], C), wpe=nn.Embedding(cfg["context"], C),
                                               h=nn.ModuleList(Block() for _ in range(cfg["layers"])), ln_f=nn.LayerNorm(C)))
            s.lm_head = nn.Linear(C, cfg["vocabulary"], bias=False)
            s.transformer.wte.weight = s.lm_head.weight
        def forward(s, idx):
            x = s.transformer.wte(idx) + s.transformer.wpe(torch.arange(idx.shape[1]))
            for b in s.transformer.h: x = b(x)
            return s.lm_head(s.transformer.ln_f(x))
    m = GPT()
    m.load_state_dict(load_file(sys.argv[1]), strict=True)
    with torch.no_grad():
        ours = m(ids).reshape(-1).tolist()
        for p in m.parameters(): p.add_(0.01 * torch.randn_like(p))
        theirs = m(ids).reshape(-1).tolist()
    sd = {k: v.detach().clone().contiguous() for k, v in m.state_dict().items()}
    save_file(sd, sys.argv[4], metadata={"format": "pt"})
    print(json.dumps({"ours": ours, "theirs": theirs}))
    """

    func testPyTorchNanoGPTLoadsOurWeightsAndWeLoadItsWeights() throws {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", "import torch, safetensors"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { throw XCTSkip("python3 not available") }
        probe.waitUntilExit()
        guard probe.terminationStatus == 0 else { throw XCTSkip("python3 with torch and safetensors not available (pip install torch safetensors)") }

        let config = GPTConfig(layers: 2, width: 32, heads: 4, context: 8, vocabulary: 11)
        let gpt = try GPT(config: config, seed: 21)
        // Non-trivial LayerNorm parameters and biases, so every tensor's layout matters.
        var rng = RandomGenerator(seed: 2)
        for p in gpt.parameters { for i in 0..<p.count { p.data[i] += 0.1 * rng.normal() } }
        let dir = try TestSupport.temporaryDirectory()
        let ours = dir.appendingPathComponent("ours.safetensors"), theirs = dir.appendingPathComponent("theirs.safetensors")
        try gpt.save(to: ours, tokenizer: nil)
        let ids: [[Int32]] = [[1, 4, 5, 6, 7, 3, 9, 10], [1, 10, 2, 0, 3, 3, 8, 4]]

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let idsJSON = "[" + ids.map { "[" + $0.map(String.init).joined(separator: ",") + "]" }.joined(separator: ",") + "]"
        process.arguments = ["python3", "-c", Self.script, ours.path, config.json, idsJSON, theirs.path]
        let pipe = Pipe(), errPipe = Pipe()
        process.standardOutput = pipe
        process.standardError = errPipe
        try process.run()
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        let err = errPipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, String(decoding: err, as: UTF8.self))
        guard let doc = try JSONSerialization.jsonObject(with: out) as? [String: [Double]],
              let torchOurs = doc["ours"], let torchTheirs = doc["theirs"] else {
            return XCTFail("unexpected output: \(String(decoding: out, as: UTF8.self))")
        }
        let tape = Tape()
        tape.isRecording = false
        let input = try IndexTensor(shape: [2, 8], values: ids.flatMap { $0 })
        let swiftOurs = try gpt.logits(tape, input).scalars
        XCTAssertEqual(swiftOurs.count, torchOurs.count)
        for (a, b) in zip(swiftOurs, torchOurs) { XCTAssertEqual(Double(a), b, accuracy: 2e-4) }

        let (loaded, _) = try GPT.load(from: theirs, config: config)
        let swiftTheirs = try loaded.logits(tape, input).scalars
        for (a, b) in zip(swiftTheirs, torchTheirs) { XCTAssertEqual(Double(a), b, accuracy: 2e-4) }
        XCTAssertGreaterThan(zip(swiftTheirs, swiftOurs).map { abs($0 - $1) }.max()!, 1e-3, "the perturbed weights were used")
    }
}

import XCTest
import TestSupport
@testable import Models

/// Checks our files against the reference `safetensors` Python package. The test command
/// (`Scripts/test.sh`, through `Scripts/setup.sh --test`) installs python3's numpy and safetensors,
/// so these run in CI; run alone without them, they skip (with the reason) and install nothing.
final class PythonInteropTests: XCTestCase {
    private func python(_ script: String, _ args: [String] = []) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + args
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    private func requireSafetensors() throws {
        let probe = try? python("import numpy, safetensors")
        guard let probe, probe.status == 0 else {
            throw XCTSkip("python3 with numpy and safetensors not available (bash Scripts/setup.sh --test installs them): \(probe?.output ?? "no python3")")
        }
    }

    func testPythonSafetensorsReadsOurFile() throws {
        try requireSafetensors()
        let url = try TestSupport.temporaryDirectory().appendingPathComponent("ours.safetensors")
        var f = SafeTensors(metadata: ["config": #"{"width":4}"#])
        f["transformer.h.0.attn.c_attn.weight"] = SafeTensor(shape: [3, 2], values: [1, 2, 3, 4, 5, -6.5])
        f["transformer.ln_f.bias"] = SafeTensor(shape: [2], values: [0.25, -0.125])
        try f.write(to: url)
        let script = """
        import sys, json
        from safetensors import safe_open
        with safe_open(sys.argv[1], framework="np") as g:
            out = {"metadata": g.metadata(),
                   "tensors": {k: {"shape": list(g.get_tensor(k).shape), "dtype": str(g.get_tensor(k).dtype),
                                   "values": g.get_tensor(k).ravel().tolist()} for k in g.keys()}}
        print(json.dumps(out, sort_keys=True))
        """
        let (status, output) = try python(script, [url.path])
        XCTAssertEqual(status, 0, output)
        let expected = #"{"metadata": {"config": "{\"width\":4}", "format": "pt"}, "tensors": {"transformer.h.0.attn.c_attn.weight": {"dtype": "float32", "shape": [3, 2], "values": [1.0, 2.0, 3.0, 4.0, 5.0, -6.5]}, "transformer.ln_f.bias": {"dtype": "float32", "shape": [2], "values": [0.25, -0.125]}}}"#
        XCTAssertEqual(output.trimmingCharacters(in: .whitespacesAndNewlines), expected)
    }

    func testWeReadFilesWrittenByPythonSafetensors() throws {
        try requireSafetensors()
        let url = try TestSupport.temporaryDirectory().appendingPathComponent("theirs.safetensors")
        let script = """
        import sys, numpy as np
        from safetensors.numpy import save_file
        save_file({"lm_head.weight": np.arange(12, dtype=np.float32).reshape(3, 4) / 8,
                   "half": np.array([1.5, -2.0, 65504.0], dtype=np.float16),
                   "dbl": np.array([[0.1]], dtype=np.float64),
                   "z": np.zeros((0,), dtype=np.float32)},
                  sys.argv[1], metadata={"format": "pt", "vocab": "abc"})
        """
        let (status, output) = try python(script, [url.path])
        XCTAssertEqual(status, 0, output)
        let f = try SafeTensors.read(from: url)
        XCTAssertEqual(f.metadata, ["format": "pt", "vocab": "abc"])
        XCTAssertEqual(try f.values("lm_head.weight", shape: [3, 4]), (0..<12).map { Float($0) / 8 })
        XCTAssertEqual(try f.values("half", shape: [3]), [1.5, -2, 65504])
        XCTAssertEqual(f["half"]!.storedAs, .f16)
        XCTAssertEqual(try f.values("dbl", shape: [1, 1]), [Float(0.1)])
        XCTAssertEqual(try f.values("z", shape: [0]), [])
    }
}

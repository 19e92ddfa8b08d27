import XCTest
import TestSupport
@testable import Models

final class SafeTensorsTests: XCTestCase {
    private func sample() -> SafeTensors {
        var f = SafeTensors(metadata: ["config": #"{"layers":2}"#, "note": "ünï \"q\"\n"])
        f["transformer.wte.weight"] = SafeTensor(shape: [3, 2], values: [1, -2, 0.5, -0.0, .infinity, 3e-38])
        f["a.bias"] = SafeTensor(shape: [3], values: [7, 8, 9])
        f["scalar"] = SafeTensor(shape: [], values: [42])
        f["empty"] = SafeTensor(shape: [0, 4], values: [])
        return f
    }

    func testRoundTripThroughAFileKeepsBitsShapesAndMetadata() throws {
        let url = try TestSupport.temporaryDirectory().appendingPathComponent("m.safetensors")
        let f = sample()
        try f.write(to: url)
        let back = try SafeTensors.read(from: url)
        XCTAssertEqual(back.tensors.keys.sorted(), f.tensors.keys.sorted())
        for (name, t) in f.tensors {
            XCTAssertEqual(back[name]!.shape, t.shape, name)
            XCTAssertEqual(back[name]!.values.map(\.bitPattern), t.values.map(\.bitPattern), name)
        }
        XCTAssertEqual(back.metadata["format"], "pt")
        XCTAssertEqual(back.metadata["config"], f.metadata["config"])
        XCTAssertEqual(back.metadata["note"], f.metadata["note"])
    }

    func testLayoutFollowsTheFormatExactly() throws {
        let bytes = [UInt8](try sample().encoded())
        var n = 0
        for i in 0..<8 { n |= Int(bytes[i]) << (8 * i) }
        XCTAssertEqual(n % 8, 0, "header padded to a multiple of 8")
        let header = String(decoding: bytes[8..<(8 + n)], as: UTF8.self)
        XCTAssertTrue(header.hasPrefix("{\"__metadata__\":{"), header)
        XCTAssertTrue(header.contains("\"format\":\"pt\""), header)
        XCTAssertTrue(header.contains(#""a.bias":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}"#), header)
        XCTAssertEqual(header.trimmingCharacters(in: .whitespaces).last, "}")
        XCTAssertEqual(bytes.count, 8 + n + 4 * (3 + 0 + 1 + 6))
        // a.bias is first in name order: 7.0 little-endian
        XCTAssertEqual(Array(bytes[(8 + n)..<(12 + n)]), [0x00, 0x00, 0xE0, 0x40])
        XCTAssertEqual(try sample().encoded(), try sample().encoded(), "deterministic bytes")
    }

    func testTruncatedDataNamesTheTensorThatRunsPastTheEnd() throws {
        let bytes = try sample().encoded()
        XCTAssertThrowsError(try SafeTensors.decode(bytes.dropLast(4), source: "t.safetensors")) { error in
            XCTAssertEqual(error as? ModelsError,
                           .checkpoint(path: "t.safetensors", tensor: "transformer.wte.weight",
                                       detail: "truncated: data [16, 40) runs past the end of the 36-byte data section"))
        }
        XCTAssertThrowsError(try SafeTensors.decode(bytes.prefix(5))) {
            XCTAssertTrue("\($0)".contains("too short"), "\($0)")
        }
        XCTAssertThrowsError(try SafeTensors.decode(bytes.prefix(40))) {
            XCTAssertTrue("\($0)".contains("truncated: header length"), "\($0)")
        }
    }

    func testCorruptHeadersAreRejectedWithClearErrors() throws {
        func file(_ header: String, data: [UInt8] = []) -> Data {
            var h = Array(header.utf8)
            while h.count % 8 != 0 { h.append(0x20) }
            var d = Data()
            var n = UInt64(h.count).littleEndian
            withUnsafeBytes(of: &n) { d.append(contentsOf: $0) }
            d.append(contentsOf: h)
            d.append(contentsOf: data)
            return d
        }
        let cases: [(String, [UInt8], String)] = [
            ("{not json", [], "not a UTF-8 JSON object"),
            (#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, [0, 0, 0, 0], "tensor 'w': corrupt: data_offsets [0, 4) do not hold [2] F32"),
            (#"{"w":{"dtype":"I7","shape":[1],"data_offsets":[0,4]}}"#, [0, 0, 0, 0], "tensor 'w': unsupported dtype I7"),
            (#"{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#, [0, 0, 0, 0], "tensor 'w': corrupt: shape"),
            (#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, [UInt8](repeating: 0, count: 8), "tensor 'w': corrupt: data starts at 4"),
            (#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, [UInt8](repeating: 0, count: 8), "cover 4 bytes of a 8-byte"),
            (#"{"__metadata__":{"k":1}}"#, [], "__metadata__ value for 'k' is not a string"),
        ]
        for (header, data, expected) in cases {
            XCTAssertThrowsError(try SafeTensors.decode(file(header, data: data), source: "c")) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(error) should contain \(expected)")
            }
        }
        var huge = Data([0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0])
        huge.append(contentsOf: [UInt8](repeating: 0x20, count: 8))
        XCTAssertThrowsError(try SafeTensors.decode(huge)) { XCTAssertTrue("\($0)".contains("exceeds"), "\($0)") }
    }

    func testMismatchedOrMissingShapeNamesTheTensor() throws {
        let f = try SafeTensors.decode(try sample().encoded(), source: "m.safetensors")
        XCTAssertEqual(try f.values("a.bias", shape: [3]), [7, 8, 9])
        XCTAssertThrowsError(try f.values("transformer.wte.weight", shape: [2, 3])) {
            XCTAssertEqual("\($0)", "checkpoint m.safetensors: tensor 'transformer.wte.weight': shape [3, 2] in the file, the model expects [2, 3]")
        }
        XCTAssertThrowsError(try f.values("lm_head.weight", shape: [1])) {
            XCTAssertEqual("\($0)", "checkpoint m.safetensors: tensor 'lm_head.weight': missing from the file")
        }
        var bad = SafeTensors()
        bad["w"] = SafeTensor(shape: [2, 2], values: [1])
        XCTAssertThrowsError(try bad.encoded()) { XCTAssertTrue("\($0)".contains("tensor 'w'"), "\($0)") }
    }

    func testHalfAndBFloat16AndDoubleAreReadAsFloat32() throws {
        let values: [Float] = [0, -0.0, 1, -2.5, 65504, 6.1035156e-05, 5.9604645e-08, .infinity, -.infinity]
        let f16 = values.map { HalfFloat.floatToF16($0) }
        XCTAssertEqual(f16.map { HalfFloat.f16ToFloat($0) }.map(\.bitPattern), values.map(\.bitPattern))
        XCTAssertEqual(HalfFloat.floatToF16(1.0009765625), 0x3C01)   // exact
        XCTAssertEqual(HalfFloat.floatToF16(1.00048828125), 0x3C00)  // tie → even
        XCTAssertTrue(HalfFloat.f16ToFloat(0x7E00).isNaN)

        var data: [UInt8] = []
        for h in f16 { data += [UInt8(h & 0xFF), UInt8(h >> 8)] }
        let bf: [Float] = [1, -3.5, 1e30]
        for v in bf { let b = UInt16(v.bitPattern >> 16); data += [UInt8(b & 0xFF), UInt8(b >> 8)] }
        for v in [0.25, -1e-3] as [Double] { withUnsafeBytes(of: v.bitPattern.littleEndian) { data += $0 } }
        let h0 = 2 * values.count, h1 = h0 + 6, h2 = h1 + 16
        let header = #"{"h":{"dtype":"F16","shape":[9],"data_offsets":[0,\#(h0)]},"b":{"dtype":"BF16","shape":[3],"data_offsets":[\#(h0),\#(h1)]},"d":{"dtype":"F64","shape":[2],"data_offsets":[\#(h1),\#(h2)]}}"#
        var file = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(contentsOf: Array(header.utf8))
        file.append(contentsOf: data)
        let f = try SafeTensors.decode(file)
        XCTAssertEqual(f["h"]!.values.map(\.bitPattern), values.map(\.bitPattern))
        XCTAssertEqual(f["h"]!.storedAs, .f16)
        XCTAssertEqual(f["b"]!.values, [1, -3.5, Float(bitPattern: Float(1e30).bitPattern & 0xFFFF_0000)])
        XCTAssertEqual(f["d"]!.values, [0.25, Float(-1e-3)])
    }

    func testAtomicWriteReplacesTheFileAndLeavesNoTemporaryFiles() throws {
        let dir = try TestSupport.temporaryDirectory()
        let url = dir.appendingPathComponent("ckpt.safetensors")
        try Data("old".utf8).write(to: url)
        try sample().write(to: url)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["ckpt.safetensors"])
        var expected = sample()
        expected.metadata["format"] = "pt"
        XCTAssertEqual(try SafeTensors.read(from: url), expected)
        XCTAssertThrowsError(try sample().write(to: URL(fileURLWithPath: "/nonexistent-dir/x.safetensors"))) {
            XCTAssertTrue("\($0)".contains("cannot create temporary file"), "\($0)")
        }
    }
}

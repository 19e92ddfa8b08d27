import Foundation

/// The element types a safetensors file may declare that we read. Every one is converted to
/// Float32 on load; we write F32 only (lossless for our Float32 engine).
public enum SafeTensorsDType: String, Sendable, CaseIterable {
    case f32 = "F32", f16 = "F16", bf16 = "BF16", f64 = "F64"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .f64: return 8
        }
    }
}

/// One named tensor in a safetensors file, as Float32 values in row-major order.
public struct SafeTensor: Equatable, Sendable {
    public var shape: [Int]
    public var values: [Float]
    /// The element type it was stored with (writing always uses F32).
    public var storedAs: SafeTensorsDType

    public init(shape: [Int], values: [Float], storedAs: SafeTensorsDType = .f32) {
        self.shape = shape
        self.values = values
        self.storedAs = storedAs
    }
}

/// A safetensors document: named tensors plus `__metadata__` (string → string).
///
/// Layout (the format exactly, so PyTorch's `safetensors` reads ours and we read its):
/// ```text
/// [u64 little-endian N][N bytes of JSON header, padded with spaces to a multiple of 8][data]
/// header = {"__metadata__":{"format":"pt",…},
///           "name":{"dtype":"F32","shape":[out,in],"data_offsets":[begin,end]}, …}
/// ```
/// Offsets are relative to the start of the data section; tensors are packed back to back with
/// no gaps, little-endian. Reading checks every offset and size and names the offending tensor.
///
/// ```swift
/// var file = SafeTensors(metadata: ["config": configJSON])
/// file["lm_head.weight"] = SafeTensor(shape: [16, 128], values: w)
/// try file.write(to: url)                       // atomic: temp file, fsync, rename
/// let back = try SafeTensors.read(from: url)
/// let w2 = try back.values("lm_head.weight", shape: [16, 128])
/// ```
public struct SafeTensors: Equatable, Sendable {
    /// Tensors by name.
    public var tensors: [String: SafeTensor]
    /// `__metadata__`; `"format": "pt"` is always written.
    public var metadata: [String: String]
    /// Where this document was read from (used in error messages), or "<memory>".
    public var source: String = "<memory>"

    /// Header sizes above this are rejected as corrupt (the reference implementation's limit).
    public static let maxHeaderSize = 100_000_000

    public init(tensors: [String: SafeTensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    public subscript(name: String) -> SafeTensor? {
        get { tensors[name] }
        set { tensors[name] = newValue }
    }

    public static func == (a: SafeTensors, b: SafeTensors) -> Bool {
        a.tensors == b.tensors && a.metadata == b.metadata
    }

    /// The values of tensor `name`, checked against the `shape` the caller expects. Throws
    /// naming the tensor when it is missing or its shape differs.
    public func values(_ name: String, shape: [Int]) throws -> [Float] {
        guard let t = tensors[name] else {
            throw ModelsError.checkpoint(path: source, tensor: name, detail: "missing from the file")
        }
        guard t.shape == shape else {
            throw ModelsError.checkpoint(path: source, tensor: name,
                                         detail: "shape \(t.shape) in the file, the model expects \(shape)")
        }
        return t.values
    }

    // MARK: - Writing

    /// The file's bytes: header padded with spaces to a multiple of 8, then F32 data packed in
    /// name order. Identical documents give identical bytes.
    public func encoded() throws -> Data {
        let names = tensors.keys.sorted()
        var meta = metadata
        meta["format"] = meta["format"] ?? "pt"
        var pairs: [(String, String)] = [
            ("__metadata__", JSONText.object(meta.keys.sorted().map { ($0, JSONText.quote(meta[$0]!)) })),
        ]
        var offset = 0
        for name in names {
            let t = tensors[name]!
            guard !t.shape.contains(where: { $0 < 0 }), t.shape.reduce(1, *) == t.values.count else {
                throw ModelsError.checkpoint(path: source, tensor: name,
                                             detail: "shape \(t.shape) does not hold \(t.values.count) values")
            }
            let bytes = t.values.count * 4
            pairs.append((name, JSONText.object([
                ("dtype", JSONText.quote("F32")),
                ("shape", JSONText.ints(t.shape)),
                ("data_offsets", JSONText.ints([offset, offset + bytes])),
            ])))
            offset += bytes
        }
        var header = Array(JSONText.object(pairs).utf8)
        // Pad so the data section starts 8-byte aligned (the format allows trailing spaces).
        while header.count % 8 != 0 { header.append(0x20) }

        var out = Data(capacity: 8 + header.count + offset)
        var n = UInt64(header.count).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(contentsOf: header)
        for name in names {
            let values = tensors[name]!.values
            var le = [UInt32](repeating: 0, count: values.count)
            for i in values.indices { le[i] = values[i].bitPattern.littleEndian }
            le.withUnsafeBytes { out.append(contentsOf: $0) }
        }
        return out
    }

    /// Writes the file atomically: the bytes go to a temporary file beside `url`, are fsynced,
    /// and the temporary file is renamed over `url`, so a crash leaves either the old file or
    /// the new one, never a torn one.
    public func write(to url: URL) throws {
        try AtomicFile.write(try encoded(), to: url)
    }

    // MARK: - Reading

    /// Reads and validates a safetensors file.
    public static func read(from url: URL) throws -> SafeTensors {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw ModelsError.checkpoint(path: url.path, tensor: nil, detail: "cannot read: \(error.localizedDescription)")
        }
        return try decode(data, source: url.path)
    }

    /// Parses safetensors bytes. `source` names the origin in error messages.
    public static func decode(_ data: Data, source: String = "<memory>") throws -> SafeTensors {
        func fail(_ tensor: String?, _ detail: String) -> ModelsError {
            ModelsError.checkpoint(path: source, tensor: tensor, detail: detail)
        }
        let bytes = [UInt8](data)
        guard bytes.count >= 8 else {
            throw fail(nil, "truncated: \(bytes.count) bytes, too short for the 8-byte header length")
        }
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard n <= UInt64(maxHeaderSize) else {
            throw fail(nil, "corrupt: header length \(n) exceeds the \(maxHeaderSize)-byte limit")
        }
        let headerEnd = 8 + Int(n)
        guard headerEnd <= bytes.count else {
            throw fail(nil, "truncated: header length \(n) but only \(bytes.count - 8) bytes follow")
        }
        let headerBytes = bytes[8..<headerEnd]
        guard headerBytes.first == UInt8(ascii: "{") else {
            throw fail(nil, "corrupt: header does not start with '{'")
        }
        guard let headerText = String(bytes: headerBytes, encoding: .utf8),
              let parsed = try? JSONSerialization.jsonObject(with: Data(headerText.utf8)),
              let header = parsed as? [String: Any] else {
            throw fail(nil, "corrupt: header is not a UTF-8 JSON object")
        }
        let dataCount = bytes.count - headerEnd

        var result = SafeTensors()
        result.source = source
        if let meta = header["__metadata__"] {
            guard let m = meta as? [String: Any] else { throw fail(nil, "corrupt: __metadata__ is not an object") }
            for (k, v) in m {
                guard let s = v as? String else { throw fail(nil, "corrupt: __metadata__ value for '\(k)' is not a string") }
                result.metadata[k] = s
            }
        }

        var spans: [(begin: Int, end: Int, name: String)] = []
        for (name, value) in header where name != "__metadata__" {
            guard let entry = value as? [String: Any] else { throw fail(name, "corrupt: header entry is not an object") }
            guard let dtypeName = entry["dtype"] as? String else { throw fail(name, "corrupt: no dtype") }
            guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
                throw fail(name, "unsupported dtype \(dtypeName) (readable: \(SafeTensorsDType.allCases.map(\.rawValue)))")
            }
            guard let shape = intArray(entry["shape"]), !shape.contains(where: { $0 < 0 }) else {
                throw fail(name, "corrupt: shape is not a list of non-negative integers")
            }
            guard let offsets = intArray(entry["data_offsets"]), offsets.count == 2 else {
                throw fail(name, "corrupt: data_offsets is not [begin, end]")
            }
            let (begin, end) = (offsets[0], offsets[1])
            let (elements, overflow) = shape.reduce((1, false)) { acc, d in
                let (p, o) = acc.0.multipliedReportingOverflow(by: d)
                return (p, acc.1 || o)
            }
            guard !overflow, begin >= 0, end >= begin, end - begin == elements * dtype.size else {
                throw fail(name, "corrupt: data_offsets [\(begin), \(end)) do not hold \(shape) \(dtypeName) values")
            }
            guard end <= dataCount else {
                throw fail(name, "truncated: data [\(begin), \(end)) runs past the end of the \(dataCount)-byte data section")
            }
            spans.append((begin, end, name))
            result.tensors[name] = SafeTensor(shape: shape,
                                             values: convert(bytes, from: headerEnd + begin, count: elements, dtype: dtype),
                                             storedAs: dtype)
        }
        // The format packs tensors with no gaps and no overlaps, covering the data exactly.
        spans.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var cursor = 0
        for s in spans {
            guard s.begin == cursor else {
                throw fail(s.name, "corrupt: data starts at \(s.begin) but the previous tensor ends at \(cursor) (gap or overlap)")
            }
            cursor = s.end
        }
        guard cursor == dataCount else {
            throw fail(nil, "corrupt: tensors cover \(cursor) bytes of a \(dataCount)-byte data section")
        }
        return result
    }

    private static func intArray(_ value: Any?) -> [Int]? {
        guard let list = value as? [Any] else { return nil }
        var out: [Int] = []
        for v in list {
            // JSONSerialization yields NSNumber; reject fractions.
            guard let num = v as? NSNumber, Double(num.int64Value) == num.doubleValue else { return nil }
            out.append(Int(num.int64Value))
        }
        return out
    }

    private static func convert(_ bytes: [UInt8], from start: Int, count: Int, dtype: SafeTensorsDType) -> [Float] {
        var out = [Float](repeating: 0, count: count)
        bytes.withUnsafeBufferPointer { raw in
            let p = UnsafeRawPointer(raw.baseAddress!) + start
            switch dtype {
            case .f32:
                for i in 0..<count { out[i] = Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
            case .f64:
                for i in 0..<count { out[i] = Float(Double(bitPattern: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
            case .f16:
                for i in 0..<count { out[i] = HalfFloat.f16ToFloat(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
            case .bf16:
                for i in 0..<count { out[i] = Float(bitPattern: UInt32(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16) }
            }
        }
        return out
    }
}

/// IEEE half-precision conversion in software (Float16 is unavailable on x86-64 Linux Swift).
enum HalfFloat {
    /// binary16 → binary32, exact for every input including subnormals, ±inf and NaN.
    static func f16ToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exp = Int((h >> 10) & 0x1F)
        let mant = UInt32(h & 0x3FF)
        if exp == 0 {
            // zero or subnormal: mant · 2⁻²⁴
            let v = Float(mant) * Float(sign: .plus, exponent: -24, significand: 1)
            return sign != 0 ? -v : v
        }
        if exp == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13)) }
        return Float(bitPattern: sign | (UInt32(exp - 15 + 127) << 23) | (mant << 13))
    }

    /// binary32 → binary16, round to nearest even (for tests and F16 export).
    static func floatToF16(_ f: Float) -> UInt16 {
        let bits = f.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        if f.isNaN { return sign | 0x7E00 }
        let a = abs(f)
        if a >= 65520 { return sign | 0x7C00 }             // rounds to infinity
        if a < Float(sign: .plus, exponent: -14, significand: 1) {
            // subnormal half: value / 2⁻²⁴ rounded to nearest even
            let m = (a * Float(sign: .plus, exponent: 24, significand: 1)).rounded(.toNearestOrEven)
            return sign | UInt16(m)
        }
        let e = Int((bits >> 23) & 0xFF) - 127 + 15
        var m = bits & 0x7F_FFFF
        var he = UInt32(e)
        let rest = m & 0x1FFF
        m >>= 13
        if rest > 0x1000 || (rest == 0x1000 && (m & 1) == 1) {
            m += 1
            if m == 0x400 { m = 0; he += 1 }
        }
        return sign | UInt16(he << 10) | UInt16(m)
    }
}

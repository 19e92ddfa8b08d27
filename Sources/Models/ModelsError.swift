/// Every failure the Models target reports. Each case carries enough context (file, line,
/// tensor name, step) that the message alone says what went wrong and where.
///
/// ```swift
/// do { _ = try SafeTensors.read(from: url) }
/// catch let e as ModelsError { print(e) }
/// // "checkpoint /tmp/m.safetensors: tensor 'transformer.wte.weight': data [0, 8192) runs past the end …"
/// ```
public enum ModelsError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A checkpoint file is truncated, corrupt, or does not fit the model; `tensor` names the
    /// offending tensor when there is one.
    case checkpoint(path: String, tensor: String?, detail: String)
    /// A data file has a bad record; `line` is 1-based.
    case data(path: String, line: Int, detail: String)
    /// Text cannot be encoded (a character outside the vocabulary) or a vocabulary is malformed.
    case tokenizer(detail: String)
    /// A model configuration is inconsistent (e.g. width not divisible by heads).
    case invalidConfig(detail: String)
    /// An argument is out of range for `op`.
    case invalidArgument(op: String, detail: String)
    /// Training met a NaN or infinite loss at `step`; the weights of the last good step are kept.
    case nonFiniteLoss(step: Int, loss: String)

    public var description: String {
        switch self {
        case let .checkpoint(path, tensor, detail):
            if let tensor { return "checkpoint \(path): tensor '\(tensor)': \(detail)" }
            return "checkpoint \(path): \(detail)"
        case let .data(path, line, detail):
            return "\(path):\(line): \(detail)"
        case let .tokenizer(detail):
            return "tokenizer: \(detail)"
        case let .invalidConfig(detail):
            return "invalid model configuration: \(detail)"
        case let .invalidArgument(op, detail):
            return "\(op): invalid argument: \(detail)"
        case let .nonFiniteLoss(step, loss):
            return "training stopped at step \(step): loss is \(loss); the weights of the last good step are kept"
        }
    }
}

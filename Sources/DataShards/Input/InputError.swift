// DataShards/Input: documents from raw text inputs (.txt, .jsonl, .jsonl.zst, .gz), streamed with bounded
// memory, exact line numbers, and a caller-chosen policy for bad input.

/// A problem with an input file. Every case names the file; line-level cases name the 1-based line.
public enum InputError: Error, CustomStringConvertible, Sendable, Equatable {
    case cannotOpen(file: String, reason: String)
    case readFailed(file: String, reason: String)
    /// The compressed stream is corrupt or truncated.
    case decompressionFailed(file: String, reason: String)
    case unsupportedFormat(file: String)
    case emptyFile(file: String)
    case malformedJSON(file: String, line: Int, reason: String)
    case missingTextField(file: String, line: Int, field: String)
    case textFieldNotString(file: String, line: Int, field: String, found: String)
    case invalidUTF8(file: String, line: Int)
    case lineTooLong(file: String, line: Int, limit: Int)
    case documentTooLarge(file: String, line: Int, limit: Int)

    public var file: String {
        switch self {
        case .cannotOpen(let f, _), .readFailed(let f, _), .decompressionFailed(let f, _), .unsupportedFormat(let f),
            .emptyFile(let f), .malformedJSON(let f, _, _), .missingTextField(let f, _, _),
            .textFieldNotString(let f, _, _, _),
            .invalidUTF8(let f, _), .lineTooLong(let f, _, _), .documentTooLarge(let f, _, _):
            return f
        }
    }

    public var description: String {
        switch self {
        case .cannotOpen(let f, let r): return "cannot open input \(f): \(r)"
        case .readFailed(let f, let r): return "cannot read input \(f): \(r)"
        case .decompressionFailed(let f, let r): return "cannot decompress input \(f): \(r)"
        case .unsupportedFormat(let f):
            return "input \(f): unsupported format; expected .txt, .jsonl, .jsonl.zst, .jsonl.gz or .txt.gz"
        case .emptyFile(let f): return "input \(f) is empty"
        case .malformedJSON(let f, let l, let r): return "\(f):\(l): malformed JSON line (\(r))"
        case .missingTextField(let f, let l, let field):
            return "\(f):\(l): JSON object has no \"\(field)\" field (set the text field in the manifest)"
        case .textFieldNotString(let f, let l, let field, let found):
            return "\(f):\(l): field \"\(field)\" must be a string, found \(found)"
        case .invalidUTF8(let f, let l): return "\(f):\(l): invalid UTF-8"
        case .lineTooLong(let f, let l, let limit): return "\(f):\(l): line longer than the \(limit)-byte limit"
        case .documentTooLarge(let f, let l, let limit):
            return "\(f):\(l): document larger than the \(limit)-byte limit"
        }
    }
}

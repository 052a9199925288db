// Typed errors of the shard format. Every case names the file so the caller (and the control plane, which
// marks shards bad) can tell which shard failed and why.

public enum ShardError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The `.idx` does not start with `MMIDIDX\0\0`.
    case badMagic(file: String)
    case unsupportedVersion(file: String, found: UInt64)
    case unsupportedDType(file: String, code: UInt8)
    /// A file is shorter or longer than its header/index says.
    case sizeMismatch(file: String, expectedBytes: Int64, actualBytes: Int64)
    /// Header fields contradict each other (pointers, lengths, document indices).
    case inconsistentIndex(file: String, reason: String)
    case checksumMismatch(file: String, expected: String, actual: String)
    case io(file: String, operation: String, errno: Int32, message: String)
    /// A token id does not fit the shard's dtype (e.g. >= 65536 in a uint16 shard).
    case tokenOutOfRange(file: String, document: Int, tokenID: UInt32, dtype: TokenDType)
    case documentTooLong(file: String, document: Int, tokens: Int)
    /// A committed shard with this name exists and holds different content; nothing was overwritten.
    case conflictingShard(file: String, existingSHA256: String, newSHA256: String)
    case writerClosed(file: String)
    case documentOutOfRange(file: String, index: Int, count: Int)
    case invalidName(name: String, reason: String)

    public var description: String {
        switch self {
        case .badMagic(let file):
            return "\(file): not a Megatron indexed dataset index (expected magic MMIDIDX\\0\\0)"
        case .unsupportedVersion(let file, let found):
            return "\(file): index version \(found) is not supported (expected 1)"
        case .unsupportedDType(let file, let code):
            return "\(file): token dtype code \(code) is not supported (expected 8 = uint16 or 4 = int32)"
        case .sizeMismatch(let file, let expected, let actual):
            return "\(file): size is \(actual) bytes, expected \(expected) bytes (truncated or corrupt shard)"
        case .inconsistentIndex(let file, let reason):
            return "\(file): inconsistent index: \(reason)"
        case .checksumMismatch(let file, let expected, let actual):
            return "\(file): sha256 is \(actual), the dataset index records \(expected) (corrupt shard)"
        case .io(let file, let operation, let errno, let message):
            return "\(file): \(operation) failed: \(message) (errno \(errno))"
        case .tokenOutOfRange(let file, let document, let tokenID, let dtype):
            return
                "\(file): document \(document) has token id \(tokenID) which does not fit \(dtype.rawValue) (max \(dtype.maxTokenID))"
        case .documentTooLong(let file, let document, let tokens):
            return "\(file): document \(document) has \(tokens) tokens, more than the format's int32 sequence length"
        case .conflictingShard(let file, let existing, let new):
            return
                "\(file): a committed shard with this name already exists with different content (existing sha256 \(existing), new \(new)); remove it or choose another name"
        case .writerClosed(let file):
            return "\(file): the shard writer is already finished or aborted"
        case .documentOutOfRange(let file, let index, let count):
            return "\(file): document \(index) requested, the shard has \(count) documents"
        case .invalidName(let name, let reason):
            return "invalid shard name '\(name)': \(reason)"
        }
    }

    /// The file the error is about (empty for name errors).
    public var file: String {
        switch self {
        case .badMagic(let f), .unsupportedVersion(let f, _), .unsupportedDType(let f, _), .sizeMismatch(let f, _, _),
            .inconsistentIndex(let f, _), .checksumMismatch(let f, _, _), .io(let f, _, _, _),
            .tokenOutOfRange(let f, _, _, _), .documentTooLong(let f, _, _), .conflictingShard(let f, _, _),
            .writerClosed(let f), .documentOutOfRange(let f, _, _):
            return f
        case .invalidName: return ""
        }
    }
}

// Prompts in, text out: through a tokenizer.json when one is given, else raw UTF-8 bytes (byte-level models
// with a 256-token vocabulary). Shared by `type: eval` and `opsctl generate`.

import DataShards
import Foundation

public struct TextCodec: Sendable {
    private let tokenizer: Tokenizer?

    /// `tokenizerPath` nil: bytes as tokens.
    public init(tokenizerPath: String?) throws {
        if let tokenizerPath {
            do { tokenizer = try Tokenizer.load(path: tokenizerPath) } catch {
                throw TaskFailure("cannot load the tokenizer \(tokenizerPath): \(error)", retryable: false)
            }
        } else {
            tokenizer = nil
        }
    }

    public var vocabularySize: Int { tokenizer?.vocabularySize ?? 256 }

    public func encode(_ text: String) -> [Int32] {
        if let tokenizer { return tokenizer.encode(text).map { Int32(bitPattern: $0) } }
        return Array(text.utf8).map { Int32($0) }
    }

    public func decode(_ ids: [Int32]) -> String {
        if let tokenizer { return tokenizer.decode(ids.map { UInt32(bitPattern: $0) }) }
        return String(decoding: ids.map { UInt8(truncatingIfNeeded: $0) }, as: UTF8.self)
    }
}

// DataShards/Tokenizer: byte-level BPE (encode, decode, train), Hugging Face tokenizer.json in and out.

/// Why a tokenizer could not be loaded, built or saved. `file` is the tokenizer.json path (or "<memory>").
public enum TokenizerError: Error, CustomStringConvertible, Sendable, Equatable {
    case unreadable(file: String, reason: String)
    case malformedJSON(file: String, reason: String)
    /// A field is missing or has the wrong type/value; `field` is a JSON path like `model.merges[12]`.
    case invalidField(file: String, field: String, expected: String)
    /// A feature of tokenizer.json this implementation does not support (it would silently give other ids).
    case unsupported(file: String, field: String, value: String)
    case mergeTokenNotInVocabulary(file: String, merge: Int, token: String)
    case missingByte(file: String, byte: UInt8)
    case invalidTrainingSettings(String)
    case writeFailed(file: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let f, let r): return "cannot read tokenizer file \(f): \(r)"
        case .malformedJSON(let f, let r): return "tokenizer file \(f) is not valid JSON: \(r)"
        case .invalidField(let f, let field, let e): return "tokenizer file \(f): field \(field) must be \(e)"
        case .unsupported(let f, let field, let v):
            return
                "tokenizer file \(f): \(field) = \(v) is not supported (byte-level BPE with the GPT-2 or Llama-3 split pattern only)"
        case .mergeTokenNotInVocabulary(let f, let i, let t):
            return "tokenizer file \(f): merge #\(i) produces or uses \"\(t)\", which is not in model.vocab"
        case .missingByte(let f, let b):
            return
                "tokenizer file \(f): model.vocab lacks the byte-level token for byte 0x\(String(b, radix: 16)); not a byte-level BPE vocabulary"
        case .invalidTrainingSettings(let r): return "invalid tokenizer training settings: \(r)"
        case .writeFailed(let f, let r): return "cannot write tokenizer file \(f): \(r)"
        }
    }
}

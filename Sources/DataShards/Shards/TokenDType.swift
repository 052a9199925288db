// Token id storage types of the Megatron-LM indexed dataset. The raw values are the codes of Megatron's
// `DType` enum (megatron/core/datasets/indexed_dataset.py) as written in the `.idx` header.

public enum TokenDType: String, Codable, Sendable, CaseIterable {
    case uint16
    case int32

    /// The `.idx` header code Megatron-LM/NeMo use: uint8=1 int8=2 int16=3 int32=4 int64=5 float64=6 float32=7 uint16=8.
    public var megatronCode: UInt8 {
        switch self {
        case .uint16: return 8
        case .int32: return 4
        }
    }

    public init?(megatronCode: UInt8) {
        switch megatronCode {
        case 8: self = .uint16
        case 4: self = .int32
        default: return nil
        }
    }

    /// Bytes per token id in the `.bin` file.
    public var byteWidth: Int {
        switch self {
        case .uint16: return 2
        case .int32: return 4
        }
    }

    /// Largest token id this type can store.
    public var maxTokenID: UInt32 {
        switch self {
        case .uint16: return UInt32(UInt16.max)
        case .int32: return UInt32(Int32.max)
        }
    }

    /// Megatron's `DType.optimal_dtype`: uint16 when the vocabulary has fewer than 65500 entries, else int32.
    public static func optimal(forVocabularySize vocabularySize: Int) -> TokenDType {
        vocabularySize < 65_500 ? .uint16 : .int32
    }
}

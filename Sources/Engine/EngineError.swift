import Foundation

/// Every failure the engine reports: what was wrong, where, and what was expected.
public enum EngineError: Error, CustomStringConvertible, Sendable, Equatable {
    /// A model/optimizer/schedule setting is out of range.
    case invalidConfig(field: String, value: String, expected: String)
    /// A batch or token array does not fit the model.
    case invalidBatch(String)
    /// A flat vector has the wrong length for this model.
    case vectorLengthMismatch(expected: Int, got: Int)
    /// A checkpoint file could not be read or written.
    case checkpointIO(path: String, reason: String)
    /// A checkpoint is malformed or does not match what the caller expects.
    case invalidCheckpoint(path: String, reason: String)

    public var description: String {
        switch self {
        case let .invalidConfig(field, value, expected):
            return "invalid engine setting \(field)=\(value): expected \(expected)"
        case let .invalidBatch(reason):
            return "invalid batch: \(reason)"
        case let .vectorLengthMismatch(expected, got):
            return "flat vector has \(got) elements, the model has \(expected) parameters"
        case let .checkpointIO(path, reason):
            return "checkpoint \(path): \(reason)"
        case let .invalidCheckpoint(path, reason):
            return "checkpoint \(path) is not usable: \(reason)"
        }
    }
}

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
    /// One tensor of a safetensors file is described inconsistently (shape, dtype, offsets, file size).
    case invalidTensor(path: String, tensor: String, reason: String)
    /// A tensor holds NaN or ±infinity: it was written by a run that diverged.
    case nonFiniteTensor(path: String, tensor: String, count: Int, firstIndex: Int, firstValue: Float)
    /// A training step's loss or gradient norm is NaN or infinite; the weights were left as they were.
    case diverged(step: Int, loss: Float, gradientNorm: Float, learningRate: Float)

    public var description: String {
        switch self {
        case .invalidConfig(let field, let value, let expected):
            return "invalid engine setting \(field)=\(value): expected \(expected)"
        case .invalidBatch(let reason):
            return "invalid batch: \(reason)"
        case .vectorLengthMismatch(let expected, let got):
            return "flat vector has \(got) elements, the model has \(expected) parameters"
        case .checkpointIO(let path, let reason):
            return "checkpoint \(path): \(reason)"
        case .invalidCheckpoint(let path, let reason):
            return "checkpoint \(path) is not usable: \(reason)"
        case .invalidTensor(let path, let tensor, let reason):
            return
                "checkpoint \(path) is not usable: tensor \(tensor) \(reason) (a damaged or hand-made file; write it again with a safetensors writer)"
        case .nonFiniteTensor(let path, let tensor, let count, let index, let value):
            return
                "checkpoint \(path) is not usable: tensor \(tensor) holds \(count) non-finite value(s), the first \(value) at element \(index); the run that wrote it diverged, use an earlier checkpoint"
        case .diverged(let step, let loss, let norm, let rate):
            return
                "loss became \(loss) at step \(step) (gradient norm \(norm), learning rate \(String(format: "%.2e", rate))); the weights were not updated. Lower the learning rate, clip gradients harder or warm up longer"
        }
    }
}

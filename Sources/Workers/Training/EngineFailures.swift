// How engine errors end a train or eval attempt. A bad checkpoint (crafted header, NaN weights) or a diverged
// run fails the same way on every attempt, so they are not retried: before, a checkpoint whose header trapped
// the engine killed a worker and then, through the retry, the next one; a NaN loss ended as "lease expired".

import APITypes
import Engine
import Foundation

extension TaskFailure {
    /// `error` as the attempt's failure; `field` is the spec section the run follows (`spec.train`, `spec.eval`).
    static func engine(_ error: EngineError, field: String, optimizer: TrainOptimizerSettings? = nil) -> TaskFailure {
        switch error {
        case .diverged(let step, let loss, let norm, let rate):
            let o = optimizer ?? TrainOptimizerSettings()
            return TaskFailure(
                "\(field): loss became \(loss) at step \(step) (gradient norm \(norm), learning rate \(String(format: "%.2e", rate))); the run stops here, its checkpoints so far are kept. Lower \(field).optimizer.learningRate (\(o.learningRate.map { "\($0)" } ?? "default 3e-3") now), set a smaller gradientClip (\(o.gradientClip.map { "\($0)" } ?? "default 1") now) or more warmupSteps, and submit again (initFrom its last checkpoint keeps the progress)",
                retryable: false)
        case .invalidCheckpoint, .invalidTensor, .nonFiniteTensor, .invalidConfig:
            return TaskFailure("\(field): \(error)", retryable: false)
        case .checkpointIO, .invalidBatch, .vectorLengthMismatch:
            return TaskFailure("\(field): \(error)")
        }
    }
}

import Foundation

/// What one optimizer step did.
public struct TrainStepResult: Sendable, Equatable {
    /// 0-based index of the step just taken.
    public var step: Int
    /// Mean loss over all micro-batches of the step.
    public var loss: Float
    /// Global gradient norm before clipping.
    public var gradientNorm: Float
    public var learningRate: Float
    public var tokens: Int
}

/// Model + AdamW + schedule: one `trainStep` = zero gradients, accumulate over micro-batches, clip,
/// update. Everything a checkpoint needs to resume bit for bit is in here plus the caller's data state.
public final class Trainer {
    public let model: GPTModel
    public let optimizer: AdamW
    public var schedule: LearningRateSchedule
    /// Number of optimizer steps completed. Settable so a DiLoCo member that joins at round k continues the
    /// schedule at step k·H.
    public var step: Int = 0

    public init(model: GPTModel, optimizer: AdamWConfig, schedule: LearningRateSchedule) throws(EngineError) {
        try schedule.validate()
        self.model = model
        self.optimizer = try AdamW(config: optimizer, for: model)
        self.schedule = schedule
    }

    /// One optimizer step over `microbatches` (gradient accumulation: the gradient is the mean over
    /// micro-batches, each a `batchSize x (T+1)` token array).
    public func trainStep(microbatches: [[Int32]], batchSize: Int) throws(EngineError) -> TrainStepResult {
        guard !microbatches.isEmpty else { throw .invalidBatch("a step needs at least one micro-batch") }
        model.zeroGradients()
        var lossSum: Double = 0
        var tokens = 0
        let scale = 1 / Float(microbatches.count)
        for batch in microbatches {
            lossSum += Double(try model.accumulateGradients(batch: batch, batchSize: batchSize, scale: scale))
            tokens += batch.count - batchSize
        }
        let norm = GradientNorm.compute(model.gradients, threads: model.threads)
        let loss = Float(lossSum / Double(microbatches.count))
        // One NaN or infinity in the gradient would spread to every weight through AdamW's moments; stop
        // before the update, so the model (and the last checkpoint) stay as they were.
        guard loss.isFinite && norm.isFinite else {
            throw .diverged(
                step: step + 1, loss: loss, gradientNorm: Float(norm), learningRate: schedule.rate(at: step))
        }
        if let clip = optimizer.config.maxGradientNorm, norm > Double(clip) {
            GradientNorm.scale(model.gradients, by: Float(Double(clip) / (norm + 1e-6)))
        }
        let rate = schedule.rate(at: step)
        optimizer.apply(to: model, learningRate: rate)
        let result = TrainStepResult(
            step: step, loss: loss,
            gradientNorm: Float(norm), learningRate: rate, tokens: tokens)
        step += 1
        return result
    }

    /// Convenience for a single batch.
    public func trainStep(batch: [Int32], batchSize: Int) throws(EngineError) -> TrainStepResult {
        try trainStep(microbatches: [batch], batchSize: batchSize)
    }
}

import Foundation

/// Mean loss and perplexity of a model over a token stream.
public struct EvaluationResult: Sendable, Equatable {
    /// Mean cross-entropy in nats per predicted token.
    public var meanLoss: Double
    public var perplexity: Double { exp(meanLoss) }
    /// Number of predicted tokens.
    public var tokens: Int
}

extension GPTModel {
    /// Cuts `stream` into consecutive windows of `sequenceLength + 1` tokens overlapping by one (every
    /// token after the first is predicted exactly once, a trailing partial window is dropped), evaluates
    /// them `batchSize` windows at a time, and averages the per-token loss.
    public func evaluate(stream: [Int32], sequenceLength: Int, batchSize: Int = 1) throws(EngineError)
        -> EvaluationResult
    {
        guard sequenceLength >= 1, sequenceLength <= config.contextLength else {
            throw .invalidConfig(
                field: "sequenceLength", value: "\(sequenceLength)", expected: "1 ... \(config.contextLength)")
        }
        guard batchSize >= 1 else { throw .invalidConfig(field: "batchSize", value: "\(batchSize)", expected: ">= 1") }
        let windows = (stream.count - 1) / sequenceLength
        guard windows >= 1 else {
            throw .invalidBatch(
                "the stream has \(stream.count) tokens; evaluation needs at least \(sequenceLength + 1)")
        }
        var total = 0.0
        var start = 0
        while start < windows {
            let rows = min(batchSize, windows - start)
            var batch: [Int32] = []
            batch.reserveCapacity(rows * (sequenceLength + 1))
            for w in start..<(start + rows) {
                batch.append(contentsOf: stream[(w * sequenceLength)...(w * sequenceLength + sequenceLength)])
            }
            total += Double(try loss(batch: batch, batchSize: rows)) * Double(rows * sequenceLength)
            start += rows
        }
        let tokens = windows * sequenceLength
        return EvaluationResult(meanLoss: total / Double(tokens), tokens: tokens)
    }
}

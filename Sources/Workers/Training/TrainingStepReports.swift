// What both kinds of training report about their optimizer steps every `logEvery` steps: the same metrics in
// the same order, with the tokens a second since the previous report.

import DataShards
import Engine
import Foundation

/// Tokens trained since the previous report, and since when: the `tokens_per_second` metric.
struct ThroughputWindow {
    private var start = Date()
    private var tokens = 0

    mutating func add(tokens count: Int) { tokens += count }

    var tokensPerSecond: Double { Double(tokens) / max(1e-9, Date().timeIntervalSince(start)) }

    mutating func restart() {
        start = Date()
        tokens = 0
    }
}

extension ExecutionContext {
    /// The metrics of optimizer step `step` that every training reports; a kind adds its own after them.
    func reportStepMetrics(_ result: TrainStepResult, step: Int, tokensPerSecond: Double) {
        let step = Int64(step)
        metric("loss", step: step, value: Double(result.loss))
        metric("lr", step: step, value: Double(result.learningRate))
        metric("grad_norm", step: step, value: Double(result.gradientNorm))
        metric("tokens_per_second", step: step, value: tokensPerSecond)
    }
}

extension ExecutionContext {
    /// The checksum of the tokens this rank trained on at `step` (every step: `opsctl replay` checks its tokens
    /// against it, docs/lineage.md). One point a step: 8 bytes of row for B x (T + 1) x accumulation tokens read.
    func reportBatchChecksum(of microbatches: [[Int32]], step: Int) {
        metric(BatchChecksum.metricName, step: Int64(step), value: Double(BatchChecksum.of(microbatches)))
    }
}

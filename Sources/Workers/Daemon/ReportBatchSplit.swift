// Cutting a report batch the control plane refused as invalid, to find the one item it refuses: the daemon
// sends the halves one after the other and cuts again whichever is refused, until that item is alone
// (a handful of extra calls per bad item, instead of one bad log line holding back every other report).

import APITypes
import ClusterModel

extension ReportBatch {
    /// The batch cut in two at its middle item, in the order the control plane applies items (logs, metrics,
    /// artifacts, progress, then completions and failures): sent first, the first half carries everything a
    /// completion in the second half must follow.
    func halves() -> (first: ReportBatch, second: ReportBatch) {
        var first = ReportBatch(workerID: workerID)
        var second = ReportBatch(workerID: workerID)
        var left = itemCount / 2
        func cut<Item>(_ items: [Item]) -> ([Item], [Item]) {
            let taken = min(left, items.count)
            left -= taken
            return (Array(items.prefix(taken)), Array(items.dropFirst(taken)))
        }
        (first.logs, second.logs) = cut(logs)
        (first.metrics, second.metrics) = cut(metrics)
        (first.artifacts, second.artifacts) = cut(artifacts)
        (first.progress, second.progress) = cut(progress)
        (first.completions, second.completions) = cut(completions)
        (first.failures, second.failures) = cut(failures)
        return (first, second)
    }

    /// A one-line description of a single-item batch for the worker's log: its kind and attempt.
    var itemSummary: String {
        if let item = logs.first { return "log line \(item.sequence) of attempt \(item.attemptID)" }
        if let item = metrics.first { return "metric at step \(item.step) of attempt \(item.attemptID)" }
        if let item = artifacts.first { return "artifact \(item.artifact.name) of attempt \(item.attemptID)" }
        if let item = progress.first { return "progress of attempt \(item.attemptID)" }
        if let item = completions.first { return "completion of attempt \(item.attemptID)" }
        if let item = failures.first { return "failure of attempt \(item.attemptID)" }
        return "an empty batch"
    }
}

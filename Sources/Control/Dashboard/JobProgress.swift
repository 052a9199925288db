import APITypes
import ClusterModel
import Foundation

/// How far a job is and when it will be done, from its task counts and its running tasks' own progress (a train
/// task reports step/steps): finished tasks count 1, a running task its fraction. The ETA assumes the rate so far
/// holds: elapsed × (1 − p) / p.
struct JobProgress: Sendable, Equatable {
    /// 0...1.
    let fraction: Double
    /// Seconds until done; nil when the job is not running or has made no progress to extrapolate from.
    let remainingSeconds: Double?

    init(job: JobView, runningTaskProgress: [Double], now: Date) {
        let total = job.tasks.total
        guard total > 0 else {
            fraction = job.state.isTerminal ? 1 : 0
            remainingSeconds = nil
            return
        }
        let running = runningTaskProgress.reduce(0) { $0 + min(1, max(0, $1.isFinite ? $1 : 0)) }
        let fraction = job.state == .succeeded ? 1 : min(1, (Double(job.tasks.finished) + running) / Double(total))
        self.fraction = fraction
        guard job.state == .running, fraction > 0, fraction < 1, let startedAt = job.startedAt else {
            remainingSeconds = nil
            return
        }
        let elapsed = max(0, now.timeIntervalSince(startedAt))
        remainingSeconds = elapsed * (1 - fraction) / fraction
    }

    /// `42%`.
    var percentText: String { "\(Int((fraction * 100).rounded(.down)))%" }

    /// `3m 20s`, `1h 05m`, `—` when unknown.
    var etaText: String { remainingSeconds.map(Self.duration) ?? "—" }

    static func duration(_ seconds: Double) -> String {
        let whole = Int(min(seconds, 99 * 86_400).rounded())
        if whole < 60 { return "\(whole)s" }
        if whole < 3_600 { return "\(whole / 60)m \(String(format: "%02d", whole % 60))s" }
        if whole < 86_400 { return "\(whole / 3_600)h \(String(format: "%02d", whole % 3_600 / 60))m" }
        return "\(whole / 86_400)d \(whole % 86_400 / 3_600)h"
    }
}

// How far a job is, for the bar and ETA of `apply --wait` and `logs -f` on a terminal. A job's task counts alone
// say nothing until a task ends, so a single-task train job sat at 0/1 with no ETA for its whole run; the tasks'
// own progress reports (0...1, from the executor) fill that in.

import APIClient
import APITypes
import Foundation

enum JobProgress {
    /// Jobs with at most this many tasks are read task by task (one more request per redraw) for their tasks'
    /// progress; larger jobs move their bar by finished tasks, where one task's share is small anyway.
    static let maxTasksReadForProgress = 64

    /// 0...1: a succeeded task counts whole, a running one by its latest progress report, the rest not at all.
    /// Without `tasks`, the succeeded share. A succeeded job is 1.
    static func fraction(_ job: JobView, tasks: [TaskView]?) -> Double {
        if job.state == .succeeded { return 1 }
        guard job.tasks.total > 0 else { return 0 }
        guard let tasks, !tasks.isEmpty else { return Double(job.tasks.succeeded) / Double(job.tasks.total) }
        let done = tasks.reduce(0.0) { sum, task in
            switch task.state {
            case .succeeded: return sum + 1
            case .running: return sum + min(1, max(0, task.progress ?? 0))
            default: return sum
            }
        }
        return min(1, done / Double(max(job.tasks.total, tasks.count)))
    }

    /// Seconds left at the pace so far (time since the job started × what is left ÷ what is done); nil before
    /// any progress, when the job is not running, or when the pace says nothing yet.
    static func remainingSeconds(_ job: JobView, fraction: Double, now: Date) -> Double? {
        guard job.state == .running, let startedAt = job.startedAt, fraction > 0, fraction < 1 else { return nil }
        let elapsed = now.timeIntervalSince(startedAt)
        guard elapsed > 0 else { return nil }
        return elapsed * (1 - fraction) / fraction
    }

    /// The tasks whose progress reports move the bar: those of a running job with at most
    /// `maxTasksReadForProgress` tasks; nil (count finished tasks only) otherwise.
    static func tasksForProgress(of job: JobView, client: OpsClient) async throws(ControlPlaneError)
        -> [TaskView]?
    {
        guard job.state == .running, job.tasks.total <= maxTasksReadForProgress else { return nil }
        return try await client.tasks(job: job.name, scope: .first(maxTasksReadForProgress)).items
    }
}

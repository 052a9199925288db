// A job's log lines after a line id; with a wait, the request is held until lines arrive or the job ends (for
// `opsctl logs -f`), woken by NOTIFY task_logs.

import APITypes
import Foundation

struct JobLogFollow {
    let services: ControlServices

    func lines(job name: String, afterID since: Int64, limit: Int, waitSeconds: Double) throws -> LogsResponse {
        let record = try JobQueries(services: services).job(named: name)
        let deadline = Date().addingTimeInterval(waitSeconds)
        while true {
            let seen = services.signals.generation(StoreChannel.taskLogs)
            let lines = try services.logs.list(job: record.id, afterID: since, limit: limit)
            let finished = try services.jobs.job(record.id)?.state.isTerminal ?? true
            if !lines.isEmpty || finished || Date() >= deadline {
                return LogsResponse(
                    lines: lines.map(LogLineView.init), nextSince: lines.last?.id ?? since,
                    complete: finished && lines.count < limit)
            }
            // Woken by NOTIFY task_logs (any job's lines) or the job finishing; bounded so a finished job is seen.
            services.signals.wait(
                StoreChannel.taskLogs, after: seen, timeoutSeconds: min(1, deadline.timeIntervalSinceNow))
        }
    }
}

// Table renderings of the admin views, shared by get, describe and apply.

import APITypes
import ClusterModel
import Foundation

enum Tables {
    static func jobs(_ jobs: [JobView], wide: Bool) -> String {
        var headers = ["NAME", "TYPE", "STATE", "DONE", "RUNNING", "QUEUED", "FAILED", "AGE"]
        if wide { headers += ["QUEUE", "PRIORITY", "REPLICAS", "AFTER", "REASON"] }
        let rows = jobs.map { job -> [String] in
            var row = [
                job.name, job.type,
                job.state.rawValue + (job.cancelRequested && !job.state.isTerminal ? " (cancelling)" : ""),
                "\(job.tasks.succeeded)/\(job.tasks.total)", "\(job.tasks.running)",
                "\(job.tasks.queued + job.tasks.blocked)",
                "\(job.tasks.failed)", TableFormatter.age(job.submittedAt),
            ]
            if wide {
                row += [
                    job.queue, "\(job.priority)", "\(job.replicas)",
                    job.after.isEmpty ? "-" : job.after.joined(separator: ","),
                    job.pendingReason ?? job.failureMessage ?? "-",
                ]
            }
            return row
        }
        return TableFormatter.render(headers: headers, rows: rows)
    }

    static func tasks(_ tasks: [TaskView], wide: Bool) -> String {
        var headers = ["JOB", "TASK", "STATE", "ATTEMPTS", "WORKER", "PROGRESS", "AGE"]
        if wide { headers += ["ID", "NOT-BEFORE", "LAST-ERROR"] }
        let rows = tasks.map { task -> [String] in
            var row = [
                task.jobName, "\(task.index)", task.state.rawValue, "\(task.attempts.count)",
                task.workerID.map { "\($0)" } ?? "-", task.progress.map { String(format: "%.0f%%", $0 * 100) } ?? "-",
                TableFormatter.age(task.createdAt),
            ]
            if wide {
                row += [
                    "\(task.id)", task.notBefore.map(WireCoding.formatTimestamp) ?? "-",
                    task.lastError.map { oneLine($0) } ?? "-",
                ]
            }
            return row
        }
        return TableFormatter.render(headers: headers, rows: rows)
    }

    static func workers(_ workers: [WorkerView], wide: Bool) -> String {
        var headers = ["NAME", "ID", "STATE", "CPU", "MEMORY", "ACCELERATORS", "RUNNING", "HEARTBEAT"]
        if wide { headers += ["VERSION", "KINDS", "LABELS"] }
        let rows = workers.map { worker -> [String] in
            var row = [
                worker.name, "\(worker.id)", worker.state.rawValue,
                "\(cpus(worker.allocated.cpuMillis))/\(cpus(worker.resources.cpuMillis))",
                "\(Quantity.formatBytes(worker.allocated.memoryBytes))/\(Quantity.formatBytes(worker.resources.memoryBytes))",
                accelerators(worker.resources), "\(worker.runningAttempts)",
                TableFormatter.age(worker.lastHeartbeatAt) + " ago",
            ]
            if wide {
                row += [
                    worker.version, worker.kinds.joined(separator: ","),
                    worker.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","),
                ]
            }
            return row
        }
        return TableFormatter.render(headers: headers, rows: rows)
    }

    static func datasets(_ datasets: [DatasetView]) -> String {
        TableFormatter.render(
            headers: ["NAME", "STATE", "SHARDS", "TOKENS", "SIZE", "JOB", "AGE"],
            rows: datasets.map {
                [
                    $0.name, $0.state, "\($0.shardCount)", "\($0.tokenCount)", Quantity.formatBytes($0.bytes),
                    $0.jobName ?? "-", TableFormatter.age($0.createdAt),
                ]
            })
    }

    static func shards(_ shards: [ShardView], wide: Bool) -> String {
        TableFormatter.render(
            headers: ["DATASET", "INDEX", "STATE", "DOCUMENTS", "TOKENS", "SIZE", "SHA256", "LOCATION"]
                + (wide ? ["REASON"] : []),
            rows: shards.map {
                [
                    $0.datasetName, "\($0.index)", $0.state ?? "-", $0.documents.map(String.init) ?? "-",
                    "\($0.tokens)", Quantity.formatBytes($0.bytes), wide ? $0.sha256 : String($0.sha256.prefix(12)),
                    $0.location,
                ]
                    + (wide ? [$0.badReason ?? ""] : [])
            })
    }

    static func artifacts(_ artifacts: [ArtifactView], wide: Bool) -> String {
        TableFormatter.render(
            headers: ["NAME", "KIND", "JOB", "SIZE", "SHA256", "LOCATION"],
            rows: artifacts.map {
                [
                    $0.name, $0.kind ?? "-", $0.jobName ?? "-", Quantity.formatBytes($0.bytes),
                    wide ? $0.sha256 : String($0.sha256.prefix(12)), $0.location,
                ]
            })
    }

    static func events(_ events: [EventView]) -> String {
        TableFormatter.render(
            headers: ["TIME", "TYPE", "JOB", "TASK", "MESSAGE"],
            rows: events.map {
                [
                    WireCoding.formatTimestamp($0.time), $0.type, $0.jobName ?? $0.jobID.map { "\($0)" } ?? "-",
                    $0.taskID.map { "\($0)" } ?? "-", oneLine($0.message),
                ]
            })
    }

    static func metrics(_ points: [MetricPointView]) -> String {
        TableFormatter.render(
            headers: ["METRIC", "STEP", "VALUE", "TASK", "TIME"],
            rows: points.sorted { $0.name < $1.name }.map {
                [
                    $0.name, "\($0.step)", TableFormatter.number($0.value), "\($0.taskID)",
                    WireCoding.formatTimestamp($0.time),
                ]
            })
    }

    /// NAME WEIGHT QUOTA RUNNING PENDING; a queue no manifest configured shows its defaults and, wide, "no".
    static func queues(_ queues: [QueueView], wide: Bool) -> String {
        var headers = ["NAME", "WEIGHT", "QUOTA", "RUNNING", "PENDING"]
        if wide { headers += ["CONFIGURED", "UPDATED"] }
        let rows = queues.map { queue -> [String] in
            var row = [
                queue.name, TableFormatter.number(queue.weight), quota(queue.quota),
                "\(queue.runningTasks)", "\(queue.pendingTasks)",
            ]
            if wide {
                row += [
                    queue.configured ? "yes" : "no (defaults)", queue.updatedAt.map(WireCoding.formatTimestamp) ?? "-",
                ]
            }
            return row
        }
        return TableFormatter.render(headers: headers, rows: rows)
    }

    /// `cpu=2,memory=4Gi,gpu-h100=8`; resources at 0 are not limited and left out; `-` without a quota.
    static func quota(_ quota: Resources?) -> String {
        guard let quota else { return "-" }
        var parts: [String] = []
        if quota.cpuMillis > 0 { parts.append("cpu=\(cpus(quota.cpuMillis))") }
        if quota.memoryBytes > 0 { parts.append("memory=\(Quantity.formatBytes(quota.memoryBytes))") }
        parts += quota.accelerators.sorted { $0.key < $1.key }.filter { $0.value > 0 }.map { "\($0.key)=\($0.value)" }
        return parts.isEmpty ? "-" : parts.joined(separator: ",")
    }

    static func cpus(_ millis: Int64) -> String {
        millis % 1000 == 0 ? "\(millis / 1000)" : "\(millis)m"
    }

    static func accelerators(_ resources: Resources) -> String {
        let parts = resources.accelerators.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return parts.isEmpty ? "-" : parts.joined(separator: ",")
    }

    static func oneLine(_ text: String, limit: Int = 100) -> String {
        let flat = text.replacingOccurrences(of: "\n", with: " ")
        return flat.count > limit ? String(flat.prefix(limit - 1)) + "…" : flat
    }
}

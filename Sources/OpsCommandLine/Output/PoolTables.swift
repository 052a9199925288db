import APITypes
import ClusterModel
import Foundation

/// `opsctl get pools` and `opsctl describe pool` (docs/worker-pools.md).
enum PoolTables {
    static func pools(_ pools: [WorkerPoolView], wide: Bool) -> String {
        var headers = ["NAME", "PROVIDER", "CURRENT", "DESIRED", "MIN", "MAX", "WORKERS", "SLURM JOBS"]
        if wide { headers += ["PARTITION", "NODE", "BLOCKED"] }
        let rows = pools.map { pool -> [String] in
            var row = [
                pool.name, pool.spec.provider.rawValue, "\(pool.currentNodes)", "\(pool.desiredNodes)",
                "\(pool.spec.minNodes)", "\(pool.spec.maxNodes)", "\(pool.aliveWorkers)", slurmJobs(pool.slurmJobs),
            ]
            if wide {
                row += [pool.spec.slurm.partition, Tables.quota(pool.spec.nodeResources), pool.blockedReason ?? "-"]
            }
            return row
        }
        return TableFormatter.render(headers: headers, rows: rows)
    }

    /// `12(running,2) 13(pending,1)`; `-` for none.
    static func slurmJobs(_ jobs: [PoolSlurmJobView]) -> String {
        jobs.isEmpty ? "-" : jobs.map { "\($0.id)(\($0.state),\($0.nodes))" }.joined(separator: " ")
    }

    static func describe(_ pool: WorkerPoolView) -> String {
        let spec = pool.spec
        var fields: [(String, String)] = [
            ("Name", pool.name), ("Provider", spec.provider.rawValue),
            (
                "Size",
                "\(pool.currentNodes) current, \(pool.desiredNodes) desired (min \(spec.minNodes), max \(spec.maxNodes))"
            ),
            ("Workers", "\(pool.aliveWorkers) alive"),
            ("Slurm jobs", slurmJobs(pool.slurmJobs)),
            ("Partition", spec.slurm.partition + (spec.slurm.account.map { ", account \($0)" } ?? "")),
            ("Time limit", "\(spec.slurm.timeLimitMinutes) min"),
            ("Node", Tables.quota(spec.nodeResources)),
            ("Idle timeout", "\(TableFormatter.number(spec.idleTimeoutSeconds)) s"),
            ("Command", spec.worker.command.joined(separator: " ")),
            (
                "Labels",
                spec.workerLabels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            ),
        ]
        if let blocked = pool.blockedReason { fields.append(("Blocked", blocked)) }
        if let scaled = pool.scaledAt { fields.append(("Scaled at", WireCoding.formatTimestamp(scaled))) }
        var text =
            fields.map { "\($0.0 + ":")".padding(toLength: 14, withPad: " ", startingAt: 0) + $0.1 }
            .joined(separator: "\n") + "\n"
        let decisions = pool.decisions ?? []
        text += "\nDecisions (newest first):\n"
        if decisions.isEmpty { text += "  none yet\n" }
        let rows = decisions.map {
            [WireCoding.formatTimestamp($0.at), $0.action.rawValue, $0.slurmJob ?? "-", "\($0.nodes)", $0.reason]
        }
        if !rows.isEmpty {
            text += TableFormatter.render(headers: ["AT", "ACTION", "SLURM JOB", "NODES", "REASON"], rows: rows)
        }
        return text
    }
}

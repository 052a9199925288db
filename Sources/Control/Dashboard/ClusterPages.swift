import APITypes
import ClusterModel
import Foundation

/// The workers and queues pages.
enum ClusterPages {
    static func workers(_ workers: [WorkerView], running: [ListedTask], session: DashboardSession) -> HTML {
        let byWorker = Dictionary(grouping: running.filter { $0.task.worker != nil }) { $0.task.worker! }
        let rows = workers.map { worker -> HTML in
            let attempts = (byWorker[worker.id] ?? []).map { listed -> HTML in
                "<li><a href=\"\(APIRoute.dashboardJob.path(listed.jobName))\">\(listed.jobName)</a> task \(listed.task.index)</li>"
            }
            let labels = worker.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(
                separator: ", ")
            return """
                <tr data-worker="\(worker.name)">
                <th scope="row">\(worker.name)</th>
                <td><span class="state state-\(worker.state.rawValue)">\(worker.state.rawValue)</span></td>
                <td>\(cpu(worker.allocated.cpuMillis)) / \(cpu(worker.resources.cpuMillis))</td>
                <td>\(DashboardLayout.bytes(worker.allocated.memoryBytes)) / \(DashboardLayout.bytes(worker.resources.memoryBytes))</td>
                <td>\(accelerators(worker))</td>
                <td>\(labels.isEmpty ? "—" : labels)</td>
                <td>\(worker.kinds.joined(separator: ", "))</td>
                <td>\(worker.runningAttempts)\(attempts.isEmpty ? HTML.empty : "<ul class=\"attempts\">\(attempts)</ul>")</td>
                <td class="shard-cache">\(shardCache(worker))</td>
                <td>\(worker.version)</td>
                <td>\(DashboardLayout.time(worker.lastHeartbeatAt))</td>
                </tr>
                """
        }
        let body: HTML =
            workers.isEmpty
            ? "<p>No workers have registered: start one with <code>opsctl worker</code>.</p>"
            : """
            <table id="workers">
            <caption>Workers by id: what they hold of what they have</caption>
            <thead><tr><th scope="col">Worker</th><th scope="col">State</th><th scope="col">CPU used / total</th><th scope="col">Memory used / total</th><th scope="col">Accelerators used / total</th><th scope="col">Labels</th><th scope="col">Job kinds</th><th scope="col">Current attempts</th><th scope="col">Shard cache</th><th scope="col">Version</th><th scope="col">Last heartbeat</th></tr></thead>
            <tbody>\(rows)</tbody>
            </table>
            """
        return DashboardLayout.page(title: "Workers", session: session, section: .workers, body: body)
    }

    static func queues(_ queues: [QueueView], session: DashboardSession) -> HTML {
        let shares = fairShares(queues)
        let rows = queues.map { queue -> HTML in
            """
            <tr data-queue="\(queue.name)">
            <th scope="row">\(queue.name)</th>
            <td>\(queue.configured ? "yes" : "no (defaults)")</td>
            <td>\(MetricChart.number(queue.weight))</td>
            <td>\(shares[queue.name].map { "\(Int(($0 * 100).rounded()))%" } ?? "— (no work)")</td>
            <td>\(queue.quota.map(\.description) ?? "none")</td>
            <td>\(queue.runningTasks)</td>
            <td>\(queue.pendingTasks)</td>
            <td>\(DashboardLayout.time(queue.updatedAt))</td>
            </tr>
            """
        }
        let body: HTML =
            queues.isEmpty
            ? "<p>No queues: jobs name one (default <code>default</code>), or <code>kind: Queue</code> configures it.</p>"
            : """
            <table id="queues">
            <caption>Queues: a queue's fair share is its weight over the weights of the queues with work (docs/queues.md)</caption>
            <thead><tr><th scope="col">Queue</th><th scope="col">Configured</th><th scope="col">Weight</th><th scope="col">Fair share</th><th scope="col">Quota</th><th scope="col">Running tasks</th><th scope="col">Pending tasks</th><th scope="col">Updated</th></tr></thead>
            <tbody>\(rows)</tbody>
            </table>
            """
        return DashboardLayout.page(title: "Queues", session: session, section: .queues, body: body)
    }

    /// Each queue with running or pending tasks: its weight's part of the weights of all such queues (the share
    /// the scheduler's fairness aims at, before quotas).
    static func fairShares(_ queues: [QueueView]) -> [String: Double] {
        let busy = queues.filter { $0.runningTasks + $0.pendingTasks > 0 && $0.weight > 0 }
        let total = busy.reduce(0) { $0 + $1.weight }
        guard total > 0 else { return [:] }
        return Dictionary(uniqueKeysWithValues: busy.map { ($0.name, $0.weight / total) })
    }

    /// Shard files one cell lists (a cache of more says how many more; `opsctl get workers -o json` has them all).
    static let cachedShardsListed = 20

    /// What the worker's shard cache holds (data locality, docs/storage.md): the count, and the files' names in a
    /// disclosure so a cache of thousands does not stretch the table.
    static func shardCache(_ worker: WorkerView) -> HTML {
        let shards = worker.cachedShards ?? []
        guard !shards.isEmpty else { return "empty" }
        let listed = shards.prefix(cachedShardsListed).map { url -> HTML in
            "<li><code>\(url.split(separator: "/").last.map(String.init) ?? url)</code></li>"
        }
        let more: HTML =
            shards.count > cachedShardsListed ? "<li>and \(shards.count - cachedShardsListed) more</li>" : .empty
        return "<details><summary>\(shards.count) shard files</summary><ul>\(listed)\(more)</ul></details>"
    }

    static func cpu(_ millis: Int64) -> String { MetricChart.number(Double(millis) / 1000) }

    private static func accelerators(_ worker: WorkerView) -> String {
        let kinds = Set(worker.resources.accelerators.keys).union(worker.allocated.accelerators.keys).sorted()
        guard !kinds.isEmpty else { return "—" }
        return kinds.map {
            "\($0): \(worker.allocated.accelerators[$0] ?? 0)/\(worker.resources.accelerators[$0] ?? 0)"
        }
        .joined(separator: ", ")
    }
}

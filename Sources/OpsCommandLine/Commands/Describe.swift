import APIClient
import APITypes
import Foundation

enum DescribeCommand: OpsCommand {
    static let spec = CommandSpec(
        "describe",
        summary:
            "Show one job in detail (tasks, attempts, results, metrics, artifacts, events) or one worker pool (size, Slurm jobs, scale decisions)",
        positionals: [
            PositionalSpec("KIND", help: "job or pool", choices: ["job", "pool"]),
            PositionalSpec("NAME", help: "the job's or pool's name"),
        ],
        options: [OpsCommands.output.spec])

    /// What `describe job -o json` prints.
    struct JobDescription: Encodable {
        var job: JobView
        var tasks: [TaskView]
        var events: [EventView]
    }

    static func run(_ settings: Settings) async throws -> Int32 {
        let format = try settings.value(OpsCommands.output)
        let name = settings.parsed.positionals[1]
        let client = try makeOpsClient(settings)
        if settings.parsed.positionals[0] == "pool" {
            let pool = try await client.pool(name)
            if format.isStructured {
                try Output.printStructured(pool, as: format)
            } else {
                print(PoolTables.describe(pool), terminator: "")
            }
            return 0
        }
        let job = try await client.job(name)
        let tasks = try await client.tasks(job: name)
        // The latest 1,000 events (the server lists newest first), told in the order they happened.
        let events = Array(try await client.events(job: name, scope: .first(1000)).items.reversed())
        if format.isStructured {
            try Output.printStructured(JobDescription(job: job, tasks: tasks, events: events), as: format)
            return 0
        }
        let history = try await client.metrics(job: name, scope: .first(metricPointsRead))
        print(render(job: job, tasks: tasks, events: events, metricHistory: history), terminator: "")
        return 0
    }

    /// How many metric points `describe job` reads for its sparklines (4 pages): a train job's whole history at
    /// one point per metric and step for 5,000 steps of four metrics; beyond that the sparklines end early and say so.
    static let metricPointsRead = 20_000

    static func render(
        job: JobView, tasks: [TaskView], events: [EventView],
        metricHistory: Listing<MetricPointView> = Listing(items: [], hasMore: false)
    ) -> String {
        var fields: [(String, String)] = [
            ("Name", job.name), ("ID", "\(job.id)"), ("Type", job.type),
            ("State", job.state.rawValue + (job.cancelRequested && !job.state.isTerminal ? " (cancel requested)" : "")),
            ("Queue", job.queue), ("Priority", "\(job.priority)"), ("Replicas", "\(job.replicas)"),
            ("After", job.after.isEmpty ? "-" : job.after.joined(separator: ", ")),
            (
                "Tasks",
                "\(job.tasks.total) total: \(job.tasks.succeeded) succeeded, \(job.tasks.running) running, \(job.tasks.queued) queued, \(job.tasks.blocked) blocked, \(job.tasks.failed) failed, \(job.tasks.cancelled) cancelled"
            ),
            ("Submitted", WireCoding.formatTimestamp(job.submittedAt)),
        ]
        if let started = job.startedAt { fields.append(("Started", WireCoding.formatTimestamp(started))) }
        if let finished = job.finishedAt {
            fields.append(("Finished", WireCoding.formatTimestamp(finished)))
            fields.append(
                ("Duration", TableFormatter.duration(finished.timeIntervalSince(job.startedAt ?? job.submittedAt))))
        }
        if let reason = job.pendingReason { fields.append(("Pending", reason)) }
        if let preempted = PreemptionLoss(tasks: tasks) { fields.append(("Preempted", preempted.description)) }
        if let failure = job.failureMessage {
            fields.append((job.state == .cancelled ? "Cancelled" : "Failure", failure))
        }
        let width = (fields.map(\.0.count).max() ?? 0) + 2
        var text =
            fields.map { ($0.0 + ":").padding(toLength: width, withPad: " ", startingAt: 0) + $0.1 }.joined(
                separator: "\n") + "\n"

        text += "\nTasks:\n" + indent(Tables.tasks(tasks, wide: true))
        let attempts = tasks.flatMap { task in task.attempts.map { (task, $0) } }
        if !attempts.isEmpty {
            text +=
                "\nAttempts:\n"
                + indent(
                    TableFormatter.render(
                        headers: ["TASK", "ATTEMPT", "WORKER", "STATE", "STARTED", "DURATION", "MESSAGE"],
                        rows: attempts.map { task, attempt in
                            [
                                String(task.index), String(attempt.number), attempt.workerName ?? "\(attempt.workerID)",
                                attempt.state.rawValue,
                                WireCoding.formatTimestamp(attempt.startedAt),
                                attempt.finishedAt.map {
                                    TableFormatter.duration($0.timeIntervalSince(attempt.startedAt))
                                } ?? "-",
                                attempt.message.map { Tables.oneLine($0) } ?? "-",
                            ]
                        }))
        }
        if let results = job.results, !results.isEmpty {
            text += "\nResults:\n"
            for result in results.sorted(by: { $0.index < $1.index }) {
                text += "  task \(result.index): \(result.result.jsonText)\n"
            }
        }
        if let metrics = job.latestMetrics, !metrics.isEmpty {
            text += "\nLatest metrics:\n" + indent(Tables.metrics(metrics))
        }
        if !metricHistory.items.isEmpty {
            let truncated = metricHistory.hasMore ? ", the first \(metricHistory.items.count) points" : ""
            text +=
                "\nMetric history (over steps\(truncated); opsctl get metrics \(job.name) -o csv for the points):\n"
                + indent(MetricHistory.sparklines(metricHistory.items))
        }
        if let artifacts = job.artifacts, !artifacts.isEmpty {
            text += "\nArtifacts:\n" + indent(Tables.artifacts(artifacts, wide: false))
        }
        if !events.isEmpty { text += "\nEvents (latest 20):\n" + indent(Tables.events(Array(events.suffix(20)))) }
        return text
    }

    /// "2 times, 1536 training tokens recomputed": what preemptions cost the job (issue 20).
    struct PreemptionLoss: CustomStringConvertible {
        var preemptions: Int
        /// Nil when no preempted attempt reported training tokens (work that trains nothing).
        var tokensLost: Int64?

        init?(tasks: [TaskView]) {
            let preempted = tasks.flatMap(\.attempts).filter { $0.state == .preempted }
            guard !preempted.isEmpty else { return nil }
            preemptions = preempted.count
            let reported = preempted.compactMap(\.tokensLost)
            tokensLost = reported.isEmpty ? nil : reported.reduce(0, +)
        }

        var description: String {
            "\(preemptions) time\(preemptions == 1 ? "" : "s")"
                + (tokensLost.map { ", \($0) training tokens recomputed (consumed since the last checkpoint)" } ?? "")
        }
    }

    static func indent(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : "  " + $0 }.joined(
            separator: "\n")
    }
}

import APIClient
import APITypes
import ClusterModel
import Foundation
import Workers

enum ApplyCommand: OpsCommand {
    static let timeoutSeconds = TypedOption(
        "timeout", value: "SECONDS", help: "with --wait: give up after this long (exit 3)",
        default: 0.0, parser: .seconds, defaultDescription: "no limit")

    static let spec = CommandSpec(
        "apply", summary: "Submit the jobs of a manifest file (YAML or JSON, several documents allowed)",
        options: [
            OptionSpec("file", short: "f", value: "FILE", help: "manifest file, or - for standard input (required)"),
            OptionSpec("wait", short: "w", help: "wait for the jobs to finish, showing progress; exit 1 if one fails"),
            OptionSpec("dry-run", help: "validate on the server without creating anything"),
            OptionSpec(
                "progress", help: "draw the input upload progress bar even when standard error is not a terminal"),
            timeoutSeconds.spec,
            OpsCommands.output.spec,
        ],
        discussion: "Example: opsctl apply -f manifests/pipeline.yaml --wait")

    static func run(_ settings: Settings) async throws -> Int32 {
        guard let path = settings.parsed.value("file") else {
            throw SettingsError("apply: say which manifest to submit with -f FILE (or -f - for standard input)")
        }
        let format = try settings.value(OpsCommands.output)
        let wait = settings.parsed.flag("wait")
        let dryRun = settings.parsed.flag("dry-run")
        let timeoutSeconds = try settings.value(timeoutSeconds)
        let client = try makeOpsClient(settings)
        let documents = try await uploadInputs(
            try ManifestFile.documents(path: path), client: client, settings: settings, dryRun: dryRun)
        let response = try await client.submit(documents, dryRun: dryRun, source: path)
        if format.isStructured && !wait {
            try Output.printStructured(response, as: format)
            return 0
        }
        for queue in response.queues ?? [] {
            print("queue \(queue.name) \(dryRun ? "valid (dry run)" : "configured")")
        }
        for pool in response.pools ?? [] {
            print("pool \(pool.name) \(dryRun ? "valid (dry run)" : "configured")")
        }
        for submitted in response.jobs {
            let verb: String
            switch submitted.outcome {
            case .created: verb = "created"
            case .unchanged: verb = "unchanged (already submitted)"
            case .validated: verb = "valid (dry run)"
            }
            print("job \(submitted.job.name) \(verb)")
        }
        guard wait, !dryRun else { return 0 }
        return try await waitForJobs(
            response.jobs.map(\.job.name), client: client, timeoutSeconds: timeoutSeconds,
            structured: format.isStructured ? format : nil)
    }

    /// Resolves the local inputs of tokenize jobs and uploads those the blob store lacks (`InputUpload`); says
    /// on standard error what was sent.
    static func uploadInputs(_ documents: [AnyJSON], client: OpsClient, settings: Settings, dryRun: Bool) async throws
        -> [AnyJSON]
    {
        guard documents.contains(where: InputUpload.mayHaveLocalInputs) else { return documents }
        // The cluster's backend decides where inputs go: its blob store, or its bucket (with this machine's own
        // S3 credentials, never the control plane's).
        let storage = try StorageClients.describe(baseURL: settings.serverURL, token: client.requester.token)
        let store = try StorageClients.artifactStore(
            for: storage, controlPlaneURL: settings.serverURL, token: client.requester.token,
            cacheDirectory: FileManager.default.temporaryDirectory.appendingPathComponent("opsctl-apply"))
        let live = settings.parsed.flag("progress") || isatty(STDERR_FILENO) != 0
        var upload = InputUpload(store: store, client: client, progress: UploadProgress(live: live))
        if let s3 = storage.s3 { upload.locate = { "s3://\(s3.bucket)/\(s3.blobKey($0))" } }
        let (resolved, summary) = try await upload.resolve(documents, dryRun: dryRun)
        if summary.uploadedFiles + summary.storedFiles > 0 {
            Output.note(
                "inputs: \(summary.uploadedFiles) file(s) uploaded (\(summary.uploadedBytes) bytes), \(summary.storedFiles) already stored"
                    + (dryRun ? " (dry run: nothing uploaded)" : ""))
        }
        return resolved
    }

    /// Polls the jobs until all are finished, redrawing a progress display; 0 if all succeeded, 1 if any
    /// failed or was cancelled, 3 on timeout.
    /// `structured`: print the finished jobs as JSON or YAML (and draw no progress).
    static func waitForJobs(
        _ names: [String], client: OpsClient, timeoutSeconds: Double, structured: OutputFormat?
    ) async throws -> Int32 {
        let started = Date()
        let live = Output.isTerminal && structured == nil
        let display = ProgressDisplay(live: live)
        var failures = 0
        var jobs: [String: JobView] = [:]
        var tasks: [String: [TaskView]] = [:]
        while true {
            do {
                for name in names {
                    let job = try await client.job(name)
                    jobs[name] = job
                    // On a terminal the bar counts running tasks by their progress reports (JobProgress).
                    if live { tasks[name] = try await JobProgress.tasksForProgress(of: job, client: client) }
                }
                if failures > 0 { Output.note("control plane reachable again") }
                failures = 0
            } catch {
                guard error.isRetryable else { throw error }
                failures += 1
                if failures == 1 { Output.note("\(error); still waiting") }
            }
            let current = names.compactMap { jobs[$0] }
            if live {
                let now = Date()
                let lines = current.map {
                    progressLine($0, bar: JobProgress.fraction($0, tasks: tasks[$0.name]), now: now)
                }
                display.show(lines, elapsed: now.timeIntervalSince(started))
            } else if structured == nil {
                display.show(current.map { progressLine($0) }, elapsed: Date().timeIntervalSince(started))
            }
            if current.count == names.count && current.allSatisfy({ $0.state.isTerminal }) {
                display.finish()
                if let structured { try Output.printStructured(current, as: structured) }
                let bad = current.filter { $0.state != .succeeded }
                for job in bad {
                    Output.error(
                        "job \(job.name) \(job.state.rawValue)" + (job.failureMessage.map { ": \($0)" } ?? "")
                            + " — see `opsctl describe job \(job.name)` and `opsctl logs \(job.name)`")
                }
                return bad.isEmpty ? 0 : 1
            }
            if timeoutSeconds > 0 && Date().timeIntervalSince(started) > timeoutSeconds {
                display.finish()
                Output.error(
                    "gave up waiting after \(TableFormatter.duration(timeoutSeconds)); the jobs keep running (opsctl get jobs)"
                )
                return 3
            }
            try await Task.sleep(
                nanoseconds: failures > 0 ? UInt64(Backoff().delay(afterFailures: failures) * 1e9) : 1_000_000_000)
        }
    }

    /// One line per job: `pretrain  running  12/40 tasks (4 running, 1 failed)  step 200 loss 2.31  ETA 3m`.
    /// With `bar` (the job's fraction done, on a terminal) the line has a progress bar after the state and its ETA
    /// comes from that fraction, so a single-task job shows both from its task's progress reports; without it the
    /// line is what logs and pipes have always received.
    static func progressLine(_ job: JobView, bar: Double? = nil, now: Date = Date()) -> String {
        var line = "\(job.name)  \(job.state.rawValue)  "
        if let bar { line += ProgressBar.render(fraction: bar) + "  " }
        line += "\(job.tasks.succeeded)/\(job.tasks.total) tasks"
        var details: [String] = []
        if job.tasks.running > 0 { details.append("\(job.tasks.running) running") }
        if job.tasks.queued + job.tasks.blocked > 0 {
            details.append("\(job.tasks.queued + job.tasks.blocked) waiting")
        }
        if job.tasks.failed > 0 { details.append("\(job.tasks.failed) failed") }
        if !details.isEmpty { line += " (" + details.joined(separator: ", ") + ")" }
        if let metrics = job.latestMetrics, !metrics.isEmpty {
            let step = metrics.map(\.step).max() ?? 0
            // `batch_checksum` (every step, for `opsctl replay`: docs/lineage.md) is no progress to show.
            let shown = metrics.filter { !UnchartedMetrics.contains($0.name) }.sorted { $0.name < $1.name }.prefix(3)
                .map {
                    "\($0.name) \(TableFormatter.number($0.value))"
                }
            line += "  step \(step) " + shown.joined(separator: " ")
        }
        if let bar {
            if let remaining = JobProgress.remainingSeconds(job, fraction: bar, now: now) {
                line += "  ETA \(TableFormatter.duration(remaining))"
            }
        } else if job.state == .running, let startedAt = job.startedAt, job.tasks.succeeded > 0,
            job.tasks.total > job.tasks.succeeded
        {
            let elapsed = now.timeIntervalSince(startedAt)
            let remaining = elapsed / Double(job.tasks.succeeded) * Double(job.tasks.total - job.tasks.succeeded)
            line += "  ETA \(TableFormatter.duration(remaining))"
        }
        if job.state == .pending, let reason = job.pendingReason { line += "  (\(reason))" }
        return line
    }
}

/// Redraws the same lines on a terminal; prints only changes otherwise (CI logs stay short).
final class ProgressDisplay {
    private let live: Bool
    private var drawnLines = 0
    private var lastLines: [String] = []

    init(live: Bool) { self.live = live }

    func show(_ lines: [String], elapsed: Double) {
        if live {
            var text = drawnLines > 0 ? "\u{1B}[\(drawnLines)A" : ""
            for line in lines + ["elapsed \(TableFormatter.duration(elapsed))"] { text += "\u{1B}[2K" + line + "\n" }
            print(text, terminator: "")
            drawnLines = lines.count + 1
            Output.flush()
        } else if lines != lastLines {
            for (index, line) in lines.enumerated() where index >= lastLines.count || lastLines[index] != line {
                print(line)
            }
            Output.flush()
        }
        lastLines = lines
    }

    func finish() {}
}

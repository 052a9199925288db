import APIClient
import APITypes
import Foundation
import Workers

enum LogsCommand: OpsCommand {
    static let sinceLineID = TypedOption(
        "since", value: "ID", help: "only lines after this line id", default: Int64(0), parser: .lineID)

    static let spec = CommandSpec(
        "logs", summary: "Print a job's log lines",
        positionals: [PositionalSpec("JOB", help: "the job's name")],
        options: [
            OptionSpec("follow", short: "f", help: "keep printing new lines until the job finishes"),
            sinceLineID.spec,
            OptionSpec("timestamps", short: "t", help: "prefix lines with their time"),
        ])

    static func run(_ settings: Settings) async throws -> Int32 {
        let job = settings.parsed.positionals[0]
        let follow = settings.parsed.flag("follow")
        let timestamps = settings.parsed.flag("timestamps")
        var since = try settings.value(sinceLineID)
        let client = try makeOpsClient(settings)
        // `logs -f` on a terminal keeps the job's progress bar on its last line (LogStatusLine); a pipe gets the
        // lines alone, as before. The status is read after each answer, so answers come at least every 2 s.
        let status = follow && Output.isTerminal ? LogStatusLine() : nil
        let waitSeconds: Double? = follow ? (status == nil ? 10 : 2) : nil
        var failures = 0
        while true {
            let response: LogsResponse
            do {
                response = try await client.logs(job: job, since: since, limit: 1000, waitSeconds: waitSeconds)
                failures = 0
            } catch {
                // Keep following through a control-plane restart.
                guard follow && error.isRetryable else { throw error }
                failures += 1
                if failures == 1 { Output.note("\(error); still following") }
                try await Task.sleep(nanoseconds: UInt64(Backoff().delay(afterFailures: failures) * 1e9))
                continue
            }
            if !response.lines.isEmpty { status?.clear() }
            for line in response.lines {
                var prefix = "[task \(line.taskID)" + (line.attemptNumber > 0 ? " #\(line.attemptNumber)]" : "]")
                if line.stream != .stdout { prefix += " \(line.stream.rawValue):" }
                if timestamps { prefix = WireCoding.formatTimestamp(line.time) + " " + prefix }
                print(prefix + " " + line.message)
            }
            since = response.nextSince
            if response.complete {
                status?.clear()
                Output.flush()
                return 0
            }
            if let status, response.lines.count < 1000 {
                // The bar is decoration: a failure to read it must not stop the lines.
                if let view = try? await client.job(job) {
                    let tasks = try? await JobProgress.tasksForProgress(of: view, client: client)
                    status.show(ApplyCommand.progressLine(view, bar: JobProgress.fraction(view, tasks: tasks)))
                }
            }
            Output.flush()
            if response.lines.count >= 1000 { continue }
            if !follow { return 0 }
            if response.lines.isEmpty { try await Task.sleep(nanoseconds: 500_000_000) }
        }
    }
}

/// The one line under `logs -f`'s output on a terminal: drawn without a newline, erased before log lines are
/// printed (so they scroll above it) and when the job ends.
final class LogStatusLine {
    private var shown = false

    func show(_ line: String) {
        print(LogStatusLine.frame(line), terminator: "")
        shown = true
    }

    func clear() {
        guard shown else { return }
        print(LogStatusLine.erase, terminator: "")
        shown = false
    }

    /// Back to the line's start and erase it.
    static let erase = "\r\u{1B}[2K"
    static func frame(_ line: String) -> String { erase + line }
}

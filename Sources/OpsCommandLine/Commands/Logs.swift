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
        var failures = 0
        while true {
            let response: LogsResponse
            do {
                response = try await client.logs(job: job, since: since, limit: 1000, waitSeconds: follow ? 10 : nil)
                failures = 0
            } catch {
                // Keep following through a control-plane restart.
                guard follow && error.isRetryable else { throw error }
                failures += 1
                if failures == 1 { Output.note("\(error); still following") }
                try await Task.sleep(nanoseconds: UInt64(Backoff().delay(afterFailures: failures) * 1e9))
                continue
            }
            for line in response.lines {
                var prefix = "[task \(line.taskID)" + (line.attemptNumber > 0 ? " #\(line.attemptNumber)]" : "]")
                if line.stream != .stdout { prefix += " \(line.stream.rawValue):" }
                if timestamps { prefix = WireCoding.formatTimestamp(line.time) + " " + prefix }
                print(prefix + " " + line.message)
            }
            Output.flush()
            since = response.nextSince
            if response.lines.count >= 1000 { continue }
            if !follow || response.complete { return 0 }
            if response.lines.isEmpty { try await Task.sleep(nanoseconds: 500_000_000) }
        }
    }
}

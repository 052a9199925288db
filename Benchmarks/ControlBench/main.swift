// ControlBench: end-to-end throughput of the worker protocol (release build):
//   swift run -c release ControlBench [--tasks N] [--drain M] [--workers K] [--batch B] [--fsync on|off] [--statements]
//     [--explain] [--poll-each]
// Starts a throwaway PostgreSQL (fsync ON by default: every commit is durable), one control plane, and K
// worker clients that talk the real protocol over HTTP on 127.0.0.1 (libcurl): register, poll up to B tasks, then
// loop { report their completions in one batch that claims the next B (`ReportBatch.next`, as the worker daemon
// does); poll when it claimed nothing } until the N `noop` tasks of one job are done. `--poll-each` polls before
// every report instead (the protocol before reports could claim: two exchanges per batch).
// Prints tasks claimed+completed per second, the latency of each call kind, and checks in SQL that every
// task succeeded exactly once. `--drain M` stops after M completions (0: all N), for deep queues at batch 1; a RESULT
// line at the end is what scripts/bench-leases.sh reads. `--statements` loads pg_stat_statements and prints where the database time went.
// Polls ask to wait 0 s (no long poll: a worker stops after two empty answers in a row). Per worker it prints what
// each completed, its claims answered with nothing, when it stopped and its slowest exchange, to tell an unfair
// split's cause: a worker that stopped early, one held up in a few long waits, or one slow throughout.

import APIClient
import APITypes
import BenchmarkSupport
import ClusterModel
import Control
import Foundation
import Postgres
import TestSupport
import Workers

// MARK: Options

struct Options {
    var tasks = 20_000
    var drain = 0
    var workers = 8
    var batch = 64
    var fsync = true
    var statements = false
    var explain = false
    /// The protocol before reports could claim: a poll before every report (two exchanges per batch).
    var pollEach = false

    init(_ arguments: [String]) {
        var cursor = OptionCursor(arguments, first: 0)
        while let option = cursor.nextOption() {
            func value() -> String { cursor.value(orStop: fail) }
            switch option {
            case "--tasks": tasks = Int(value()) ?? { fail("--tasks: expected an integer") }()
            case "--drain": drain = Int(value()) ?? { fail("--drain: expected an integer") }()
            case "--workers": workers = Int(value()) ?? { fail("--workers: expected an integer") }()
            case "--batch": batch = Int(value()) ?? { fail("--batch: expected an integer") }()
            case "--fsync": fsync = value() != "off"
            case "--statements": statements = true
            case "--explain": explain = true
            case "--poll-each": pollEach = true
            case "-h", "--help":
                print(
                    "usage: ControlBench [--tasks N=20000] [--drain M=0] [--workers K=8] [--batch B=64] [--fsync on|off] [--statements] [--explain] [--poll-each]"
                )
                exit(0)
            default: fail("unknown argument \(option) (see --help)")
            }
        }
        guard tasks > 0, workers > 0, PollRequest.maxTasksRange.contains(batch) else {
            fail("need --tasks > 0, --workers > 0, --batch in \(PollRequest.maxTasksRange)")
        }
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("ControlBench: \(message)\n".utf8))
    exit(2)
}

/// Completions so far, across the worker tasks (`--drain`).
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func add(_ n: Int) { lock.withLock { count += n } }
}

/// Latency samples of one call kind.
final class Samples: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Double] = []
    func add(_ seconds: Double) { lock.withLock { values.append(seconds) } }
    func p99Millis() -> String {
        let sorted = lock.withLock { values.sorted() }
        guard !sorted.isEmpty else { return "0" }
        return String(format: "%.1f", sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.99))] * 1000)
    }
    func summary() -> String {
        let sorted = lock.withLock { values.sorted() }
        guard !sorted.isEmpty else { return "none" }
        func p(_ q: Double) -> String {
            String(format: "%.1f", sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))] * 1000)
        }
        return "\(sorted.count) calls, p50 \(p(0.5)) ms, p90 \(p(0.9)) ms, p99 \(p(0.99)) ms"
    }
}

// MARK: Set-up

let options = Options(Array(CommandLine.arguments.dropFirst()))
var settings = [
    "fsync": options.fsync ? "on" : "off", "synchronous_commit": options.fsync ? "on" : "off",
    "shared_buffers": "128MB", "max_connections": "100",
]
if options.statements || options.explain {
    settings["shared_preload_libraries"] = "pg_stat_statements,auto_explain"
    settings["pg_stat_statements.track"] = "all"
}
for pair in (ProcessInfo.processInfo.environment["BENCH_PG_SETTINGS"] ?? "").split(separator: ",") {
    let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
    if kv.count == 2 { settings[kv[0]] = kv[1] }
}
if options.explain {
    // Plans of statements slower than 20 ms go to the server log, printed at the end.
    settings["auto_explain.log_min_duration"] = "20ms"
    settings["auto_explain.log_analyze"] = "on"
    settings["auto_explain.log_buffers"] = "on"
    settings["auto_explain.log_nested_statements"] = "on"
}
print(
    "ControlBench: \(options.tasks) noop tasks, \(options.workers) worker clients, batches of \(options.batch), fsync \(options.fsync ? "on" : "off"), \(options.pollEach ? "a poll before every report" : "reports that claim")"
)
let postgres = try TestPostgres(settings: settings)
defer { postgres.destroy() }
let databaseURL = try postgres.freshDatabase(named: "bench")
let adminToken = Secret.random()
let joinToken = Secret.random()
let artifacts = try TemporaryDirectory.make(prefix: "controlbench-")
defer { artifacts.remove() }

let controlPlane = ControlPlane(
    configuration: ControlPlaneConfiguration(
        databaseURL: databaseURL, adminToken: adminToken, joinToken: joinToken, artifactDirectory: artifacts.path,
        leaseSeconds: 60, heartbeatSeconds: 10, databaseConnections: 16), log: { _ in })
try controlPlane.start()
defer { controlPlane.stop() }
let database = try PostgresConnection(conninfo: databaseURL, applicationName: "controlbench")
defer { database.close() }
if options.statements { try database.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements") }

let admin = OpsClient(
    baseURL: controlPlane.baseURL, token: adminToken.value, transport: CurlTransport(), timeoutSeconds: 300)
let document = try WireCoding.decode(
    AnyJSON.self,
    from: Data(
        """
        {"apiVersion":"llmops/v1","kind":"Job","metadata":{"name":"bench"},"spec":{"type":"noop","tasks":\(options.tasks)}}
        """.utf8))
let submitStarted = Date()
_ = try await admin.submit([document])
print(String(format: "submitted 1 job of %d tasks in %.2f s", options.tasks, Date().timeIntervalSince(submitStarted)))
if options.statements { try database.execute("SELECT pg_stat_statements_reset()") }

// MARK: The run

/// Exchanges that claimed (polls, and reports with `next`) and reports that only reported.
let claimSamples = Samples()
let reportSamples = Samples()
let workerAPIs = (0..<options.workers).map { _ in
    HTTPControlPlaneAPI(baseURL: controlPlane.baseURL, token: joinToken.value, transport: CurlTransport())
}
var workerIDs: [WorkerID] = []
for (index, api) in workerAPIs.enumerated() {
    let response = try await api.register(
        RegisterWorkerRequest(
            name: "bench-\(index)", resources: Resources(cpuMillis: 1_000_000, memoryBytes: 1 << 40), version: "bench",
            kinds: ["noop"], maxConcurrentTasks: options.batch))
    workerIDs.append(response.workerID)
}

let drainTarget = options.drain > 0 ? min(options.drain, options.tasks) : options.tasks
let drained = Counter()
let started = Date()
/// Per worker: what it completed, the claims answered with nothing, and when it stopped (seconds into the run);
/// `slowestExchangeSeconds`: its longest poll or report, which tells a worker held up in a few long waits from one
/// slow throughout.
struct WorkerTally { var done = 0, emptyAnswers = 0, stoppedAfterSeconds = 0.0, slowestExchangeSeconds = 0.0 }
let tallies = try await withThrowingTaskGroup(of: WorkerTally.self) { group in
    for (api, worker) in zip(workerAPIs, workerIDs) {
        group.addTask {
            let ask = PollRequest(
                workerID: worker, maxTasks: options.batch, waitSeconds: 0,
                available: Resources(cpuMillis: 1_000_000, memoryBytes: 1 << 40))
            var done = 0
            var emptyPolls = 0
            var emptyAnswers = 0
            var slowest = 0.0
            var held: [TaskAssignment] = []
            /// Reports `held` done; with `claim`, takes the next batch in the same exchange (as the daemon does).
            func report(claim: Bool) async throws {
                var batch = ReportBatch(
                    workerID: worker,
                    completions: held.map {
                        CompletionReport(
                            taskID: $0.taskID, attemptID: $0.attemptID, result: ["task": .int(Int64($0.taskIndex))])
                    })
                if claim { batch.next = ask }
                let t0 = Date()
                let response = try await api.report(batch)
                let seconds = Date().timeIntervalSince(t0)
                (claim ? claimSamples : reportSamples).add(seconds)
                slowest = max(slowest, seconds)
                guard response.accepted == held.count, response.staleAttempts.isEmpty else {
                    fail("report for \(held.count) completions answered \(response)")
                }
                done += held.count
                drained.add(held.count)
                held = response.assignments ?? []
                if claim && held.isEmpty { emptyAnswers += 1 }
            }
            while emptyPolls < 2, drained.value < drainTarget {
                if held.isEmpty {
                    let t0 = Date()
                    held = try await api.poll(ask).assignments
                    let seconds = Date().timeIntervalSince(t0)
                    claimSamples.add(seconds)
                    slowest = max(slowest, seconds)
                    if held.isEmpty {
                        emptyPolls += 1
                        emptyAnswers += 1
                        continue
                    }
                    emptyPolls = 0
                }
                try await report(claim: !options.pollEach)
            }
            // Stopped at the drain target holding a claimed batch: complete it, so every attempt ends.
            if !held.isEmpty { try await report(claim: false) }
            return WorkerTally(
                done: done, emptyAnswers: emptyAnswers, stoppedAfterSeconds: Date().timeIntervalSince(started),
                slowestExchangeSeconds: slowest)
        }
    }
    var tallies: [WorkerTally] = []
    for try await tally in group { tallies.append(tally) }
    return tallies.sorted { $0.done < $1.done }
}
let completedPerWorker = tallies.map(\.done)
let elapsed = Date().timeIntervalSince(started)

// MARK: Results

let completed = completedPerWorker.reduce(0, +)
let succeeded = try database.queryOne("SELECT count(*) AS n FROM tasks WHERE state = 'succeeded'").int("n")
let attempts = try database.queryOne("SELECT count(*) AS n FROM task_attempts").int("n")
let jobState = try database.queryOne("SELECT state FROM jobs WHERE name = 'bench'").string("state")
print(
    String(
        format: "%d tasks claimed and completed in %.2f s: %.0f tasks/s end to end", completed, elapsed,
        Double(completed) / elapsed))
print("  claims (polls\(options.pollEach ? "" : ", reports with next")): \(claimSamples.summary())")
print("  reports only: \(reportSamples.summary())")
print("  per worker: \(completedPerWorker.sorted())")
print("  claims answered empty, per worker (same order): \(tallies.map(\.emptyAnswers))")
print(
    "  stopped after, per worker (same order): "
        + tallies.map { String(format: "%.2f s", $0.stoppedAfterSeconds) }.joined(separator: ", "))
print(
    "  slowest exchange, per worker (same order): "
        + tallies.map { String(format: "%.0f ms", $0.slowestExchangeSeconds * 1000) }.joined(separator: ", "))
print("  database: \(succeeded) tasks succeeded, \(attempts) attempts, job \(jobState)")
let drainedAll = drainTarget == options.tasks
guard completed == succeeded, attempts == succeeded, completed >= drainTarget,
    !drainedAll || (completed == options.tasks && jobState == "succeeded")
else {
    fail("expected \(drainTarget) of \(options.tasks) tasks completed exactly once")
}
let counts = completedPerWorker.sorted()
print(
    "RESULT tasks_per_s=\(String(format: "%.0f", Double(completed) / elapsed)) p99_claim_ms=\(claimSamples.p99Millis()) fairness=\(String(format: "%.2f", Double(counts.last ?? 0) / Double(max(1, counts.first ?? 0)))) per_worker=\(counts.map(String.init).joined(separator: ",")) empty_per_worker=\(tallies.map { String($0.emptyAnswers) }.joined(separator: ",")) slowest_ms_per_worker=\(tallies.map { String(format: "%.0f", $0.slowestExchangeSeconds * 1000) }.joined(separator: ","))"
)
if options.explain {
    let log = (try? String(contentsOfFile: postgres.server.logFile, encoding: .utf8)) ?? ""
    let plans = Array(log.components(separatedBy: "LOG:  duration:").dropFirst())
    print("slow statement plans (auto_explain, \(plans.count) logged; per statement the middle one):")
    let byStatement = Dictionary(grouping: plans) { plan in
        plan.components(separatedBy: "Query Text:").dropFirst().first?.prefix(60).description ?? ""
    }
    for (_, group) in byStatement.sorted(by: { $0.value.count > $1.value.count }).prefix(4) {
        print("  [\(group.count) slow] duration:" + group[group.count / 2].prefix(5000))
    }
}
if options.statements {
    print("database time by statement (pg_stat_statements, top 16 by total time):")
    let rows = try database.query(
        """
        SELECT calls, rows, round(total_exec_time::numeric, 1) AS total_ms, round(mean_exec_time::numeric, 3) AS mean_ms,
               regexp_replace(left(query, 110), '\\s+', ' ', 'g') AS q
        FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'bench')
        ORDER BY total_exec_time DESC LIMIT 16
        """)
    for row in rows {
        let calls = String(try row.int("calls"))
        let rowCount = String(try row.int("rows"))
        let total = try row.string("total_ms")
        let mean = try row.string("mean_ms")
        print(
            "  " + String(repeating: " ", count: max(0, 8 - calls.count)) + calls + " calls "
                + String(repeating: " ", count: max(0, 8 - rowCount.count)) + rowCount + " rows "
                + String(repeating: " ", count: max(0, 10 - total.count)) + total + " ms total "
                + String(repeating: " ", count: max(0, 8 - mean.count)) + mean + " ms mean  " + (try row.string("q")))
    }
}

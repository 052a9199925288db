// StoreBench: claim + complete throughput of the PostgreSQL store alone (no HTTP), on an embedded
// server with fsync ON. Shows what the database layer allows the end-to-end path (ControlBench).
//
//   swift run -c release StoreBench [--tasks 20000] [--drain 0] [--workers 8] [--batch 50] [--queues 0] [--capped-tasks 0]
//                                   [--held-tasks 0 [--analyze-after-holding]]
//   swift run -c release StoreBench --print-lease-statements
//
// --drain M stops once M tasks are claimed and completed (0: all of them), so a deep queue (--tasks 1000000) can be
// measured at batch 1 in minutes. Prints per-worker claim counts (fairness: max/min) and the p99 claim latency, and a
// RESULT line that scripts/bench-leases.sh reads. The control plane's vacuum of `tasks` runs beside the workers every
// second (`TaskVacuum`), as it does in every control plane: without it a deep drain walks an ever longer dead head.
// STOREBENCH_TIMELINE=1 prints every claim and completion (worker, start, durations, tasks) and the run's window in
// CLOCK_MONOTONIC seconds, for `perf record -k CLOCK_MONOTONIC ... ; perf report --time START,END`.
// --queues N configures N queues (weights; one more has a quota), so the claim's fast path filters out their
// tasks (configured queues are placed by the scheduler only; the bench job runs in the unconfigured default
// queue); --capped-tasks M adds M higher-priority queued tasks in the quota-limited queue that the fast path
// must skip on every claim (the scheduler, not running here, would place them).
// --held-tasks H: before the clock starts, one more worker leases H tasks of another job and never reports them, as
// a large cluster's other workers hold theirs. The statistics are taken before, when none ran (as the control plane
// takes them after a large submission); --analyze-after-holding takes them again after (docs/leases.md, item 27).

import BenchmarkSupport
import ClusterModel
import Control
import Foundation
import Postgres
import TestSupport

let taskCount = argument("--tasks", 20_000)
let workerCount = argument("--workers", 8)
let batch = argument("--batch", 50)
let drain = argument("--drain", 0) > 0 ? min(argument("--drain", 0), taskCount) : taskCount

// --print-lease-statements: the claim (at batch 64 unless --batch says) and the completion as text, for
// scripts/bench-lease-model.sh.
if CommandLine.arguments.contains("--print-lease-statements") {
    print(LeaseStatementTexts.claim(limit: CommandLine.arguments.contains("--batch") ? batch : 64))
    print(LeaseStatementTexts.separator)
    print(LeaseStatementTexts.completion)
    exit(0)
}

let directory = try TemporaryDirectory.make(prefix: "llmops-storebench-")
let server = EmbeddedPostgres(
    .init(
        directory: directory.path + "/pg", database: "bench",
        settings: ["fsync": "on", "synchronous_commit": "on"].merging(
            ProcessInfo.processInfo.environment["STOREBENCH_LOG_SLOW_MS"].map { ["log_min_duration_statement": $0] }
                ?? [:]
        ) { $1 }))
defer {
    if let keep = ProcessInfo.processInfo.environment["STOREBENCH_KEEP_LOG"] {
        try? FileManager.default.copyItem(atPath: server.logFile, toPath: keep)
    }
    try? server.destroy()
    directory.remove()
}
try server.start()
let pool = PostgresPool(conninfo: server.conninfo, maxConnections: max(2, workerCount + 1))
try Migrations.apply(to: pool)

let jobs = JobStore(pool: pool)
let leases = LeaseStore(pool: pool)
let workers = WorkerStore(pool: pool)
let workerIDs = try (0..<workerCount).map {
    try workers.register(name: "bench-\($0)", resources: Resources(cpuMillis: 64_000, memoryBytes: 1 << 40))
}

let queueCount = argument("--queues", 0)
let cappedTasks = argument("--capped-tasks", 0)
let benchQueue = "default"
if queueCount > 0 || cappedTasks > 0 {
    var configured = (0..<max(1, queueCount)).map { QueueSpec(name: "team-\($0)", weight: Double($0 + 1)) }
    configured.append(QueueSpec(name: "capped", weight: 1, quota: Resources(cpuMillis: 1000)))
    try QueueStore(pool: pool).upsert(configured)
    print("configured \(configured.count) queues (1 with a quota)")
}
if cappedTasks > 0 {
    try jobs.submit(
        NewJob(
            name: "capped", type: "noop", queue: "capped", priority: 10, resources: Resources(cpuMillis: 1000),
            tasks: (0..<cappedTasks).map { _ in NewTask() }))
    print("\(cappedTasks) higher-priority tasks wait in the quota-limited queue")
}

let heldTasks = argument("--held-tasks", 0)

let submitStart = Date()
let job = try jobs.submit(
    NewJob(
        name: "bench", type: "noop", queue: benchQueue, tasks: (0..<taskCount).map { NewTask(spec: #"{"i": \#($0)}"#) })
)
print("submitted \(taskCount) tasks in \(String(format: "%.2f", Date().timeIntervalSince(submitStart)))s")
// As the control plane does after a large submission (JobSubmission): without fresh statistics the claim query stays
// planned for an empty table (100,000 queued: 1,184 instead of ~6,300 tasks/s).
try ControlStore(pool: pool).refreshTaskStatistics()
if heldTasks > 0 {
    try holdTasks(heldTasks)
    if CommandLine.arguments.contains("--analyze-after-holding") {
        try ControlStore(pool: pool).refreshTaskStatistics()
    }
}

let completed = Locked(0)
let perWorker = Locked([Int](repeating: 0, count: workerCount))
let claimSeconds = Locked([Double]())
let timeline = ProcessInfo.processInfo.environment["STOREBENCH_TIMELINE"] != nil
let timelineRows = Locked([TimelineRow]())
let windowStartUptimeSeconds = ProcessInfo.processInfo.systemUptime
let start = Date()
let group = DispatchGroup()
for (index, w) in workerIDs.enumerated() {
    group.enter()
    Thread {
        defer { group.leave() }
        do {
            while completed.value < drain {
                let t0 = Date()
                let claimed = try leases.claimNext(for: w, limit: batch, leaseDurationSeconds: 300)
                let took = Date().timeIntervalSince(t0)
                claimSeconds.mutate { $0.append(took) }
                if claimed.isEmpty { break }
                // Flushed by the claim that follows, as the control plane does for a report that claims.
                _ = try leases.complete(
                    claimed.map { AttemptCompletion(attempt: $0.attempt, result: #"{"ok": true}"#) }, by: w,
                    flush: .byTheNextClaim)
                if timeline {
                    let row = TimelineRow(
                        worker: index, startSeconds: t0.timeIntervalSince(start), claimSeconds: took,
                        completeSeconds: Date().timeIntervalSince(t0) - took, tasks: claimed.count)
                    timelineRows.mutate { $0.append(row) }
                }
                completed.mutate { $0 += claimed.count }
                perWorker.mutate { $0[index] += claimed.count }
            }
        } catch {
            print("worker \(w) failed: \(error)")
        }
    }.start()
}
let vacuuming = Thread {
    while completed.value < drain && !Thread.current.isCancelled {
        do { try TaskVacuum(pool: pool).runOnce() } catch { print("vacuum of tasks failed: \(error)") }
        Thread.sleep(forTimeInterval: 1)
    }
}
vacuuming.start()
group.wait()
vacuuming.cancel()
let seconds = Date().timeIntervalSince(start)
let done = try pool.withConnection {
    try $0.queryOne("SELECT count(*) AS n FROM tasks WHERE state = 'succeeded'").int("n")
}
let state = try jobs.job(job.id)?.state.rawValue ?? "?"
print(
    "claimed+completed \(completed.value) tasks (\(done) succeeded in the database, job \(state)) with \(workerCount) workers, batch \(batch)"
)
print(
    String(
        format: "%.2fs, %.0f tasks/s (fsync on, 2 transactions per batch)", seconds, Double(completed.value) / seconds))
if timeline {
    print(String(format: "TL window %.6f %.6f", windowStartUptimeSeconds, ProcessInfo.processInfo.systemUptime))
    for r in timelineRows.value.sorted(by: { $0.startSeconds < $1.startSeconds }) {
        print(
            String(
                format: "TL w%d at %.1fms claim %.1fms complete %.1fms n=%d", r.worker, r.startSeconds * 1000,
                r.claimSeconds * 1000, r.completeSeconds * 1000, r.tasks))
    }
}
let claims = claimSeconds.value.sorted()
let p99ClaimMillis = claims.isEmpty ? 0 : claims[min(claims.count - 1, Int(Double(claims.count) * 0.99))] * 1000
let counts = perWorker.value.sorted()
let fairness = counts.first.map { Double(counts.last ?? 0) / Double(max(1, $0)) } ?? 0
print("  claims: \(claims.count), p99 \(String(format: "%.1f", p99ClaimMillis)) ms; per worker: \(counts)")
print(
    "RESULT tasks_per_s=\(String(format: "%.0f", Double(completed.value) / seconds)) p99_claim_ms=\(String(format: "%.1f", p99ClaimMillis)) fairness=\(String(format: "%.2f", fairness)) per_worker=\(counts.map(String.init).joined(separator: ","))"
)
pool.close()

/// Leases `count` tasks of a higher-priority job to one more worker that never reports them (`--held-tasks`), after
/// the statistics were taken: as in a cluster, the planner's picture of the running tasks lags behind.
func holdTasks(_ count: Int) throws {
    let holder = try workers.register(
        name: "holder", resources: Resources(cpuMillis: Int64(1_000 * count), memoryBytes: 1 << 50))
    try jobs.submit(
        NewJob(name: "held", type: "noop", priority: 20, tasks: (0..<count).map { _ in NewTask(spec: "{}") }))
    var held = 0
    while held < count {
        let leased = try leases.claimNext(for: holder, limit: min(1000, count - held), leaseDurationSeconds: 3600)
        precondition(!leased.isEmpty, "the holder could lease only \(held) of \(count) tasks")
        held += leased.count
    }
    print("\(held) tasks held by a worker that never reports them")
}

/// One claim and its completion (STOREBENCH_TIMELINE).
struct TimelineRow {
    var worker: Int
    var startSeconds: Double
    var claimSeconds: Double
    var completeSeconds: Double
    var tasks: Int
}

final class Locked<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: T
    init(_ value: T) { storage = value }
    var value: T {
        lock.lock()
        defer { lock.unlock() }
        return storage
    }
    func mutate(_ body: (inout T) -> Void) {
        lock.lock()
        body(&storage)
        lock.unlock()
    }
}

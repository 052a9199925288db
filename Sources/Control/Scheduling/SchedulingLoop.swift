import Foundation
import Postgres
import Primitives
import Scheduler

/// Runs scheduling passes while this replica is the leader. A pass is triggered by events (a task became
/// runnable or finished, a job was submitted, a worker registered — all arrive as wake-ups through
/// LISTEN/NOTIFY) and, as a safety net, by a timer. Each pass reads a snapshot and commits its placements and
/// pending reasons in one transaction, reading a bounded slice of the queue (`SchedulingPassLimits`).
final class SchedulingLoop: Sendable {
    private let pool: PostgresPool
    private let signals: StoreSignals
    /// Used only by the loop's own thread; behind a lock so the loop can be checked Sendable (never contended).
    private let election: Locked<LeaderElection>
    private let scheduler: Scheduler
    private let passLimits: SchedulingPassLimits
    private let intervalSeconds: Double
    private let log: @Sendable (String) -> Void
    private let stopRequested = Locked(false)
    /// The fencing epoch while this replica leads (`LeaderElection`), nil while it does not.
    private let leadingEpoch = Locked<Int64?>(nil)
    /// Read by the readiness probe from server threads.
    var isLeader: Bool { leadingEpoch.current != nil }
    private let done = DispatchSemaphore(value: 0)

    private let replicaName: String
    /// A committed pass and the epoch it was committed under: what the pool autoscaler decides from.
    struct Pass: Sendable {
        var epoch: Int64
        var snapshot: ClusterSnapshot
        var decisions: SchedulingDecisions
    }
    private let latestPass = Locked<Pass?>(nil)
    /// The last committed pass while this replica still leads with its epoch; nil otherwise.
    var lastPass: Pass? {
        let epoch = leadingEpoch.current
        return latestPass.withLock { pass in pass.flatMap { $0.epoch == epoch ? $0 : nil } }
    }
    /// Pass durations and the last pass's pending reasons, for `/metrics`.
    private let telemetry: ControlTelemetry

    init(
        pool: PostgresPool, conninfo: String, signals: StoreSignals, intervalSeconds: Double, replicaName: String,
        scheduler: Scheduler = Scheduler(), passLimits: SchedulingPassLimits = .standard,
        telemetry: ControlTelemetry = ControlTelemetry(), log: @escaping @Sendable (String) -> Void
    ) {
        self.telemetry = telemetry
        self.passLimits = passLimits
        self.replicaName = replicaName
        self.pool = pool
        self.signals = signals
        self.election = Locked(LeaderElection(conninfo: conninfo, replicaName: replicaName))
        self.scheduler = scheduler
        self.intervalSeconds = intervalSeconds
        self.log = log
    }

    func start() {
        let thread = Thread { [self] in
            run()
            done.signal()
        }
        thread.name = "scheduling-loop"
        thread.start()
    }

    func stop() {
        // The loop notices within one interval.
        stopRequested.withLock { $0 = true }
        done.wait()
    }

    private var shouldStop: Bool { stopRequested.current }

    private func run() {
        var lastError = ""
        while !shouldStop {
            let seen = signals.generation(StoreChannel.taskRunnable)
            if leadOnce() {
                do {
                    try passOnce()
                    lastError = ""
                } catch let fenced as LeadershipFenced {
                    log("\(fenced)")
                    stopLeading()
                } catch {
                    let text = "\(error)"
                    if text != lastError { log("scheduling pass failed (will retry): \(text)") }
                    lastError = text
                }
            }
            // Followers retry the lock on the timer; the leader also wakes on every event.
            signals.wait(StoreChannel.taskRunnable, after: seen, timeoutSeconds: intervalSeconds)
        }
        stopLeading()
    }

    /// Holds or tries to take the leadership; true while this replica leads.
    func leadOnce() -> Bool {
        let epoch = election.withLock { $0.holdOrAcquire() }
        let previous = leadingEpoch.withLock { current in
            defer { current = epoch }
            return current
        }
        if (epoch != nil) != (previous != nil) {
            log(
                epoch.map { "this replica now leads scheduling (epoch \($0))" }
                    ?? "this replica no longer leads scheduling")
        }
        return epoch != nil
    }

    private func stopLeading() {
        election.withLock { $0.resign() }
        leadingEpoch.withLock { $0 = nil }
        telemetry.forgetPending()
    }

    /// One pass under the epoch this replica leads with (nothing when it does not lead). A pass of a replica whose
    /// epoch was superseded throws `LeadershipFenced` and writes nothing.
    func passOnce() throws {
        guard let epoch = leadingEpoch.current else { return }
        let started = DispatchTime.now().uptimeNanoseconds
        var result = "error"
        defer {
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            telemetry.schedulingPassDuration.observe(seconds, [result])
        }
        let (snapshot, decisions) = try pool.transaction { c -> (ClusterSnapshot, SchedulingDecisions) in
            let previous = try SchedulingStore.reservations(c, fencedBy: epoch)
            _ = try SchedulingStore.unplaceFromDeadWorkers(c)
            let read = try SchedulingStore.read(c, previousReservations: previous, limits: passLimits)
            let decisions = scheduler.schedule(read.snapshot)
            _ = try SchedulingStore.commit(decisions, leftToClaims: read.leftToClaims(by: decisions), c)
            try SchedulingStore.saveReservations(decisions.reservations, leader: replicaName, c)
            return (read.snapshot, decisions)
        }
        result = "committed"
        telemetry.observePending(decisions, of: snapshot)
        latestPass.withLock { $0 = Pass(epoch: epoch, snapshot: snapshot, decisions: decisions) }
    }
}

import APITypes
import ClusterModel
import Foundation
import Postgres
import Scheduler

/// The scheduler's view of the database: reads a `ClusterSnapshot` and commits a pass's decisions.
/// Both happen inside one transaction on the leader, so a pass never acts on a half-changed cluster.
struct SchedulingStore {
    /// The snapshot alone (`read`), for readers that commit nothing.
    static func snapshot(
        _ c: PostgresConnection, previousReservations: [Reservation], limits: SchedulingPassLimits = .standard
    ) throws -> ClusterSnapshot {
        try read(c, previousReservations: previousReservations, limits: limits).snapshot
    }

    /// Reads alive workers, what holds resources now (running attempts, and queued tasks already placed on a
    /// worker but not yet claimed), the jobs that still have unplaced runnable tasks, and the queues' weights
    /// and quotas. Of the unplaced tasks it reads only what `limits` allows; the rest wait for later passes.
    /// Also says which of those jobs the claims take themselves (`SchedulingRead.claimedDirectly`).
    static func read(
        _ c: PostgresConnection, previousReservations: [Reservation], limits: SchedulingPassLimits = .standard
    ) throws -> SchedulingRead {
        let now = try c.queryOne(SchedulerStateSQL.now).double("now")
        let workersAndKinds = try c.query(WorkerSQL.alive).map { row in
            (try WorkerSnapshot(row: row), kinds: try StoreJSON.strings(try row.string("kinds_json"), column: "kinds"))
        }
        let allocations = try c.query(TaskSQL.allocations).map(RunningAllocation.init(row:))
        var jobs: [Int64: PendingJob] = [:]
        var kinds: [Int64: String] = [:]
        var placedBySchedulerOnly: Set<Int64> = []
        for row in try c.query(TaskSQL.unplaced, [.int(Int64(limits.jobs)), .int(Int64(limits.tasksPerJob))]) {
            let jobID = try row.int64("job_id")
            if try row.bool("reads_remote") { placedBySchedulerOnly.insert(jobID) }
            let notBefore = try row.double("not_before")
            if kinds[jobID] == nil { kinds[jobID] = try row.string("type") }
            if var job = jobs[jobID] {
                job.tasks.append(TaskID(try row.int64("id")))
                job.notBefore = max(job.notBefore ?? notBefore, notBefore)
                jobs[jobID] = job
            } else {
                jobs[jobID] = PendingJob(
                    id: JobID(jobID), queue: try row.string("queue"), priority: try row.int("priority"),
                    submissionSequence: jobID, tasks: [TaskID(try row.int64("id"))],
                    isGang: try row.bool("gang"), perTask: try row.resources(),
                    nodeSelector: try StoreJSON.labels(try row.string("node_selector"), column: "node_selector"),
                    notBefore: notBefore > now ? notBefore : nil)
            }
        }
        // Train jobs consume training tokens, so their queue's `tokensPerDay` applies to them.
        for (id, kind) in kinds where kind == TrainJobKinds.trainName { jobs[id]?.trainsTokens = true }
        try DecontaminationFactsReader.add(c, to: &jobs, kinds: kinds)
        let workers = ExecutorLabels.apply(workersAndKinds, to: &jobs, kinds: kinds)
        try addWantedShards(c, to: &jobs, cachedBy: workers)
        // Configured queues (`kind: Queue`) bring their weight and quota; a queue that jobs name without
        // a configuration keeps the defaults (weight 1, no quota).
        let configured = Dictionary(uniqueKeysWithValues: try QueueStore.list(c).map { ($0.name, $0.configuration) })
        let queues = Set(jobs.values.map(\.queue)).union(allocations.map(\.queue)).sorted().map { name in
            configured[name] ?? QueueSpec(name: name)
        }
        let snapshot = ClusterSnapshot(
            now: now, workers: workers, allocations: allocations, pendingJobs: jobs.values.sorted { $0.id < $1.id },
            queues: queues, previousReservations: previousReservations,
            tokensConsumedToday: try TrainingTokens.consumedToday(c))
        let claimedDirectly = snapshot.pendingJobs.filter { job in
            !job.isGang && !placedBySchedulerOnly.contains(job.id.rawValue) && configured[job.queue] == nil
        }
        return SchedulingRead(snapshot: snapshot, claimedDirectly: Set(claimedDirectly.map(\.id)))
    }

    /// Data locality: a job reading remote datasets wants the shards of those datasets that some worker
    /// caches (a worker caches `<location>/<shard>.bin`), so the scheduler prefers the workers holding most.
    private static func addWantedShards(
        _ c: PostgresConnection, to jobs: inout [Int64: PendingJob], cachedBy workers: [WorkerSnapshot]
    ) throws {
        var cachedByLocation: [Substring: Set<String>] = [:]
        for worker in workers {
            for url in worker.cachedShards {
                guard let slash = url.lastIndex(of: "/") else { continue }
                cachedByLocation[url[..<slash], default: []].insert(url)
            }
        }
        guard !cachedByLocation.isEmpty else { return }
        let readers = jobs.values.map(\.id.rawValue)
        for row in try c.query(JobSQL.readsLocations, [.intArray(readers)]) {
            let id = try row.int64("id")
            var wanted: Set<String> = []
            for location in try StoreJSON.strings(try row.string("reads"), column: "reads_locations") {
                wanted.formUnion(cachedByLocation[Substring(location)] ?? [])
            }
            jobs[id]?.wantedShards = wanted.sorted()
        }
    }

    /// Commits placements (only onto tasks still queued and unplaced, so a pass racing a claim changes
    /// nothing twice) and the pending reasons; wakes the workers' long-polls. Returns how many tasks were placed.
    /// The placements of jobs in `leftToClaims` are not written: the claims take those tasks themselves
    /// (`SchedulingRead.leftToClaims`), and their jobs' pending reasons are cleared as for placed ones.
    static func commit(
        _ decisions: SchedulingDecisions, leftToClaims: Set<JobID> = [], _ c: PostgresConnection
    ) throws -> Int {
        let placements = try stillFitting(decisions.placements.filter { !leftToClaims.contains($0.job) }, c)
        let claimable = decisions.placements.filter { leftToClaims.contains($0.job) }
        var placed = 0
        if !placements.isEmpty {
            placed = try c.query(
                TaskSQL.commitPlacements,
                [
                    .text(arrayLiteral(placements.map(\.task.rawValue))),
                    .text(arrayLiteral(placements.map(\.worker.rawValue))),
                ]
            ).count
        }
        let placedJobs = Set((placements + claimable).map(\.job.rawValue))
        if !placedJobs.isEmpty {
            try c.execute(JobSQL.clearPendingReasonsOfPlaced, [.text(arrayLiteral(placedJobs.sorted()))])
        }
        if !decisions.pending.isEmpty {
            try c.execute(
                JobSQL.setPendingReasons,
                [
                    .text(arrayLiteral(decisions.pending.map(\.job.rawValue))),
                    .text(textArrayLiteral(decisions.pending.map(PendingText.render))),
                ])
        }
        for preemption in decisions.preemptions {
            // Only the live attempt, once: a victim already being preempted keeps its first deadline.
            try c.execute(
                AttemptSQL.markPreempting,
                [
                    .int(preemption.victim.rawValue), .double(preemption.gracePeriodEndsAt),
                    .text(PreemptionText.describe(preemption)),
                ])
        }
        if placed > 0 { try c.notify(channel: StoreChannel.taskRunnable, payload: "placed") }
        return placed
    }

    /// The placements that still fit their workers now. The pass decided on a snapshot; a claim may have
    /// taken room on a worker since (a task claimed directly by its poll). With the workers locked (claims
    /// wait meanwhile), each placement must fit what its worker has free; a gang keeps all its members or
    /// none. What is dropped stays queued for the next pass.
    static func stillFitting(_ placements: [Placement], _ c: PostgresConnection) throws -> [Placement] {
        guard !placements.isEmpty else { return [] }
        let workers = Array(Set(placements.map(\.worker.rawValue))).sorted()
        try WorkerCapacity.lock(workers, c)
        let initial = try WorkerCapacity.free(of: workers, c)
        var needs: [Int64: (resources: Resources, gang: Bool)] = [:]
        for row in try c.query(TaskSQL.needs, [.intArray(placements.map(\.task.rawValue))]) {
            needs[try row.int64("id")] = (try row.resources(), try row.bool("gang"))
        }
        func fitting(excludingJobs excluded: Set<Int64>) -> (kept: [Placement], brokenGangs: Set<Int64>) {
            var free = initial
            var kept: [Placement] = []
            var broken: Set<Int64> = []
            for p in placements where !excluded.contains(p.job.rawValue) {
                guard let need = needs[p.task.rawValue], let room = free[p.worker.rawValue] else { continue }
                if need.resources.fits(in: room) {
                    free[p.worker.rawValue] = room - need.resources
                    kept.append(p)
                } else if need.gang {
                    broken.insert(p.job.rawValue)
                }
            }
            return (kept, broken)
        }
        let first = fitting(excludingJobs: [])
        // Dropping whole gangs only frees room, so every other placement that fit still fits.
        return first.brokenGangs.isEmpty ? first.kept : fitting(excludingJobs: first.brokenGangs).kept
    }

    /// The reservations the previous pass (of any replica) kept, locking the row so passes never interleave.
    /// Throws `LeadershipFenced` when the leader epoch is no longer `epoch`: a later leader exists, and this pass
    /// must write nothing (its transaction rolls back).
    static func reservations(_ c: PostgresConnection, fencedBy epoch: Int64) throws -> [Reservation] {
        let row = try c.queryOne(SchedulerStateSQL.lockReservations)
        let current = try row.int64("leader_epoch")
        guard current == epoch else { throw LeadershipFenced(heldEpoch: epoch, currentEpoch: current) }
        let text = try row.string("r")
        return (try? JSONDecoder().decode([Reservation].self, from: Data(text.utf8))) ?? []
    }

    static func saveReservations(_ reservations: [Reservation], leader: String, _ c: PostgresConnection) throws {
        let text = String(decoding: try JSONEncoder().encode(reservations), as: UTF8.self)
        try c.execute(SchedulerStateSQL.saveReservations, [.json(text), .text(leader)])
    }

    /// Gang tasks placed on a worker that died before claiming them go back to the pool.
    static func unplaceFromDeadWorkers(_ c: PostgresConnection) throws -> Int {
        try c.execute(TaskSQL.unplaceFromDeadWorkers)
    }

    private static func arrayLiteral(_ values: [Int64]) -> String {
        "{" + values.map(String.init).joined(separator: ",") + "}"
    }

    /// A PostgreSQL text[] literal, every element quoted and escaped (sent as a bound parameter, never spliced).
    private static func textArrayLiteral(_ values: [String]) -> String {
        "{"
            + values.map {
                "\"" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                    + "\""
            }
            .joined(separator: ",") + "}"
    }
}

/// Pending reasons as stored for people: the scheduler's text, with its epoch-second times shown as UTC
/// timestamps (the snapshot's clock is the database's `now()` in Unix seconds).
enum PendingText {
    static func render(_ reason: PendingReason) -> String {
        reason.causes.map { cause in
            switch cause {
            case .backoff(let until):
                return "retrying after backoff, not before \(timestamp(until))"
            case .waitingForPreemptedTasks(let count, let ends):
                return
                    "preempted \(count) task\(count == 1 ? "" : "s") to make room; waiting for \(count == 1 ? "it" : "them") to checkpoint (grace period ends \(timestamp(ends)))"
            default:
                return PendingReasonText.render(cause)
            }
        }.joined(separator: "; ")
    }

    private static func timestamp(_ seconds: Double) -> String {
        Date(timeIntervalSince1970: seconds).formatted(Date.ISO8601FormatStyle())
    }
}

enum PreemptionText {
    static func describe(_ preemption: Preemption) -> String {
        switch preemption.reason {
        case .higherPriority(let preemptor, let victim):
            return "preempted for job \(preemption.preemptor) (priority \(preemptor) > \(victim))"
        case .reclaim(let claiming, let victimQueue, let share, let fair):
            return
                "queue \(claiming) reclaims capacity borrowed by queue \(victimQueue) (\(Int(share * 100))% vs fair \(Int(fair * 100))%)"
        }
    }
}

/// A task runs only on a worker with an executor for its kind. The scheduler knows labels, not kinds, so the
/// snapshot says it with labels, and only for kinds that some alive worker lacks (in the usual cluster every
/// worker runs every kind and nothing changes): such a job requires `llmops.executor/<kind>=yes`, which the
/// workers running that kind carry (a worker that registered no kinds takes any). Its pending reason then names
/// the kind no free worker runs.
enum ExecutorLabels {
    static let prefix = "llmops.executor/"
    static let value = "yes"

    static func key(forKind kind: String) -> String { prefix + kind }

    /// The workers, labelled; adds the selector to the jobs (by id) whose kind (`kinds`) is not run everywhere.
    static func apply(
        _ workers: [(WorkerSnapshot, kinds: [String])], to jobs: inout [Int64: PendingJob],
        kinds: [Int64: String]
    ) -> [WorkerSnapshot] {
        let restricted = Set(kinds.values).filter { kind in
            workers.contains { !$0.kinds.isEmpty && !$0.kinds.contains(kind) }
        }
        guard !restricted.isEmpty else { return workers.map(\.0) }
        for (job, kind) in kinds where restricted.contains(kind) { jobs[job]?.nodeSelector[key(forKind: kind)] = value }
        return workers.map { worker, runs in
            var labelled = worker
            for kind in restricted where runs.isEmpty || runs.contains(kind) {
                labelled.labels[key(forKind: kind)] = value
            }
            return labelled
        }
    }
}

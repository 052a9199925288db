import APITypes
import ClusterModel
import Foundation
import Postgres
import TestSupport
import XCTest

@testable import Control

final class StoreLeaseTests: StoreTestCase {
    func testClaimCompleteSucceedsJobAndRecordsEverything() throws {
        let w = try worker()
        let job = try jobs.submit(
            NewJob(name: "j", type: "tokenize", tasks: (0..<3).map { NewTask(spec: #"{"n": \#($0)}"#) }))
        let claimed = try leases.claimNext(for: w, limit: 10, leaseDurationSeconds: 30)
        XCTAssertEqual(claimed.map(\.taskIndex), [0, 1, 2])
        XCTAssertEqual(claimed.map(\.attemptNumber), [1, 1, 1])
        XCTAssertEqual(claimed[2].spec, #"{"n": 2}"#)
        XCTAssertEqual(claimed[0].jobType, "tokenize")
        XCTAssertGreaterThan(claimed[0].leaseDeadline, Date().addingTimeInterval(20))
        XCTAssertEqual(try leases.claimNext(for: w, limit: 10), [], "nothing left to claim")

        let outcomes = try leases.complete(
            claimed.map { AttemptCompletion(attempt: $0.attempt, result: #"{"tokens": 7}"#) }, by: w)
        XCTAssertEqual(outcomes.count, 3)
        XCTAssertTrue(outcomes.values.allSatisfy { $0 == .applied })
        let record = try XCTUnwrap(try jobs.job(job.id))
        XCTAssertEqual(record.state, .succeeded)
        XCTAssertNotNil(record.finishedAt)
        XCTAssertEqual(try jobs.tasks(of: job.id).map(\.result), Array(repeating: #"{"tokens": 7}"#, count: 3))
        let jobEvents = try events.list(job: job.id).filter { $0.entity == "job" }.map(\.newState)
        XCTAssertEqual(jobEvents, ["pending", "running", "succeeded"])
        let trail = try events.list(job: job.id)
        XCTAssertEqual(
            trail.filter { $0.entity == "tasks" }.map { "\($0.newState) \($0.taskIDs ?? [])" },
            ["running", "succeeded"].map { "\($0) \(claimed.map(\.task.rawValue).sorted())" },
            "one event per batch, naming its tasks")
        XCTAssertEqual(trail.filter { $0.entity == "task" }.map(\.newState), ["queued", "queued", "queued"])
    }

    func testRepeatedReportIsANoOpAndStaleReportChangesNothing() throws {
        let w = try worker()
        let job = try jobs.submit(
            NewJob(name: "j", type: "t", retryPolicy: RetryPolicy(maxAttempts: 3, initialBackoffSeconds: 60)))
        let first = try XCTUnwrap(try leases.claimNext(for: w, leaseDurationSeconds: 0.05).first)
        Thread.sleep(forTimeInterval: 0.1)
        let expired = try leases.expireLeases()
        XCTAssertEqual(expired.requeued, [first.task])
        XCTAssertEqual(expired.workers, [w])
        let task = try XCTUnwrap(try jobs.task(first.task))
        XCTAssertEqual(task.state, .queued)
        XCTAssertGreaterThan(task.notBefore, Date().addingTimeInterval(50), "backoff of the retry policy")
        XCTAssertEqual(try leases.claimNext(for: w), [], "not runnable before its backoff ends")

        let eventsBefore = try sqlInt("SELECT count(*) FROM events")
        XCTAssertThrowsError(try leases.complete(attempt: first.attempt, by: w)) { error in
            XCTAssertEqual(error as? StoreError, .staleAttempt(first.attempt, state: "expired"))
            XCTAssertEqual((error as? StoreError)?.httpStatus, 409)
        }
        XCTAssertThrowsError(try leases.fail(attempt: first.attempt, by: w, error: "late"))
        XCTAssertEqual(try jobs.task(first.task)?.state, .queued, "the stale report changed nothing")
        XCTAssertEqual(try sqlInt("SELECT count(*) FROM events"), eventsBefore)

        try makeRunnableNow(job.id)
        let second = try XCTUnwrap(try leases.claimNext(for: w).first)
        XCTAssertEqual(second.task, first.task)
        XCTAssertEqual(second.attemptNumber, 2)
        try leases.complete(attempt: second.attempt, by: w, result: #"{"ok": true}"#)
        try leases.complete(attempt: second.attempt, by: w, result: #"{"ok": true}"#) // retried report: no-op success
        XCTAssertEqual(
            try leases.complete([AttemptCompletion(attempt: second.attempt)], by: w)[second.attempt], .alreadyApplied)
        XCTAssertEqual(
            try sqlInt(
                "SELECT coalesce(sum(cardinality(task_ids)), 0) FROM events WHERE entity = 'tasks' AND new_state = 'succeeded'"
            ), 1)
        XCTAssertEqual(try jobs.job(job.id)?.state, .succeeded)
        XCTAssertEqual(try jobs.attempts(of: first.task).map(\.state), [.expired, .succeeded])
    }

    func testFailuresBackOffExponentiallyThenFailTheJob() throws {
        let w = try worker()
        let policy = RetryPolicy(maxAttempts: 3, initialBackoffSeconds: 10, maxBackoffSeconds: 1000, multiplier: 3)
        let job = try jobs.submit(NewJob(name: "flaky", type: "t", retryPolicy: policy))
        var delays: [Double] = []
        for attempt in 1...3 {
            try makeRunnableNow(job.id)
            let lease = try XCTUnwrap(try leases.claimNext(for: w).first, "attempt \(attempt)")
            XCTAssertEqual(lease.attemptNumber, attempt)
            let before = Date()
            try leases.fail(attempt: lease.attempt, by: w, error: "oops \(attempt)")
            if let task = try jobs.task(lease.task), task.state == .queued {
                delays.append(task.notBefore.timeIntervalSince(before))
            }
        }
        XCTAssertEqual(delays.count, 2)
        XCTAssertEqual(delays[0], 10, accuracy: 2)
        XCTAssertEqual(delays[1], 30, accuracy: 2)
        XCTAssertEqual(try taskStates(job.id), [.failed])
        XCTAssertEqual(try jobs.job(job.id)?.state, .failed)
        XCTAssertEqual(try jobs.tasks(of: job.id).first?.error, "oops 3")
    }

    func testNonRetryableFailureFailsAtOnceAndMaxAttemptsAppliesToExpiry() throws {
        let w = try worker()
        let fatal = try jobs.submit(NewJob(name: "fatal", type: "t", retryPolicy: RetryPolicy(maxAttempts: 5)))
        let lease = try XCTUnwrap(try leases.claimNext(for: w).first)
        try leases.fail(attempt: lease.attempt, by: w, error: "bad input", retryable: false)
        XCTAssertEqual(try taskStates(fatal.id), [.failed])

        let once = try jobs.submit(NewJob(name: "once", type: "t", retryPolicy: RetryPolicy(maxAttempts: 1)))
        _ = try XCTUnwrap(try leases.claimNext(for: w, leaseDurationSeconds: 0.05).first)
        Thread.sleep(forTimeInterval: 0.1)
        let expired = try leases.expireLeases()
        XCTAssertEqual(expired.failed.count, 1)
        XCTAssertEqual(try jobs.job(once.id)?.state, .failed)
    }

    func testClaimRespectsCapacityLabelsGangsAndPriority() throws {
        let small = try workers.register(
            name: "small", resources: Resources(cpuMillis: 2000, memoryBytes: 8 << 30), labels: ["zone": "a"])
        let gpu = try workers.register(
            name: "gpu", resources: Resources(cpuMillis: 16000, memoryBytes: 64 << 30, accelerators: ["gpu-h100": 2]),
            labels: ["zone": "b"])
        try jobs.submit(
            NewJob(
                name: "cpu", type: "t", priority: 1, resources: Resources(cpuMillis: 1000),
                tasks: (0..<6).map { _ in NewTask() }))
        try jobs.submit(
            NewJob(
                name: "gpu-job", type: "t", priority: 0,
                resources: Resources(cpuMillis: 1000, accelerators: ["gpu-h100": 1]),
                tasks: (0..<3).map { _ in NewTask() }))
        try jobs.submit(NewJob(name: "zone-b", type: "t", priority: 9, nodeSelector: ["zone": "b"]))
        let gang = try jobs.submit(NewJob(name: "gang", type: "train", priority: 10, replicas: 2))

        let onSmall = try leases.claimNext(for: small, limit: 10)
        XCTAssertEqual(
            onSmall.map(\.jobName), ["cpu", "cpu"], "2 cpus fit 2 one-cpu tasks; no gpu, wrong zone, no gang")
        XCTAssertEqual(try leases.claimNext(for: small, limit: 10), [], "full")

        let onGPU = try leases.claimNext(for: gpu, limit: 10)
        XCTAssertEqual(
            onGPU.map(\.jobName), ["zone-b", "cpu", "cpu", "cpu", "cpu", "gpu-job", "gpu-job"],
            "priority order; 2 gpus fit 2 gpu tasks")

        // Gang tasks run only where the scheduler placed them.
        let gangTasks = try jobs.tasks(of: gang.id)
        let placements = PlacementStore(pool: pool)
        XCTAssertEqual(try placements.queuedTasks().filter { $0.job == gang.id }.map(\.replicas), [2, 2])
        XCTAssertEqual(
            try placements.place(Dictionary(uniqueKeysWithValues: gangTasks.map { ($0.id, Optional(small)) })),
            gangTasks.map(\.id))
        XCTAssertEqual(try leases.claimNext(for: gpu, limit: 10).filter { $0.job == gang.id }, [], "placed elsewhere")
        XCTAssertEqual(Set(try leases.claimNext(for: small, limit: 10).map(\.task)), Set(gangTasks.map(\.id)))

        // Completing frees capacity, accelerators included.
        XCTAssertEqual(try leases.claimNext(for: gpu, limit: 10), [], "both gpus busy")
        try leases.complete(attempt: onGPU[5].attempt, by: gpu)
        XCTAssertEqual(try leases.claimNext(for: gpu, limit: 10).map(\.jobName), ["gpu-job"])
    }

    func testTasksPlacedOnAWorkerReserveItsCapacityAgainstUnplacedOnes() throws {
        // Found by CI: a one-cpu worker polled while the scheduler had placed one task on it, and got that
        // task plus an unplaced one, because only running tasks counted as used.
        let w = try workers.register(name: "one-slot", resources: Resources(cpuMillis: 1000, memoryBytes: 1 << 30))
        let placed = try jobs.submit(
            NewJob(name: "placed", type: "t", priority: 0, resources: Resources(cpuMillis: 1000)))
        let unplaced = try jobs.submit(
            NewJob(name: "unplaced", type: "t", priority: 5, resources: Resources(cpuMillis: 1000)))
        let placedTask = try XCTUnwrap(try jobs.tasks(of: placed.id).first)
        XCTAssertEqual(try PlacementStore(pool: pool).place([placedTask.id: w]), [placedTask.id])

        let claimed = try leases.claimNext(for: w, limit: 4)
        XCTAssertEqual(
            claimed.map(\.jobName), ["placed"], "the reservation, not the higher-priority unplaced task on top of it")
        XCTAssertEqual(try leases.claimNext(for: w, limit: 4), [], "full")
        try leases.complete(attempt: claimed[0].attempt, by: w)
        XCTAssertEqual(try leases.claimNext(for: w, limit: 4).map(\.job), [unplaced.id])
    }

    func testTasksReadingRemoteDatasetsWaitForTheSchedulerAndHeartbeatsRecordCaches() throws {
        let w = try worker()
        let remote = try jobs.submit(
            NewJob(name: "remote", type: "verify", priority: 9, readsLocations: ["http://h/web"]))
        try jobs.submit(NewJob(name: "local", type: "verify"))
        XCTAssertEqual(
            try leases.claimNext(for: w, limit: 4).map(\.jobName), ["local"],
            "no fast path for readers of remote shards")
        let task = try XCTUnwrap(try jobs.tasks(of: remote.id).first)
        XCTAssertEqual(try PlacementStore(pool: pool).place([task.id: w]), [task.id])
        XCTAssertEqual(
            try leases.claimNext(for: w, limit: 4).map(\.job), [remote.id], "placed by the scheduler: claimed")

        XCTAssertEqual(try workers.cachedShards(of: w), [])
        _ = try workers.heartbeat(w, cachedShards: ["http://h/web/web-00001.bin", "http://h/web/web-00000.bin"])
        _ = try workers.heartbeat(w) // no list: the one on record stays
        XCTAssertEqual(try workers.cachedShards(of: w), ["http://h/web/web-00001.bin", "http://h/web/web-00000.bin"])
        _ = try workers.heartbeat(w, cachedShards: (0..<5000).map { "http://h/big/s\($0).bin" })
        XCTAssertEqual(try workers.cachedShards(of: w).count, WorkerStore.maxCachedShards, "bounded")
        // The worker registers again, proving who it is with its token (issue 16: a live name needs that proof).
        _ = try pool.withConnection {
            try $0.execute("UPDATE workers SET token_hash = 'w1-hash' WHERE id = $1", [w.sql])
        }
        try workers.register(
            name: "w1", resources: Resources(cpuMillis: 8000, memoryBytes: 8 << 30), tokenHash: "w1-hash")
        XCTAssertEqual(
            try workers.cachedShards(of: w), [], "a new registration starts with no list until its first heartbeat")
    }

    func testRemoteDatasetLocationsAreFoundInPlannedTaskSpecs() throws {
        let specs: [AnyJSON] = [
            ["inputs": [["dataset": "web", "location": "https://data.example/web/"], ["location": "/shared/code"]]],
            ["sources": [["name": "a.txt", "location": "https://files.example/a.txt"]], "datasetDirectory": "/d"],
            ["data": [["location": "cp://datasets/docs"]]],
            [
                "settings": ["data": [["location": "http://h/a"]], "initFrom": ["location": "cp://blobs/abc"]],
                "location": "http://h/a//",
            ],
        ]
        XCTAssertEqual(
            RemoteDatasetLocations.read(by: specs), ["cp://datasets/docs", "http://h/a", "https://data.example/web"])
        XCTAssertEqual(RemoteDatasetLocations.read(by: [["output": "/x"]]), [])
    }

    func testWorkerRecordsShowWhatTheirRunningAndPlacedTasksHold() throws {
        let w = try workers.register(
            name: "gpu", resources: Resources(cpuMillis: 8000, memoryBytes: 8 << 30, accelerators: ["gpu-h100": 4]),
            version: "1.2.3", kinds: ["train", "eval"])
        try jobs.submit(NewJob(name: "tokenize", type: "tokenize", resources: Resources(cpuMillis: 1000)))
        try jobs.submit(
            NewJob(
                name: "run", type: "eval",
                resources: Resources(cpuMillis: 2000, memoryBytes: 1 << 30, accelerators: ["gpu-h100": 1]),
                tasks: [NewTask(), NewTask()]))
        let placed = try jobs.submit(
            NewJob(
                name: "placed", type: "t", replicas: 2,
                resources: Resources(cpuMillis: 1000, accelerators: ["gpu-h100": 2])))
        XCTAssertEqual(
            try leases.claimNext(for: w, limit: 4).map(\.jobName), ["run", "run"], "no tokenize executor on this worker"
        )
        let member = try XCTUnwrap(try jobs.tasks(of: placed.id).first)
        XCTAssertEqual(try PlacementStore(pool: pool).place([member.id: w]), [member.id])
        let record = try XCTUnwrap(try workers.worker(w))
        XCTAssertEqual(
            record.allocated, Resources(cpuMillis: 5000, memoryBytes: 2 << 30, accelerators: ["gpu-h100": 4]))
        XCTAssertEqual(record.runningTasks, 2)
        XCTAssertEqual(record.version, "1.2.3")
        XCTAssertEqual(record.kinds, ["train", "eval"])
    }

    func testHeartbeatsExtendOnlyTheAttemptsTheWorkerListsSoALostAssignmentIsRetried() throws {
        // Found by a control-plane restart test under load: a poll's claim committed, the control plane died
        // before the response reached the worker, and the worker's heartbeats kept that attempt alive forever.
        let w = try worker()
        try jobs.submit(NewJob(name: "held", type: "t"))
        try jobs.submit(NewJob(name: "lost", type: "t"))
        let claimed = try leases.claimNext(for: w, limit: 2, leaseDurationSeconds: 0.3)
        XCTAssertEqual(claimed.count, 2)
        let held = try XCTUnwrap(claimed.first { $0.jobName == "held" })
        let lost = try XCTUnwrap(claimed.first { $0.jobName == "lost" })
        for _ in 0..<4 {
            Thread.sleep(forTimeInterval: 0.1)
            let beat = try workers.heartbeat(w, holding: [held.attempt], extending: .listed([held.attempt]))
            XCTAssertEqual(beat.extendedAttempts, [held.attempt], "only what the worker says it holds")
            try leases.expireLeases()
        }
        XCTAssertEqual(try jobs.task(held.task)?.state, .running)
        XCTAssertEqual(
            try jobs.task(lost.task)?.state, .queued, "the assignment the worker never got ran out and is retried")
        XCTAssertEqual(
            try workers.heartbeat(w).extendedAttempts, [held.attempt],
            "callers without a list extend every active lease")
    }

    func testReportsOfAnotherWorkerAreRefused() throws {
        let a = try worker("a")
        let b = try worker("b")
        try jobs.submit(NewJob(name: "j", type: "t"))
        let lease = try XCTUnwrap(try leases.claimNext(for: a).first)
        XCTAssertThrowsError(try leases.complete(attempt: lease.attempt, by: b)) { error in
            XCTAssertEqual(error as? StoreError, .attemptNotOwned(lease.attempt, by: b))
            XCTAssertEqual((error as? StoreError)?.httpStatus, 403)
        }
        XCTAssertThrowsError(try leases.complete(attempt: AttemptID(999_999), by: a)) { error in
            XCTAssertEqual(error as? StoreError, .unknownAttempt(AttemptID(999_999)))
        }
        XCTAssertEqual(try jobs.task(lease.task)?.state, .running)
    }

    func testHeartbeatExtendsLeasesAndLostWorkersLoseThem() throws {
        let w = try worker()
        try jobs.submit(NewJob(name: "j", type: "t"))
        let lease = try XCTUnwrap(try leases.claimNext(for: w, leaseDurationSeconds: 0.3).first)
        for _ in 0..<4 {
            Thread.sleep(forTimeInterval: 0.1)
            XCTAssertEqual(try workers.heartbeat(w, holding: [lease.attempt]).extendedAttempts, [lease.attempt])
            try leases.expireLeases()
        }
        XCTAssertEqual(
            try jobs.task(lease.task)?.state, .running, "heartbeats kept the lease alive past its first deadline")

        Thread.sleep(forTimeInterval: 0.05)
        XCTAssertEqual(try workers.markLost(heartbeatOlderThan: 0.01), [w])
        XCTAssertEqual(try workers.worker(w)?.state, .lost)
        XCTAssertEqual(try leases.expireLeases().requeued, [lease.task], "a lost worker's leases end at once")
        XCTAssertThrowsError(try leases.claimNext(for: w)) { error in
            XCTAssertEqual(error as? StoreError, .workerNotAlive(w, state: "lost"))
        }
        // The worker comes back: its old lease is gone, it may work again.
        let beat = try workers.heartbeat(w, holding: [lease.attempt])
        XCTAssertEqual(beat.state, .alive)
        XCTAssertEqual(beat.stopAttempts, [lease.attempt])
        XCTAssertEqual(try events.list(entity: "worker", id: w.rawValue).map(\.newState), ["alive", "lost", "alive"])
        XCTAssertThrowsError(
            try workers.register(name: "w1", resources: Resources(cpuMillis: 1000)),
            "a live worker's name is not handed to a caller that cannot prove it is that worker (issue 16)"
        ) { error in
            XCTAssertEqual(error as? WorkerNameHeld, WorkerNameHeld(name: "w1", holder: w, state: .alive))
        }
    }

    func testSubmitAndRequeueNotifyWaitingClaimers() throws {
        let woken = Locked<[String]>([])
        let listener = PostgresListener(
            conninfo: conninfo, channels: [StoreChannel.taskRunnable, StoreChannel.jobChanged]
        ) { event in
            if case .notification(let channel, _) = event { woken.mutate { $0.append(channel) } }
        }
        defer { listener.stop() }
        XCTAssertTrue(listener.waitUntilListening(timeoutSeconds: 10))
        try jobs.submit(NewJob(name: "j", type: "t", retryPolicy: RetryPolicy(initialBackoffSeconds: 0)))
        try waitUntil("task_runnable after submit") { woken.value.contains(StoreChannel.taskRunnable) }
        woken.mutate { $0.removeAll() }
        let w = try worker()
        let lease = try XCTUnwrap(try leases.claimNext(for: w).first)
        try waitUntil("job_changed when the job starts running") { woken.value.contains(StoreChannel.jobChanged) }
        try leases.fail(attempt: lease.attempt, by: w, error: "retry me")
        try waitUntil("task_runnable after requeue") { woken.value.contains(StoreChannel.taskRunnable) }
    }

    func testPreemptionRequeuesWithoutCountingAsFailure() throws {
        let w = try worker()
        let job = try jobs.submit(NewJob(name: "j", type: "t", retryPolicy: RetryPolicy(maxAttempts: 1)))
        let lease = try XCTUnwrap(try leases.claimNext(for: w).first)
        let placements = PlacementStore(pool: pool)
        try placements.preempt(attempt: lease.attempt, reason: "make room for priority 10")
        try placements.preempt(attempt: lease.attempt, reason: "make room for priority 10") // repeat: no-op
        XCTAssertEqual(try taskStates(job.id), [.queued])
        XCTAssertThrowsError(try leases.complete(attempt: lease.attempt, by: w)) { error in
            XCTAssertEqual(error as? StoreError, .staleAttempt(lease.attempt, state: "preempted"))
        }
        let again = try XCTUnwrap(try leases.claimNext(for: w).first, "preemption does not use up the single attempt")
        try leases.complete(attempt: again.attempt, by: w)
        XCTAssertEqual(try jobs.job(job.id)?.state, .succeeded)
    }
}

final class StoreSignalsTests: StoreTestCase {
    /// The long-poll pattern: read the generation, look, wait; a submit in between wakes the waiter.
    func testLongPollWakesOnSubmitWithoutPolling() throws {
        let signals = StoreSignals(conninfo: conninfo)
        defer { signals.stop() }
        XCTAssertTrue(signals.waitUntilReady(timeoutSeconds: 10))
        let w = try worker()
        let before = signals.generation(StoreChannel.taskRunnable)
        XCTAssertEqual(try leases.claimNext(for: w), [])
        let quiet = Date()
        XCTAssertEqual(
            signals.wait(StoreChannel.taskRunnable, after: before, timeoutSeconds: 0.2), before, "nothing happened")
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(quiet), 0.19)

        let store = jobs
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) {
            _ = try? store.submit(NewJob(name: "late", type: "t"))
        }
        let woke = signals.wait(StoreChannel.taskRunnable, after: before, timeoutSeconds: 20)
        XCTAssertGreaterThan(woke, before)
        XCTAssertEqual(try leases.claimNext(for: w).map(\.jobName), ["late"])
    }
}

final class ControlStoreTests: StoreTestCase {
    /// A worker dies mid-task (no more heartbeats): maintenance marks it lost and hands the task to
    /// another worker, which completes it exactly once.
    func testDeadWorkersTaskMovesToAnotherWorker() throws {
        let store = ControlStore(pool: pool)
        let dead = try worker("dead")
        let alive = try worker("alive")
        let job = try jobs.submit(
            NewJob(name: "j", type: "t", retryPolicy: RetryPolicy(maxAttempts: 3, initialBackoffSeconds: 0)))
        let first = try XCTUnwrap(try leases.claimNext(for: dead, leaseDurationSeconds: 30).first)
        XCTAssertEqual(try store.runMaintenance(heartbeatTimeoutSeconds: 5).lostWorkers, [], "heartbeat is recent")
        Thread.sleep(forTimeInterval: 0.3)
        _ = try workers.heartbeat(alive)
        let report = try store.runMaintenance(heartbeatTimeoutSeconds: 0.2)
        XCTAssertEqual(report.lostWorkers, [dead])
        XCTAssertEqual(report.expired.requeued, [first.task])
        let second = try XCTUnwrap(try leases.claimNext(for: alive).first)
        XCTAssertEqual(second.task, first.task)
        try leases.complete(attempt: second.attempt, by: alive)
        XCTAssertThrowsError(try leases.complete(attempt: first.attempt, by: dead))
        XCTAssertEqual(try jobs.job(job.id)?.state, .succeeded)
        XCTAssertEqual(try sqlInt("SELECT count(*) FROM task_attempts WHERE state = 'succeeded'"), 1)
        XCTAssertEqual(try workers.worker(dead)?.state, .lost)
    }
}

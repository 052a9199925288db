// The local workers of `opsctl up`, restarted when they exit while the cluster runs. Before, a worker that
// crashed stayed `lost` until the next `opsctl up`. A restart waits 1 s, doubling up to 30 s while the worker
// keeps dying soon after its start (a worker that lived for `healthySeconds` starts over at 1 s), so a worker
// that cannot start (bad flags, a full disk) costs one line every 30 s rather than a busy loop.

import Foundation
import Primitives
import Spawn

actor WorkerSupervisor {
    /// A worker that ran this long before it exited is restarted after the first delay again.
    static let healthySeconds: Double = 60
    static let backoff = ExponentialBackoff(initialSeconds: 1, maximumSeconds: 30)

    private struct Slot {
        var process: SpawnedChild?
        var startedAt: Date
        var failures = 0
        var restartAt: Date?
    }

    private let names: [String]
    private let launch: @Sendable (Int) throws -> SpawnedChild
    private var slots: [Slot]
    private var stopping = false

    /// Starts one worker per name with `launch(index)`.
    init(names: [String], launch: @escaping @Sendable (Int) throws -> SpawnedChild) throws {
        self.names = names
        self.launch = launch
        let now = Date()
        slots = try names.indices.map { Slot(process: try launch($0), startedAt: now) }
    }

    /// One supervision pass at `now`: an exited worker gets its restart time, and is started once it is due.
    func check(now: Date) {
        guard !stopping else { return }
        for index in slots.indices {
            if let process = slots[index].process, process.isRunning { continue }
            if let due = slots[index].restartAt {
                if now >= due { restart(index, now: now) }
                continue
            }
            let lived = now.timeIntervalSince(slots[index].startedAt)
            slots[index].failures = lived >= Self.healthySeconds ? 1 : slots[index].failures + 1
            let delay = Self.backoff.delaySeconds(afterFailures: slots[index].failures)
            slots[index].restartAt = now.addingTimeInterval(delay)
            Output.note(
                "worker \(names[index]) \(Self.describeExit(slots[index].process)); restarting it in \(delay) s")
        }
    }

    private func restart(_ index: Int, now: Date) {
        slots[index].restartAt = nil
        slots[index].startedAt = now
        do {
            slots[index].process = try launch(index)
        } catch {
            slots[index].process = nil
            Output.note("cannot restart worker \(names[index]): \(error)")
        }
    }

    private static func describeExit(_ process: SpawnedChild?) -> String {
        switch process?.pollExit() {
        case nil: "did not start"
        case .killed(let signal): "was killed by signal \(signal)"
        case .exited(let status): "exited with status \(status)"
        }
    }

    /// No more restarts; SIGTERM, up to 20 s for the workers to exit on their own, then SIGKILL.
    func stop() async {
        stopping = true
        let workers = slots.compactMap(\.process)
        Output.note("stopping \(workers.count) worker(s)")
        for worker in workers { worker.signal(SIGTERM) }
        let deadline = Date().addingTimeInterval(20)
        while workers.contains(where: \.isRunning) && Date() < deadline {
            try? await Task.sleep(nanoseconds: 100_000_000)
        }
        for worker in workers { worker.signal(SIGKILL) }
    }
}

import ClusterModel
import Foundation
import Postgres

/// Wake-ups for waiting API calls, fed by one LISTEN connection: long-polls wait for
/// `task_runnable`, `--wait` for `job_changed`, `logs -f` for `task_logs` — without polling the
/// database. Each channel has a generation counter; read it *before* looking at the database and
/// wait for a later one, so a notification between the look and the wait is never lost. After a
/// reconnect every channel is bumped (notifications may have been missed: look again).
public final class StoreSignals: @unchecked Sendable {
    private let condition = NSCondition()
    private var generations: [String: UInt64] = [:]
    private var listener: PostgresListener?

    public init(conninfo: String, channels: [String] = [StoreChannel.taskRunnable, StoreChannel.jobChanged, StoreChannel.taskLogs]) {
        listener = PostgresListener(conninfo: conninfo, channels: channels) { [weak self] event in
            guard let self else { return }
            self.condition.lock()
            switch event {
            case .notification(let channel, _):
                self.generations[channel, default: 0] += 1
            case .listening(let mayHaveMissed):
                if mayHaveMissed { for channel in channels { self.generations[channel, default: 0] += 1 } }
            }
            self.condition.broadcast()
            self.condition.unlock()
        }
    }

    deinit { stop() }

    /// Blocks until LISTEN is in effect (e.g. before serving), up to `timeout`.
    @discardableResult
    public func waitUntilReady(timeoutSeconds: TimeInterval) -> Bool {
        listener?.waitUntilListening(timeoutSeconds: timeoutSeconds) ?? false
    }

    /// The current generation of `channel`.
    public func generation(_ channel: String) -> UInt64 {
        condition.lock(); defer { condition.unlock() }
        return generations[channel, default: 0]
    }

    /// Waits until `channel` moves past `generation` or `timeout` passes; returns the generation then.
    @discardableResult
    public func wait(_ channel: String, after generation: UInt64, timeoutSeconds: TimeInterval) -> UInt64 {
        let deadline = Date().addingTimeInterval(max(0, timeoutSeconds))
        condition.lock(); defer { condition.unlock() }
        while generations[channel, default: 0] <= generation {
            if !condition.wait(until: deadline) { break }
        }
        return generations[channel, default: 0]
    }

    /// The local channel of one worker's freed capacity: its own reports finishing attempts bump it, so a
    /// poll of that worker that found it full wakes at once (no NOTIFY is sent for freed capacity).
    public static func capacityFreed(on worker: WorkerID) -> String { "local:capacity:\(worker.rawValue)" }

    /// Moves a channel on in this process only (for wake-ups that need no other replica).
    public func bump(_ channel: String) {
        condition.lock(); defer { condition.unlock() }
        generations[channel, default: 0] += 1
        condition.broadcast()
    }

    /// The current generations of `channels`, for `wait(anyOf:timeout:)`.
    public func generations(_ channels: [String]) -> [String: UInt64] {
        condition.lock(); defer { condition.unlock() }
        return Dictionary(uniqueKeysWithValues: channels.map { ($0, generations[$0, default: 0]) })
    }

    /// Waits until any of the channels moves past the generation given for it, or `timeout` passes.
    public func wait(anyOf seen: [String: UInt64], timeoutSeconds: TimeInterval) {
        let deadline = Date().addingTimeInterval(max(0, timeoutSeconds))
        condition.lock(); defer { condition.unlock() }
        while seen.allSatisfy({ generations[$0.key, default: 0] <= $0.value }) {
            if !condition.wait(until: deadline) { break }
        }
    }

    public func stop() {
        listener?.stop()
        listener = nil
    }
}

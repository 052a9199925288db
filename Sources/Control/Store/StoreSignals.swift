import ClusterModel
import Foundation
import Postgres
import Primitives

/// Wake-ups for waiting API calls, fed by one LISTEN connection: long-polls wait for
/// `task_runnable`, `--wait` for `job_changed`, `logs -f` for `task_logs` — without polling the
/// database. Each channel has a generation counter; read it *before* looking at the database and
/// wait for a later one, so a notification between the look and the wait is never lost. After a
/// reconnect every channel is bumped (notifications may have been missed: look again).
public final class StoreSignals: Sendable {
    /// Each channel's generation; waiters sleep on it.
    private let generations = Guarded<[String: UInt64]>([:])
    private let listener = Locked<PostgresListener?>(nil)

    public init(
        conninfo: String,
        channels: [String] = [
            StoreChannel.taskRunnable, StoreChannel.jobChanged, StoreChannel.taskLogs, StoreChannel.trainingExchange,
        ]
    ) {
        let started = PostgresListener(conninfo: conninfo, channels: channels) { [generations] event in
            generations.update { generations in
                switch event {
                case .notification(let channel, _):
                    generations[channel, default: 0] += 1
                case .listening(let mayHaveMissed):
                    if mayHaveMissed { for channel in channels { generations[channel, default: 0] += 1 } }
                }
            }
        }
        listener.withLock { $0 = started }
    }

    deinit { stop() }

    /// Blocks until LISTEN is in effect (e.g. before serving), up to `timeoutSeconds`.
    @discardableResult
    public func waitUntilReady(timeoutSeconds: TimeInterval) -> Bool {
        listener.current?.waitUntilListening(timeoutSeconds: timeoutSeconds) ?? false
    }

    /// The current generation of `channel`.
    public func generation(_ channel: String) -> UInt64 {
        generations.withLock { $0[channel, default: 0] }
    }

    /// Waits until `channel` moves past `generation` or `timeoutSeconds` pass; returns the generation then.
    @discardableResult
    public func wait(_ channel: String, after generation: UInt64, timeoutSeconds: TimeInterval) -> UInt64 {
        let deadline = Date().addingTimeInterval(max(0, timeoutSeconds))
        let moved = generations.wait(until: deadline) { generations -> UInt64? in
            let now = generations[channel, default: 0]
            return now > generation ? now : nil
        }
        return moved ?? self.generation(channel)
    }

    /// The local channel of one worker's freed capacity: its own reports finishing attempts bump it, so a
    /// poll of that worker that found it full wakes at once (no NOTIFY is sent for freed capacity).
    public static func capacityFreed(on worker: WorkerID) -> String { "local:capacity:\(worker.rawValue)" }

    /// Moves a channel on in this process only (for wake-ups that need no other replica).
    public func bump(_ channel: String) {
        generations.update { $0[channel, default: 0] += 1 }
    }

    /// The current generations of `channels`, for `wait(anyOf:timeoutSeconds:)`.
    public func generations(_ channels: [String]) -> [String: UInt64] {
        generations.withLock { generations in
            Dictionary(uniqueKeysWithValues: channels.map { ($0, generations[$0, default: 0]) })
        }
    }

    /// Waits until any of the channels moves past the generation given for it, or `timeoutSeconds` pass.
    public func wait(anyOf seen: [String: UInt64], timeoutSeconds: TimeInterval) {
        let deadline = Date().addingTimeInterval(max(0, timeoutSeconds))
        _ = generations.wait(until: deadline) { generations -> Bool? in
            seen.contains { generations[$0.key, default: 0] > $0.value } ? true : nil
        }
    }

    public func stop() {
        let stopping = listener.withLock { listener -> PostgresListener? in
            defer { listener = nil }
            return listener
        }
        stopping?.stop()
    }
}

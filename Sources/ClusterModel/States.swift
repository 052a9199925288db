// Job and task states, and the single definition of which transitions are legal.
// Stores and daemons call `TaskState.after(_:)` / `JobState.after(_:)` instead of assigning states directly.

public enum TaskState: String, Codable, Sendable, CaseIterable {
    /// Waiting for `after:` dependencies (or a tokenizer-training task) to succeed.
    case blocked
    /// Runnable, waiting for placement or for its backoff to pass.
    case queued
    /// Held by a worker under a lease.
    case running
    case succeeded
    case failed
    case cancelled

    public var isTerminal: Bool { self == .succeeded || self == .failed || self == .cancelled }
}

public enum TaskEvent: Sendable, Equatable {
    case dependenciesMet
    case leased
    case completed
    /// The attempt failed or its lease expired; `retriesLeft` says whether another attempt may follow.
    case attemptFailed(retriesLeft: Bool)
    /// Taken away by the scheduler to make room; requeued, never failed.
    case preempted
    /// An `after:` dependency failed and the dependent's policy is to fail too.
    case dependencyFailed
    case cancelled
}

public struct IllegalTransition: Error, CustomStringConvertible, Sendable {
    public let from: String
    public let event: String
    public var description: String { "illegal transition: \(event) in state \(from)" }
}

extension TaskState {
    /// The state after `event`, or `IllegalTransition` when the event makes no sense in this state.
    public func after(_ event: TaskEvent) throws -> TaskState {
        switch (self, event) {
        case (.blocked, .dependenciesMet): return .queued
        case (.queued, .leased): return .running
        case (.running, .completed): return .succeeded
        case (.running, .attemptFailed(let retriesLeft)): return retriesLeft ? .queued : .failed
        case (.running, .preempted): return .queued
        case (.blocked, .dependencyFailed), (.queued, .dependencyFailed): return .failed
        case (let s, .cancelled) where !s.isTerminal: return .cancelled
        default: throw IllegalTransition(from: rawValue, event: "\(event)")
        }
    }
}

public enum JobState: String, Codable, Sendable, CaseIterable {
    case pending
    case running
    case succeeded
    case failed
    case cancelled

    public var isTerminal: Bool { self == .succeeded || self == .failed || self == .cancelled }

    /// A job's state follows from its tasks': any failure fails it, all succeeded succeeds it,
    /// any task started makes it running.
    public static func derived(from tasks: [TaskState], cancelRequested: Bool = false) -> JobState {
        if tasks.contains(.failed) { return .failed }
        if cancelRequested || tasks.contains(.cancelled) { return .cancelled }
        if !tasks.isEmpty && tasks.allSatisfy({ $0 == .succeeded }) { return .succeeded }
        if tasks.contains(where: { $0 == .running || $0 == .succeeded }) { return .running }
        return .pending
    }
}

// MARK: Attempts

/// The life of one attempt (lease) of a task: the values of `task_attempts.state`, on the wire as in the database.
/// Only `active` is left, by the events of `AttemptEvent`; every other state is final.
public enum AttemptState: String, Codable, Sendable, CaseIterable {
    /// Leased to a worker; heartbeats extend the lease. Left when the worker reports the outcome (→ succeeded,
    /// failed), when the lease runs out (the sweep: → expired), when the scheduler takes the task back after its
    /// grace period (→ preempted), or when the job is cancelled (→ cancelled).
    case active
    /// The executor finished and its completion was recorded.
    case succeeded
    /// The executor reported a failure; the task is retried if attempts remain.
    case failed
    /// The lease deadline passed without a heartbeat (worker lost or stuck); the task was requeued.
    case expired
    /// Taken away by the scheduler to make room; the task was requeued without spending a retry.
    case preempted
    /// Stopped because the job was cancelled.
    case cancelled

    public var isTerminal: Bool { self != .active }
}

public enum AttemptEvent: String, Sendable, CaseIterable {
    case completed, failed, leaseExpired, preempted, cancelled
}

extension AttemptState {
    /// The state after `event`, or `IllegalTransition`: only an active attempt changes.
    public func after(_ event: AttemptEvent) throws -> AttemptState {
        guard self == .active else { throw IllegalTransition(from: rawValue, event: event.rawValue) }
        switch event {
        case .completed: return .succeeded
        case .failed: return .failed
        case .leaseExpired: return .expired
        case .preempted: return .preempted
        case .cancelled: return .cancelled
        }
    }
}

// MARK: Workers

/// A worker's state: the values of `workers.state`, on the wire as in the database.
public enum WorkerState: String, Codable, Sendable, CaseIterable {
    /// Heartbeating and taking work. Left when its heartbeat announces a shutdown (→ draining), when it
    /// deregisters (→ drained), or when the lost-worker sweep finds its heartbeats missing (→ lost).
    case alive
    /// Shutting down: it finishes or hands back what it holds and is given nothing new. Left when it deregisters
    /// (→ drained), when its heartbeats stop (→ lost), or when it registers again (→ alive).
    case draining
    /// Its heartbeats stopped for longer than the lease; its attempts were expired. Left by a heartbeat or a new
    /// registration (→ alive).
    case lost
    /// Deregistered cleanly. Left only by registering again (→ alive).
    case drained

    /// Whether the scheduler and the claim path may give it work.
    public var takesWork: Bool { self == .alive }
}

public enum WorkerEvent: String, Sendable, CaseIterable {
    case registered, heartbeat, drainRequested, deregistered, heartbeatsMissed
}

extension WorkerState {
    /// The state after `event`. Total: an event that does not apply leaves the state as it is (a heartbeat of a
    /// drained worker that still reports its last attempts, a second deregistration).
    public func after(_ event: WorkerEvent) -> WorkerState {
        switch (self, event) {
        case (_, .registered): return .alive
        case (.lost, .heartbeat): return .alive
        case (.alive, .drainRequested), (.lost, .drainRequested): return .draining
        case (_, .deregistered): return .drained
        case (.alive, .heartbeatsMissed), (.draining, .heartbeatsMissed): return .lost
        default: return self
        }
    }
}

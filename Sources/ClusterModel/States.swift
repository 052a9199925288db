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

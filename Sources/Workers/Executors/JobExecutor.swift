// One executor per job kind. The daemon hands each leased attempt to the executor registered for its job's
// `type`; the executor does the work and reports through the context. Real kinds (tokenize, stream, train,
// eval) implement this same protocol and register themselves in `ExecutorRegistry`.

import APITypes
import ClusterModel
import Foundation

public protocol JobExecutor: Sendable {
    /// Runs one attempt of a task. Return the result on success. Throw `TaskFailure` for a failure you can
    /// describe (with `retryable: false` for errors a retry would repeat, such as a bad spec); throw
    /// `ExecutionStopped` (from `context.checkCancellation()`) or `CancellationError` when asked to stop.
    /// Any other error is reported as a retryable failure with its description.
    ///
    /// Long CPU-bound work must not block Swift's cooperative threads (there may be only two): run it in
    /// `context.runBlocking { ... }`, and check `context.isCancelled` / `context.preemption` between steps.
    func run(_ task: TaskAssignment, context: ExecutionContext) async throws -> TaskResult
}

/// What a successful attempt returns: a JSON result (shown by `opsctl describe job`) and the files it produced.
public struct TaskResult: Sendable, Equatable {
    public var result: AnyJSON
    public var artifacts: [ArtifactRecord]

    public init(result: AnyJSON = .null, artifacts: [ArtifactRecord] = []) {
        self.result = result
        self.artifacts = artifacts
    }
}

/// A failure the executor explains itself.
public struct TaskFailure: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String
    /// False when another attempt would fail the same way (bad spec, missing input).
    public var retryable: Bool
    /// Structured facts for the control plane, sent with the failure report (e.g. `badShards`).
    public var details: AnyJSON?

    public init(_ message: String, retryable: Bool = true, details: AnyJSON? = nil) {
        self.message = message
        self.retryable = retryable
        self.details = details
    }

    /// A spec field that is missing or has the wrong type: never retried.
    public static func invalidSpec(_ field: String, expected: String, got: AnyJSON?) -> TaskFailure {
        let found = got.map { $0.typeName == "string" ? "\"\($0.stringValue ?? "")\"" : $0.jsonText } ?? "nothing"
        return TaskFailure("spec.\(field): expected \(expected), got \(found)", retryable: false)
    }

    public var description: String { message }
}

/// Thrown by `ExecutionContext.checkCancellation()`: the attempt was told to stop.
public enum ExecutionStopped: Error, CustomStringConvertible, Sendable, Equatable {
    /// The job was cancelled.
    case cancelled(reason: String)
    /// Preempted (or the worker is shutting down): checkpoint first if you can, then throw this.
    case preempted(reason: String)
    /// The control plane no longer considers this attempt live; its work will be discarded.
    case stale

    public var description: String {
        switch self {
        case .cancelled(let reason): return "cancelled: \(reason)"
        case .preempted(let reason): return "preempted: \(reason)"
        case .stale: return "the attempt is no longer live on the control plane"
        }
    }
}

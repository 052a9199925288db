// The built-in job kinds: enough to exercise the whole lifecycle (leases, retries, cancellation,
// preemption, throughput) before the real kinds exist.

import APITypes
import Foundation

/// `type: noop` — completes at once. Result: `{"task": <index>}` plus `result` in its settings when given.
public struct NoopExecutor: JobExecutor {
    public static let kind = "noop"
    public init() {}

    public func run(_ task: TaskAssignment, context: ExecutionContext) async throws -> TaskResult {
        var result: [String: AnyJSON] = ["task": .int(Int64(task.taskIndex))]
        if let extra = task.settings["result"] { result["result"] = extra }
        return TaskResult(result: .object(result))
    }
}

/// `type: sleep` — `seconds` (number ≥ 0, default 1): sleeps, reporting progress about ten times,
/// stopping promptly when cancelled, and stopping at once when preempted (it has nothing to checkpoint).
public struct SleepExecutor: JobExecutor {
    public static let kind = "sleep"
    public init() {}

    public func run(_ task: TaskAssignment, context: ExecutionContext) async throws -> TaskResult {
        let seconds: Double
        switch task.settings["seconds"] {
        case nil, .some(.null): seconds = 1
        case .some(let value):
            guard let number = value.doubleValue, number >= 0, number.isFinite else {
                throw TaskFailure.invalidSpec("sleep.seconds", expected: "a number >= 0", got: value)
            }
            seconds = number
        }
        context.log("sleeping \(seconds)s", stream: .system)
        let started = Date()
        let tick = max(0.01, min(1, seconds / 10))
        var step: Int64 = 0
        while true {
            let elapsed = Date().timeIntervalSince(started)
            if elapsed >= seconds { break }
            if let preemption = context.preemption { throw ExecutionStopped.preempted(reason: preemption.reason) }
            try await context.sleep(seconds: min(tick, seconds - elapsed))
            step += 1
            context.progress(min(1, Date().timeIntervalSince(started) / max(seconds, 1e-9)), step: step)
        }
        context.progress(1, message: "done")
        return TaskResult(result: ["sleptSeconds": .double(seconds)])
    }
}

/// `type: fail` — fails with `message` (default "failing on purpose"), retryable unless
/// `retryable: false`. With `succeedOnAttempt: N` it succeeds from attempt N on (to test retries).
public struct FailExecutor: JobExecutor {
    public static let kind = "fail"
    public init() {}

    public func run(_ task: TaskAssignment, context: ExecutionContext) async throws -> TaskResult {
        if let value = task.settings["succeedOnAttempt"] {
            guard let attempt = value.intValue, attempt >= 1 else {
                throw TaskFailure.invalidSpec("fail.succeedOnAttempt", expected: "an integer >= 1", got: value)
            }
            if task.attemptNumber >= Int(attempt) {
                context.log("attempt \(task.attemptNumber) succeeds", stream: .system)
                return TaskResult(result: ["attempt": .int(Int64(task.attemptNumber))])
            }
        }
        var retryable = true
        if let value = task.settings["retryable"] {
            guard let flag = value.boolValue else {
                throw TaskFailure.invalidSpec("fail.retryable", expected: "true or false", got: value)
            }
            retryable = flag
        }
        let message = task.settings["message"]?.stringValue ?? "failing on purpose"
        context.log("attempt \(task.attemptNumber) fails: \(message)", stream: .stderr)
        throw TaskFailure(message, retryable: retryable)
    }
}

// The report flush's decisions: how long the flush loop waits, and what to do with each batch (or part of one)
// the control plane answered or refused. A batch refused for its content (400, 422, a 409 conflict) is cut in
// halves and each half sent, so the items it accepts are delivered and the one it refuses ends up alone and is
// quarantined: before, one unstorable log line held back every other attempt's completion.

import APIClient
import APITypes
import ClusterModel
import Foundation

extension WorkerDaemonStateMachine {
    /// How long the flush loop waits before the next flush (an urgent report wakes it early): the flush interval,
    /// or the backoff after failed deliveries. `jitterUnit` is a random number in [0, 1).
    func flushWaitSeconds(jitterUnit: Double) -> Double {
        flushFailures > 0
            ? configuration.backoff.delay(afterFailures: flushFailures, unit: jitterUnit)
            : configuration.flushIntervalSeconds
    }

    /// A flush ended: `delivered` is false when a batch had to be put back to wait.
    mutating func flushEnded(delivered: Bool) {
        flushFailures = delivered ? 0 : flushFailures + 1
    }

    /// What to do with one part of a batch after the control plane answered or refused it.
    enum DeliveryStep: Equatable {
        /// Accepted: acknowledge it; the attempts it names stale are dropped (the signals say how).
        case acknowledge(stale: [AttemptID], signals: [AttemptSignal])
        /// 409 `stale_attempt`: every attempt in the part is stale; acknowledge it as such and drop them.
        case dropStale([AttemptID], signals: [AttemptSignal])
        /// Refused for its content with more than one item: send its halves (first half first).
        case split
        /// Refused for its content, alone: acknowledge (drop) it, log it, and queue `replacement` if any.
        case quarantine(replacement: FailureReport?)
        /// The control plane forgot the worker: put back what is unsent, register again; delivery waits.
        case reregister
        /// Transient: put back what is unsent; delivery waits for the backoff.
        case retryLater
        /// 413 with several items: put everything back and send batches of at most `batchBytes` from now on.
        case shrinkBatches(batchBytes: Int)
        /// 413 with one item: put back the rest, drop it and queue `replacement` if any (the flush ends).
        case dropTooLarge(replacement: FailureReport?)
        /// Refused in a way no resend can fix (a bug on one side): log it and acknowledge it.
        case dropRefused
    }

    /// The control plane accepted `part` and named these of its attempts stale.
    func reportAccepted(staleAttempts: [AttemptID]) -> DeliveryStep {
        .acknowledge(stale: staleAttempts, signals: stale(staleAttempts))
    }

    /// The control plane refused `part` with `error`.
    mutating func reportRefused(_ part: ReportBatch, _ error: ControlPlaneError) -> DeliveryStep {
        if error.isStaleAttempt {
            let attempts = part.attemptIDs.sorted()
            return .dropStale(attempts, signals: stale(attempts))
        }
        if error.isRefusedContent {
            return part.itemCount > 1 ? .split : .quarantine(replacement: Self.quarantineReplacement(for: part, error))
        }
        if error.isUnknownWorker { return .reregister }
        if error.isRetryable { return .retryLater }
        if error.status == 413 {
            guard part.itemCount == 1 else {
                batchByteBudget = max(Self.minimumBatchBytes, batchByteBudget / 2)
                return .shrinkBatches(batchBytes: batchByteBudget)
            }
            return .dropTooLarge(replacement: Self.tooLargeReplacement(for: part))
        }
        return .dropRefused
    }

    static let refusedReport = "the control plane refused this attempt's report"

    /// What replaces the one report item the control plane refuses on its own. A completion becomes a
    /// non-retryable failure that says why (another attempt would report the same), and a failure is resent with
    /// its text made storable, so neither task waits for its lease to run out; anything else is dropped.
    static func quarantineReplacement(for item: ReportBatch, _ error: ControlPlaneError) -> FailureReport? {
        let refused = refusedReport + " (\(error.message))"
        if let completion = item.completions.first {
            return FailureReport(
                taskID: completion.taskID, attemptID: completion.attemptID,
                message: "\(refused); its result cannot be stored", retryable: false)
        }
        // Once only: a rewritten failure that is refused again is dropped.
        guard let failure = item.failures.first, !failure.message.hasPrefix(refusedReport) else { return nil }
        var plain = failure
        plain.message = "\(refused); it said: " + StorableText.escapingNUL(String(failure.message.prefix(2000)))
        plain.details = nil
        return plain
    }

    /// What replaces one report item too large for the control plane's body limit: a completion becomes a failure
    /// that says why (so the task does not hang), a failure is cut to 2,000 characters; anything else is dropped.
    static func tooLargeReplacement(for item: ReportBatch) -> FailureReport? {
        if let completion = item.completions.first {
            return FailureReport(
                taskID: completion.taskID, attemptID: completion.attemptID,
                message:
                    "the task's result is larger than the control plane accepts (HTTP 413); store large outputs as artifacts and return their names",
                retryable: false)
        }
        guard let failure = item.failures.first else { return nil }
        var shorter = failure
        shorter.message = String(failure.message.prefix(2000)) + " …[cut: too large for the control plane]"
        return shorter.message != failure.message ? shorter : nil
    }
}

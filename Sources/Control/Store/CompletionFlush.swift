// When a completion's commit reaches the disk (issue 15; docs/leases.md, "The attempt that succeeds, and a
// completion the claim flushes").
//
// A report that claims (`ReportBatch.next`) runs two statements: the completion, then the claim, and answers only
// after both. Each committed synchronously, so each waited for its own WAL flush. The WAL is flushed in order:
// when the claim's commit is flushed, so is every record before it, the completion's commit included. So the
// completion may commit without waiting, and the answer still leaves only once both are on disk. Other sessions
// may see the completion a moment before it is durable; a crash in that moment loses it together with everything
// after it (WAL is replayed as a prefix), and the attempt, still running after recovery, is reported again or
// expires, as when a report is lost in transit. In the lease model at batch 1 this was +11 to +20 % (three rounds).

/// When a completion's commit is flushed to disk.
public enum CompletionFlush: Sendable, Equatable {
    /// Before the call returns: a synchronous commit.
    case beforeReturning
    /// By the caller's next claim for the same worker (`LeaseStore.claimNext`), which the caller runs before it
    /// acknowledges the completion to anyone. The claim always writes the worker row (its heartbeat), so its
    /// synchronous commit flushes the WAL through this completion's commit. Only the one-statement completion
    /// (`TaskSQL.completeUnlessFinishing`) commits so; a batch that may finish a job is flushed before returning.
    case byTheNextClaim
}

// Statements of whole-gang restarts (issue 18, `LeaseStore.restartGangs`): a `command` gang cannot go on without a
// member, so when one member's attempt ends without success the others' active attempts end too.

extension AttemptSQL {
    /// The active attempts of the gang members of jobs $1 whose type is one of $2, except tasks $3, their tasks
    /// locked (the columns `LeaseStore.AttemptEnding(row:)` decodes, plus the job). SKIP LOCKED: a task another
    /// transaction is ending now (two members failing together) is that transaction's to end, and waiting for it
    /// would take the lock of a second task while holding the first (the lock order is by id).
    static let lockGangSiblings = """
        \(endingColumns)
        WHERE t.job_id = ANY($1::bigint[]) AND t.gang AND j.type = ANY($2::text[]) AND NOT (t.id = ANY($3::bigint[]))
          AND t.state = 'running' AND t.active_attempt_id IS NOT NULL
        ORDER BY t.id FOR UPDATE OF t SKIP LOCKED
        """
}

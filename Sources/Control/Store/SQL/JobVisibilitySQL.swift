import Foundation

// The `jobs` statement of a listing held to queues (a submitter token's `GET /v1/jobs`; `JobVisibility`).
extension JobSQL {
    /// Newest first, as `page`, of the jobs in queues $4 (a text[]): $1 state (NULL: any), $2 before id, $3 limit.
    static let pageInQueues = records(
        where:
            "($1::text IS NULL OR j.state = $1) AND ($2::bigint IS NULL OR j.id < $2) AND j.queue = ANY($4::text[])",
        limit: "$3")
}

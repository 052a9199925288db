import APITypes
import ClusterModel
import Foundation

// What a submitter token sees and changes: the jobs of its queues, nothing of the others' (docs/security.md,
// "Tokens and scopes"). A job of another queue named directly (describe, tasks, logs, metrics, events, cancel,
// delete, rerun, its artifacts) is a 403 that names the job's queue; `GET /v1/jobs` lists only its queues' jobs; the
// listings across jobs (tasks, events, artifacts) need `?job=` one of its jobs. Every other caller sees all.

struct JobVisibility {
    let principal: Principal?
    let services: ControlServices

    init(_ context: RequestContext, _ services: ControlServices) {
        principal = context.principal
        self.services = services
    }

    /// The token held to queues, or nil (admins, viewers, workers see every job).
    private var limited: NamedToken? {
        if case .token(let token)? = principal, token.isLimitedToQueues { return token }
        return nil
    }

    /// The job named may be seen and changed by the caller: 404 when unknown, 403 naming its queue when another's.
    func requireJob(named name: String) throws {
        guard let token = limited else { return }
        let record = try JobQueries(services: services).job(named: name)
        try Self.require(token, queue: record.queue, what: "job \(name)")
    }

    /// A listing across jobs (`?job=` optional for others): a limited token must name one of its jobs.
    func requireJobFilter(_ job: String?, listing: String) throws {
        guard let token = limited else { return }
        guard let job else {
            throw AuthorizationError.forbidden(
                "token \(token.name) sees only the jobs of its queues (\(token.queues.joined(separator: ", "))); list \(listing) of one of them with ?job=NAME"
            )
        }
        try requireJob(named: job)
    }

    /// `GET /v1/jobs` with `?queue=`: the jobs a limited token may list (the queue given, when one of its own, else
    /// all of its queues), or the queue filter as given for everyone else.
    func jobs(state: JobState?, queue: String?, page: PageRequest) throws -> ListResponse<JobView> {
        guard let token = limited else {
            return try JobQueries(services: services).jobs(state: state, queue: queue, page: page)
        }
        if let queue { try Self.require(token, queue: queue, what: "the jobs of queue \(queue)") }
        let rows = try services.jobs.list(
            state: state, inQueues: queue.map { [$0] } ?? token.queues, limit: page.rowsToRead,
            beforeID: page.after.map { JobID($0.id) })
        return page.page(rows, cursor: { PageCursor(key: $0.id.rawValue, id: $0.id.rawValue) }, view: { JobView($0) })
    }

    /// The queues of the jobs a submission creates are the token's; it configures no queue.
    func requireSubmission(jobQueues: [(job: String, queue: String)], configuresQueues: [String]) throws {
        guard let token = limited else { return }
        if let queue = configuresQueues.first {
            throw AuthorizationError.forbidden(
                "token \(token.name) may not configure queue \(queue) (kind: Queue needs an admin token)")
        }
        for (job, queue) in jobQueues { try Self.require(token, queue: queue, what: "job \(job)") }
    }

    private static func require(_ token: NamedToken, queue: String, what: String) throws {
        guard token.queues.contains(queue) else {
            throw AuthorizationError.forbidden(
                "\(what) is in queue \(queue); token \(token.name) may use only queue(s) \(token.queues.joined(separator: ", "))"
            )
        }
    }
}

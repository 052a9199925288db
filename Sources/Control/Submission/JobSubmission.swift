// A manifest file from `POST /v1/manifests` to stored jobs: planned whole (`ManifestSubmission`: all or nothing),
// then either shown as it would be (dry run) or created, with the queues it configures.

import APITypes
import ClusterModel
import Foundation

struct JobSubmission {
    let services: ControlServices

    struct Outcome {
        var response: SubmitManifestsResponse
        /// A job was created or a queue configured (the API answers 201 instead of 200).
        var changedSomething: Bool
    }

    /// `visibility` refuses jobs of queues a submitter token may not use, before anything is written.
    func submit(_ request: SubmitManifestsRequest, visibility: JobVisibility? = nil) throws -> Outcome {
        let (planned, queues) = try services.submission.plan(request)
        let pools = try services.submission.pools(request)
        try visibility?.requireSubmission(
            jobQueues: planned.map { ($0.job.name, $0.job.queue) }, configuresQueues: queues.map(\.name))
        try visibility?.requirePoolConfiguration(pools.map(\.name))
        if request.dryRun { return try dryRun(planned, queues: queues).withPools(validated: pools) }
        let submitted = try explainingNameConflicts(planned) {
            try services.jobs.submit(planned.map(\.job), configuring: queues)
        }
        refreshPlannerStatistics(
            afterCreating: zip(planned, submitted).filter { $0.1.created }.reduce(0) { $0 + $1.0.job.tasks.count })
        let jobs = JobQueries(services: services)
        let views = try submitted.map { result in
            SubmittedJob(
                outcome: result.created ? .created : .unchanged, job: JobView(try jobs.job(named: result.name)))
        }
        let queueViews = queues.isEmpty ? nil : try QueueViews(services: services).views(named: queues.map(\.name))
        // Pools after the jobs: a job that cannot be submitted leaves the pools as they were too.
        let poolViews = try configure(pools)
        return Outcome(
            response: SubmitManifestsResponse(jobs: views, queues: queueViews, pools: poolViews),
            changedSomething: submitted.contains(where: \.created) || !queues.isEmpty || !pools.isEmpty)
    }

    /// The jobs as a real apply would leave them, checked against the database (`JobStore.check`) so a dry run
    /// reports the same conflicts; nothing is written.
    private func dryRun(_ planned: [(manifest: JobManifest, job: NewJob)], queues: [QueueSpec]) throws -> Outcome {
        let unchanged = try explainingNameConflicts(planned) {
            try services.jobs.check(planned.map(\.job), configuring: queues)
        }
        let views = planned.map { manifest, job in
            SubmittedJob(
                outcome: unchanged.contains(job.name) ? .unchanged : .validated,
                job: JobView(
                    id: JobID(0), name: job.name, type: job.type, state: .pending, queue: job.queue,
                    priority: job.priority, replicas: job.replicas, after: manifest.spec.after,
                    tasks: TaskCounts(queued: job.tasks.count), cancelRequested: false, submittedAt: Date()))
        }
        return Outcome(
            response: SubmitManifestsResponse(jobs: views, queues: queues.isEmpty ? nil : queues.map(QueueViews.view)),
            changedSomething: false)
    }

    /// Runs `body`, turning the store's "name taken" into the conflict that says which fields differ and how to
    /// go on (`JobSpecConflict`).
    private func explainingNameConflicts<T>(_ planned: [(manifest: JobManifest, job: NewJob)], _ body: () throws -> T)
        throws -> T
    {
        do {
            return try body()
        } catch StoreError.jobNameTaken(let name) {
            let submitted = planned.first { $0.job.name == name }?.job.spec ?? "{}"
            throw JobSpecConflict.error(
                name: name, stored: try services.jobs.job(named: name)?.spec, submitted: submitted)
        }
    }

    /// After 1,000 new tasks or more the claim query's plan needs fresh statistics (`refreshTaskStatistics`).
    /// Failure is harmless: autovacuum gets there later.
    private func refreshPlannerStatistics(afterCreating tasks: Int) {
        guard tasks >= 1000 else { return }
        try? services.store.refreshTaskStatistics()
    }
}

import APITypes
import ClusterModel
import Foundation

/// Validates submitted manifest documents with the same validator the CLI uses, plans their tasks and
/// builds the store's `NewJob`s. Nothing is written here: the store submits the whole pipeline in one
/// transaction, so a bad document changes nothing.
struct ManifestSubmission {
    let planners: JobPlanners
    let registry: JobKindRegistry

    func jobs(from request: SubmitManifestsRequest) throws -> [(manifest: JobManifest, job: NewJob)] {
        try plan(request).jobs
    }

    /// The request's jobs (planned) and queues (`kind: Queue` documents), validated together.
    func plan(_ request: SubmitManifestsRequest) throws -> (
        jobs: [(manifest: JobManifest, job: NewJob)], queues: [QueueSpec]
    ) {
        let pipeline = try ManifestParser.validate(
            encodedDocuments: request.documents, fileName: request.source ?? "<request>",
            registry: registry)
        let expanded = try pipeline.jobs.flatMap { try planners.planner(forKind: $0.spec.type).expand($0) }
        let jobs = try expanded.map { manifest in (manifest, try newJob(for: manifest)) }
        return (jobs, pipeline.queues)
    }

    /// The job a stored manifest (a job's `spec` column) becomes under `name`, for `opsctl rerun`: validated again
    /// as a document (a manifest stored by an older version meets today's validator) and planned, but not
    /// expanded: a stored manifest is already one job of its expansion, its helper jobs (a tokenizer's
    /// training) named in its `after:`, which resolve to the jobs that exist now.
    func job(rerunning storedManifest: String, as name: String, original: String) throws -> NewJob {
        let document: ManifestValue
        do {
            document = try WireCoding.decode(ManifestValue.self, from: Data(storedManifest.utf8))
        } catch {
            throw StoreError.conflict(
                what: "job \(original)",
                message: "its stored manifest cannot be read (\(WireCoding.describe(error))); apply the manifest file")
        }
        let source = "the stored manifest of job \(original)"
        var manifest = try ManifestParser.validate([document], fileName: source, registry: registry).jobs[0]
        manifest.metadata.name = name
        let pipeline = try ManifestParser.validate(encodedDocuments: [manifest], fileName: source, registry: registry)
        return try newJob(for: pipeline.jobs[0])
    }

    private func newJob(for manifest: JobManifest) throws -> NewJob {
        let spec = manifest.spec
        let taskSpecs = try planners.planner(forKind: spec.type).taskSpecs(for: manifest)
        let manifestJSON = String(decoding: try WireCoding.encode(manifest), as: UTF8.self)
        var job = NewJob(
            name: manifest.name, type: spec.type, spec: manifestJSON, queue: spec.queue, priority: spec.priority,
            replicas: spec.replicas, resources: spec.resources, retryPolicy: spec.retry,
            after: spec.after.map { NewJob.Dependency($0, onFailure: spec.onDependencyFailure) },
            nodeSelector: spec.nodeSelector, tasks: taskSpecs.map { NewTask(spec: JSONText.encode($0)) },
            readsLocations: RemoteDatasetLocations.read(by: taskSpecs))
        job.placedByScheduler = AdmissionChecks.placedByScheduler(type: spec.type, taskSpecs: taskSpecs)
        return job
    }
}

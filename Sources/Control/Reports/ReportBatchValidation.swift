// A report batch is checked whole before anything is written, so a 400 stores nothing: before, the log lines
// and metrics ahead of a malformed artifact were committed and the batch was still refused. The checks are the
// stores' own, with field paths that name the item in the batch (`artifacts[2].artifact.sha256`), so the
// worker's log says which item was refused. NUL characters were refused already with the body (JSONBodyCheck).

import APITypes
import ClusterModel

enum ReportBatchValidation {
    static func validate(_ batch: ReportBatch) throws {
        for (i, metric) in batch.metrics.enumerated() {
            try at("metrics[\(i)]") {
                try MetricStore.validate(MetricPoint(name: metric.name, step: metric.step, value: metric.value))
            }
        }
        for (i, report) in batch.artifacts.enumerated() {
            try at("artifacts[\(i)].artifact") { try ArtifactCatalog.validate(newArtifact(report.artifact)) }
        }
        for (i, completion) in batch.completions.enumerated() {
            for (j, artifact) in completion.artifacts.enumerated() {
                try at("completions[\(i)].artifacts[\(j)]") { try ArtifactCatalog.validate(newArtifact(artifact)) }
            }
        }
    }

    /// The store's row for an artifact a worker reported (the job is filled in when it is registered).
    static func newArtifact(_ artifact: ArtifactRecord, job: JobID = JobID(0), task: TaskID? = nil) -> NewArtifact {
        NewArtifact(
            job: job, task: task, name: artifact.name, kind: artifact.kind ?? "", location: artifact.location,
            sha256: artifact.sha256, bytes: artifact.bytes, metadata: artifact.metadata.map(JSONText.encode) ?? "{}")
    }

    /// Runs a store check, prefixing the field it names with the item's path in the batch.
    private static func at(_ path: String, _ check: () throws -> Void) throws {
        do { try check() } catch StoreError.invalid(let field, let message) {
            throw StoreError.invalid(field: "\(path).\(field)", message: message)
        }
    }
}

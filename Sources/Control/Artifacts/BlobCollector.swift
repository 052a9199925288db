// Garbage collection of blobs: a blob is deleted when no row references its checksum
// (`BlobReferenceSQL.referencedAmong`) and it is older than the grace period, so an upload whose row is not
// written yet survives. Storing an existing blob again makes it young (`BlobFiles.store` touches it;
// `S3ArtifactStore` re-uploads an object older than its refresh age), which closes the window between a
// worker finding the blob present and its row arriving.

import APITypes
import Foundation

struct BlobCollector {
    let space: any BlobSpace
    let references: BlobReferenceStore
    let graceSeconds: Double
    /// Unfinished upload sessions are the blob backend's; nil under s3.
    let uploads: UploadSessions?

    func collect(now: Date = Date()) throws -> BlobCollectionReport {
        var report = BlobCollectionReport(backend: space.backend, graceSeconds: graceSeconds)
        let blobs = try space.blobs(now: now)
        report.examined = blobs.count
        let old = blobs.filter { $0.ageSeconds >= graceSeconds }
        report.young = blobs.count - old.count
        let referenced = try references.referenced(among: old.map(\.sha256))
        for blob in old {
            if referenced.contains(blob.sha256) {
                report.referenced += 1
                continue
            }
            guard try space.delete(blob.sha256, unlessModifiedAfter: now.addingTimeInterval(-graceSeconds)) else {
                report.young += 1
                continue
            }
            report.deleted += 1
            report.deletedBytes += blob.bytes
        }
        report.expiredUploads = uploads?.expire(now: now) ?? 0
        return report
    }

    /// The collector of this control plane's backend.
    static func make(_ services: ControlServices, log: @escaping @Sendable (String) -> Void) throws -> BlobCollector {
        let configuration = services.configuration
        return BlobCollector(
            space: try BlobSpaces.make(configuration, log: log), references: BlobReferenceStore(pool: services.pool),
            graceSeconds: configuration.storage.garbageGraceSeconds, uploads: UploadRoutes.sessions(services))
    }
}

// The cluster's storage backend, chosen when the control plane starts (`opsctl serve --storage blob|s3`), and
// the housekeeping of its blobs: garbage collection of unreferenced blobs and expiry of unfinished uploads.

import APITypes
import ObjectStore

public struct StorageConfiguration: Sendable {
    /// What workers are told at `GET /v1/storage`.
    public var description: StorageDescription
    /// The control plane's own S3 keys (for garbage collection under the s3 backend); never sent to anyone.
    public var s3Credentials: S3Credentials?
    /// An unreferenced blob younger than this is kept: its upload may not be registered yet. An hour covers a
    /// checkpoint uploaded at the start of a long report backlog.
    public var garbageGraceSeconds: Double
    /// How often the background collector runs (0 = never; `POST /v1/storage/collect` still does).
    public var garbageIntervalSeconds: Double
    /// An upload session with no chunk for this long is deleted (its client would start again).
    public var uploadExpirySeconds: Double

    public init(
        description: StorageDescription = .blob, s3Credentials: S3Credentials? = nil,
        garbageGraceSeconds: Double = 3600, garbageIntervalSeconds: Double = 600, uploadExpirySeconds: Double = 86_400
    ) {
        precondition(garbageGraceSeconds >= 0 && garbageIntervalSeconds >= 0 && uploadExpirySeconds > 0)
        self.description = description
        self.s3Credentials = s3Credentials
        self.garbageGraceSeconds = garbageGraceSeconds
        self.garbageIntervalSeconds = garbageIntervalSeconds
        self.uploadExpirySeconds = uploadExpirySeconds
    }

    /// The bucket's client for the s3 backend; nil for the blob backend.
    func objectStore(log: @escaping @Sendable (String) -> Void) throws -> S3ObjectStore? {
        guard let s3 = description.s3 else { return nil }
        guard let s3Credentials else {
            throw ObjectStoreError.missingCredentials(
                detail: "the s3 backend needs the control plane's own credentials to collect garbage")
        }
        return S3ObjectStore(
            configuration: try S3Configuration(
                endpoint: s3.endpoint, region: s3.region, bucket: s3.bucket, credentials: s3Credentials),
            log: log)
    }
}

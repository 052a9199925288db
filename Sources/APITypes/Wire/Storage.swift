// The cluster's storage backend as the control plane describes it (`GET /v1/storage`), resumable uploads of
// large blobs (`/v1/uploads`) and the garbage collector's report. A description never carries credentials:
// every process reads its own S3 keys from its environment or credentials file.

/// Where the cluster keeps blobs (checkpoints, shards, uploaded inputs).
public enum StorageBackendKind: String, Codable, Sendable, CaseIterable {
    /// The control plane's own content-addressed store: `cp://blobs/<sha256>`.
    case blob
    /// An S3-compatible bucket: `s3://<bucket>/<prefix>/blobs/<sha256>`.
    case s3
}

/// The S3 bucket of a cluster whose backend is `s3`.
public struct S3StorageDescription: Codable, Hashable, Sendable {
    /// `scheme://host[:port]`, e.g. `https://s3.eu-west-1.amazonaws.com`.
    public var endpoint: String
    public var region: String
    public var bucket: String
    /// Keys are `<keyPrefix>/blobs/<sha256>` (just `blobs/<sha256>` when empty); no leading or trailing `/`.
    public var keyPrefix: String

    public init(endpoint: String, region: String, bucket: String, keyPrefix: String) {
        self.endpoint = endpoint
        self.region = region
        self.bucket = bucket
        self.keyPrefix = keyPrefix
    }

    /// The key of the blob with this checksum.
    public func blobKey(_ sha256: String) -> String { blobKeyPrefix + sha256 }

    /// What every blob key starts with.
    public var blobKeyPrefix: String { keyPrefix.isEmpty ? "blobs/" : keyPrefix + "/blobs/" }
}

/// `GET /v1/storage`: the backend workers and `opsctl` must use to store and fetch blobs.
public struct StorageDescription: Codable, Hashable, Sendable {
    public var backend: StorageBackendKind
    /// Present exactly when `backend` is `s3`.
    public var s3: S3StorageDescription?

    public init(backend: StorageBackendKind, s3: S3StorageDescription? = nil) {
        precondition((backend == .s3) == (s3 != nil), "an s3 description goes with the s3 backend only")
        self.backend = backend
        self.s3 = s3
    }

    public static let blob = StorageDescription(backend: .blob)
}

/// `POST /v1/uploads` and `GET /v1/uploads/{id}`: an upload session and how many bytes it holds. A chunk is
/// appended with `PUT /v1/uploads/{id}?offset=N` only at `offset` (409 `conflict` with this body otherwise).
public struct UploadSessionResponse: Codable, Hashable, Sendable {
    public var id: String
    /// Bytes received so far: where the next chunk starts.
    public var offset: Int64
    /// The session is deleted when no chunk arrived for this long.
    public var expiresAfterSeconds: Double

    public init(id: String, offset: Int64, expiresAfterSeconds: Double) {
        self.id = id
        self.offset = offset
        self.expiresAfterSeconds = expiresAfterSeconds
    }
}

/// `POST /v1/storage/collect`: what one garbage-collection pass over the cluster's blobs did.
public struct BlobCollectionReport: Codable, Hashable, Sendable {
    public var backend: StorageBackendKind
    /// Blobs looked at.
    public var examined: Int
    /// Kept because a row (artifact, shard, ...) names their checksum.
    public var referenced: Int
    /// Unreferenced but younger than the grace period (an upload whose row is not written yet).
    public var young: Int
    public var deleted: Int
    public var deletedBytes: Int64
    /// Unfinished upload sessions removed because no chunk came for their expiry time.
    public var expiredUploads: Int
    public var graceSeconds: Double

    public init(
        backend: StorageBackendKind, examined: Int = 0, referenced: Int = 0, young: Int = 0, deleted: Int = 0,
        deletedBytes: Int64 = 0, expiredUploads: Int = 0, graceSeconds: Double
    ) {
        self.backend = backend
        self.examined = examined
        self.referenced = referenced
        self.young = young
        self.deleted = deleted
        self.deletedBytes = deletedBytes
        self.expiredUploads = expiredUploads
        self.graceSeconds = graceSeconds
    }
}

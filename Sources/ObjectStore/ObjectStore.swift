// ObjectStore: where shards, checkpoints and artifacts live when nodes share nothing but the network (issue 14).
// The protocol is what a worker needs from any backend; S3ObjectStore is the S3-compatible one.

import Foundation

/// What a store knows about one object.
public struct ObjectInfo: Sendable, Equatable {
    public let key: String
    public let sizeBytes: Int64
    /// The server's entity tag, without quotes (an MD5 for single puts, `<md5>-<parts>` for multipart ones).
    public let etag: String
    /// Lower-case hex SHA-256 of the whole object when the writer recorded one (S3ObjectStore does, as user
    /// metadata); nil when unknown (a listing, or an object written by another client).
    public let sha256: String?
    /// When the object was last written (S3's `LastModified` in a listing, `Last-Modified` on HEAD); the garbage
    /// collector's age of a blob. Nil when the server did not say.
    public let lastModified: Date?

    public init(key: String, sizeBytes: Int64, etag: String, sha256: String? = nil, lastModified: Date? = nil) {
        (self.key, self.sizeBytes, self.etag, self.sha256) = (key, sizeBytes, etag, sha256)
        self.lastModified = lastModified
    }
}

/// A flat namespace of keys in one bucket. Every call either completes or throws: a failed put leaves no
/// object (nor a half-written multipart upload), a failed download leaves no file.
public protocol ObjectStore: Sendable {
    /// Uploads the file at `path` (streamed; multipart above the store's part size) and records its SHA-256.
    @discardableResult
    func put(key: String, fromFile path: String) throws(ObjectStoreError) -> ObjectInfo
    @discardableResult
    func put(key: String, data: Data) throws(ObjectStoreError) -> ObjectInfo
    /// Downloads the object (or the inclusive byte `range` of it) into `path`, replacing it. A whole-object
    /// download is checked against `expectedSHA256`, else against the SHA-256 recorded at upload, if any.
    func get(key: String, toFile path: String, range: ClosedRange<Int64>?, expectedSHA256: String?)
        throws(ObjectStoreError)
    /// The object (or the inclusive byte `range` of it) in memory; checked like `get(key:toFile:)`.
    func get(key: String, range: ClosedRange<Int64>?, expectedSHA256: String?) throws(ObjectStoreError) -> Data
    func head(key: String) throws(ObjectStoreError) -> ObjectInfo
    /// Every object whose key starts with `prefix`, in key order.
    func list(prefix: String) throws(ObjectStoreError) -> [ObjectInfo]
    /// Deletes the object; deleting a missing key succeeds (S3's semantics), so a retried delete is harmless.
    func delete(key: String) throws(ObjectStoreError)
}

extension ObjectStore {
    public func get(key: String, toFile path: String) throws(ObjectStoreError) {
        try get(key: key, toFile: path, range: nil, expectedSHA256: nil)
    }

    public func get(key: String, range: ClosedRange<Int64>? = nil) throws(ObjectStoreError) -> Data {
        try get(key: key, range: range, expectedSHA256: nil)
    }
}

// The artifact store of a cluster whose backend is an S3 bucket: blobs are content-addressed objects
// `<prefix>/blobs/<sha256>` (a blob already there is not uploaded again), located as
// `s3://<bucket>/<prefix>/blobs/<sha256>`, and fetched into the worker's cache verified by SHA-256 (a corrupt
// transfer is fetched once more, then reported: `S3ObjectStore.get`). Errors name the bucket and the missing
// permission (`ObjectStoreError`).

import APITypes
import Checksum
import Foundation
import ObjectStore

public struct S3ArtifactStore: ArtifactStore {
    public let store: any ObjectStore
    public let description: S3StorageDescription
    public let cacheDirectory: URL
    /// An existing object older than this is uploaded again rather than reused: that makes it young for the
    /// garbage collector (default grace 1 h) while the row naming it is on its way. 10 minutes is well inside.
    public let refreshAfterSeconds: Double

    public init(
        store: any ObjectStore, description: S3StorageDescription, cacheDirectory: URL,
        refreshAfterSeconds: Double = 600
    ) {
        self.store = store
        self.description = description
        self.cacheDirectory = cacheDirectory
        self.refreshAfterSeconds = refreshAfterSeconds
    }

    /// `s3://bucket/<prefix>/blobs/<sha256>`.
    public func location(of sha256: String) -> String { "s3://\(description.bucket)/\(description.blobKey(sha256))" }

    public func store(file: URL, name: String, kind: String? = nil, metadata: AnyJSON? = nil) throws -> ArtifactRecord {
        let sha: String
        let bytes: Int64
        do {
            sha = try SHA256.hex(ofFileAt: file.path)
            bytes = (try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? NSNumber)?.int64Value ?? 0
        } catch {
            throw ArtifactStoreError.unreadable(path: file.path, reason: "\(error)")
        }
        let key = description.blobKey(sha)
        if try !isFreshCopy(key: key, bytes: bytes) {
            do { try store.put(key: key, fromFile: file.path) } catch {
                throw ArtifactStoreError.writeFailed(path: location(of: sha), reason: error.description)
            }
        }
        return ArtifactRecord(
            name: name, location: location(of: sha), sha256: sha, bytes: bytes, kind: kind, metadata: metadata)
    }

    /// HEAD first: an object of this key with the right size, written recently, is this blob already.
    private func isFreshCopy(key: String, bytes: Int64) throws -> Bool {
        let info: ObjectInfo
        do throws(ObjectStoreError) {
            info = try store.head(key: key)
        } catch {
            if case .noSuchKey = error { return false }
            throw ArtifactStoreError.writeFailed(path: "s3://\(description.bucket)/\(key)", reason: error.description)
        }
        guard info.sizeBytes == bytes, let written = info.lastModified else { return false }
        return Date().timeIntervalSince(written) < refreshAfterSeconds
    }

    public func localPath(for location: String) throws -> URL {
        guard location.hasPrefix("s3://") else {
            // A path on a filesystem this node can see.
            return try FileArtifactStore(root: cacheDirectory).localPath(for: location)
        }
        let url: S3URL
        do { url = try S3URL(location) } catch {
            throw ArtifactStoreError.unreadable(path: location, reason: "\(error)")
        }
        guard url.bucket == description.bucket else {
            throw ArtifactStoreError.unreadable(
                path: location,
                reason: "this cluster's bucket is \"\(description.bucket)\"; fetch other buckets by dataset URL")
        }
        // Content-addressed keys end in their checksum, which the download must match; any other key is cached
        // under the checksum of its URL and verified against the SHA-256 recorded at upload, if any.
        let last = String(url.key.split(separator: "/").last ?? "")
        let expected = last.count == 64 && last.allSatisfy { $0.isHexDigit && !$0.isUppercase } ? last : nil
        let cacheName = expected ?? "url-" + SHA256.hex(of: Array(location.utf8))
        let directory = cacheDirectory.appendingPathComponent("blobs").appendingPathComponent(
            String(cacheName.prefix(2)))
        let cached = directory.appendingPathComponent(cacheName)
        if FileManager.default.fileExists(atPath: cached.path) { return cached }
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        do throws(ObjectStoreError) {
            try store.get(key: url.key, toFile: cached.path, range: nil, expectedSHA256: expected)
        } catch {
            if case .noSuchKey = error { throw ArtifactStoreError.notFound(location: location) }
            throw ArtifactStoreError.unreadable(path: location, reason: error.description)
        }
        return cached
    }
}

// The blobs of one backend as the garbage collector sees them: each blob's checksum, size and age, and a way
// to delete one. `BlobFileSpace` is the control plane's directory, `S3BlobSpace` the cluster's bucket.

import APITypes
import Foundation
import ObjectStore

struct StoredBlob: Sendable, Equatable {
    let sha256: String
    let bytes: Int64
    let ageSeconds: Double
}

protocol BlobSpace: Sendable {
    var backend: StorageBackendKind { get }
    func blobs(now: Date) throws -> [StoredBlob]
    /// Deletes the blob unless it was written (or stored again) after `cutoff`; false when it was kept.
    func delete(_ sha256: String, unlessModifiedAfter cutoff: Date) throws -> Bool
    /// Whether the blob is there and young for the collector for a while yet, so a client told "stored" may name
    /// it in a submission without uploading it (`POST /v1/blobs/missing`). A blob that cannot be made young
    /// counts as missing: the client uploads it again, which does.
    func holdsRecent(_ sha256: String, now: Date) throws -> Bool
}

/// This control plane's blob space: its bucket under the `s3` backend, else its directory.
enum BlobSpaces {
    static func make(_ configuration: ControlPlaneConfiguration, log: @escaping @Sendable (String) -> Void) throws
        -> any BlobSpace
    {
        if let store = try configuration.storage.objectStore(log: log), let s3 = configuration.storage.description.s3 {
            return S3BlobSpace(store: store, description: s3)
        }
        return BlobFileSpace(files: BlobFiles(artifactDirectory: configuration.artifactDirectory))
    }
}

/// `<artifactDirectory>/blobs/<aa>/<sha256>`; temporaries (`*.partial`) are not blobs and are left alone.
struct BlobFileSpace: BlobSpace {
    let files: BlobFiles
    var backend: StorageBackendKind { .blob }

    /// Present, and its modification time set to now (as storing it again would), so it is young again.
    func holdsRecent(_ sha256: String, now: Date) throws -> Bool {
        let path = files.path(sha256)
        guard FileManager.default.fileExists(atPath: path) else { return false }
        try? FileManager.default.setAttributes([.modificationDate: now], ofItemAtPath: path)
        return true
    }

    func blobs(now: Date) throws -> [StoredBlob] {
        let root = files.artifactDirectory + "/blobs"
        let fm = FileManager.default
        guard let fanout = try? fm.contentsOfDirectory(atPath: root) else { return [] }
        var found: [StoredBlob] = []
        for directory in fanout.sorted() where directory.count == 2 {
            for name in (try? fm.contentsOfDirectory(atPath: root + "/" + directory)) ?? []
            where (try? BlobFiles.name(name)) != nil {
                guard let attributes = try? fm.attributesOfItem(atPath: root + "/\(directory)/\(name)"),
                    let modified = attributes[.modificationDate] as? Date
                else { continue } // deleted meanwhile
                let bytes = (attributes[.size] as? NSNumber)?.int64Value ?? 0
                found.append(
                    StoredBlob(sha256: name, bytes: bytes, ageSeconds: now.timeIntervalSince(modified)))
            }
        }
        return found
    }

    func delete(_ sha256: String, unlessModifiedAfter cutoff: Date) throws -> Bool {
        // Checked again at the last moment: a PUT of the same blob since the listing touched it for a new row.
        let modified = (try? FileManager.default.attributesOfItem(atPath: files.path(sha256)))?[.modificationDate]
        if let modified = modified as? Date, modified > cutoff { return false }
        if unlink(files.path(sha256)) != 0 && errno != ENOENT {
            throw APIErrorBody(
                code: .internalError,
                message:
                    "cannot delete blob \(sha256): \(String(cString: strerror(errno))); check the artifact directory")
        }
        return true
    }
}

/// `<prefix>/blobs/<sha256>` objects of the cluster's bucket.
struct S3BlobSpace: BlobSpace {
    let store: any ObjectStore
    let description: S3StorageDescription
    var backend: StorageBackendKind { .s3 }

    /// Objects cannot be touched: present and written in the last 10 minutes (the same window in which
    /// `S3ArtifactStore` reuses an object instead of uploading it again), well inside the 1 h grace.
    func holdsRecent(_ sha256: String, now: Date) throws -> Bool {
        let info: ObjectInfo
        do { info = try store.head(key: description.blobKey(sha256)) } catch ObjectStoreError.noSuchKey {
            return false
        }
        guard let modified = info.lastModified else { return false }
        return now.timeIntervalSince(modified) < 600
    }

    func blobs(now: Date) throws -> [StoredBlob] {
        // Listed by the prefix's first segment and filtered here: moto (the test server) refuses a correctly signed
        // listing whose prefix holds a `/` (docs/storage.md); on S3 this lists only the cluster's own prefix.
        let blobPrefix = description.blobKeyPrefix
        let listPrefix = String(blobPrefix.prefix { $0 != "/" })
        return try store.list(prefix: listPrefix).compactMap { object in
            guard object.key.hasPrefix(blobPrefix) else { return nil }
            let name = String(object.key.dropFirst(blobPrefix.count))
            guard (try? BlobFiles.name(name)) != nil else { return nil }
            // No timestamp: treat as new, never delete what cannot be aged.
            let age = object.lastModified.map { now.timeIntervalSince($0) } ?? 0
            return StoredBlob(sha256: name, bytes: object.sizeBytes, ageSeconds: age)
        }
    }

    /// S3 has no conditional delete by age; the window is the listing's, and `S3ArtifactStore` re-uploads objects
    /// older than 10 minutes (well inside the 1 h grace) instead of reusing them.
    func delete(_ sha256: String, unlessModifiedAfter cutoff: Date) throws -> Bool {
        try store.delete(key: description.blobKey(sha256))
        return true
    }
}

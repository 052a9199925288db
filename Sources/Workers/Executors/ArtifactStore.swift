// Where executors put the files they produce. Rows in the database only hold an artifact's location and
// checksum; the bytes live here. The file store is a directory (local, or a shared filesystem mounted on every
// node): content-addressed by SHA-256 so a retried attempt that writes the same bytes stores them once.

import APITypes
import Checksum
import Foundation

public protocol ArtifactStore: Sendable {
    /// Stores the file and returns its record (location, sha256, bytes). The source file is left in place.
    func store(file: URL, name: String, kind: String?, metadata: AnyJSON?) throws -> ArtifactRecord
    /// A readable local path for a stored artifact's location (for `initFrom:` a checkpoint).
    func localPath(for location: String) throws -> URL
}

public enum ArtifactStoreError: Error, CustomStringConvertible, Sendable {
    case unreadable(path: String, reason: String)
    case writeFailed(path: String, reason: String)
    case notFound(location: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "cannot read artifact file \(path): \(reason)"
        case .writeFailed(let path, let reason):
            return "cannot write to the artifact store at \(path): \(reason) (check --artifact-dir / OPS_ARTIFACT_DIR)"
        case .notFound(let location):
            return
                "artifact \(location) is not in the store (was it written on another node without a shared --artifact-dir?)"
        }
    }
}

public struct FileArtifactStore: ArtifactStore {
    public let root: URL

    public init(root: URL) { self.root = root }

    public func store(file: URL, name: String, kind: String? = nil, metadata: AnyJSON? = nil) throws -> ArtifactRecord {
        let sha: String
        do { sha = try SHA256.hex(ofFileAt: file.path) } catch {
            throw ArtifactStoreError.unreadable(path: file.path, reason: "\(error)")
        }
        let bytes: Int64
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: file.path)
            bytes = (attributes[.size] as? NSNumber)?.int64Value ?? 0
        } catch {
            throw ArtifactStoreError.unreadable(path: file.path, reason: "\(error)")
        }
        let directory = root.appendingPathComponent("blobs").appendingPathComponent(String(sha.prefix(2)))
        let destination = directory.appendingPathComponent(sha)
        let fm = FileManager.default
        if !fm.fileExists(atPath: destination.path) {
            do {
                try fm.createDirectory(at: directory, withIntermediateDirectories: true)
                // Copy to a temporary name and rename, so a reader never sees a half-written blob.
                let temporary = directory.appendingPathComponent(".\(sha).\(UUID().uuidString).tmp")
                try fm.copyItem(at: file, to: temporary)
                if rename(temporary.path, destination.path) != 0 {
                    let reason = String(cString: strerror(errno))
                    try? fm.removeItem(at: temporary)
                    throw ArtifactStoreError.writeFailed(path: destination.path, reason: reason)
                }
            } catch let error as ArtifactStoreError {
                throw error
            } catch {
                throw ArtifactStoreError.writeFailed(path: directory.path, reason: "\(error)")
            }
        }
        return ArtifactRecord(
            name: name, location: destination.path, sha256: sha, bytes: bytes, kind: kind, metadata: metadata)
    }

    public func localPath(for location: String) throws -> URL {
        let url = URL(fileURLWithPath: location)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ArtifactStoreError.notFound(location: location)
        }
        return url
    }
}

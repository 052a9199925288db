// The artifact store for nodes without a shared filesystem: files are uploaded to the control plane
// (`PUT /v1/blobs/{sha256}`, streamed from disk) and fetched back by checksum (`GET /v1/blobs/{sha256}`) into a
// local cache, verified before use. Locations look like `cp://blobs/<sha256>`.
//
// Calls block while bytes move: executors call `registerArtifact` / `localPath` from `context.runBlocking`
// for large files.

import APIClient
import APITypes
import Checksum
import Foundation
import HTTPClient
import Primitives

public struct ControlPlaneArtifactStore: ArtifactStore {
    public static let scheme = "cp://blobs/"

    public let baseURL: String
    public let token: BearerToken
    public let cacheDirectory: URL
    /// Files larger than this go up as a resumable upload (`/v1/uploads`) in chunks of `chunkBytes`, so a
    /// dropped connection costs one chunk, not the file. 64 MiB: below it one `PUT` is cheaper than four calls.
    public let resumableAboveBytes: Int64
    public let chunkBytes: Int64
    private let client: HTTPClient

    /// `token`: share the worker API's token (`HTTPControlPlaneAPI.requester.token`), which becomes the
    /// per-worker token after registration.
    public init(
        baseURL: String, token: BearerToken, cacheDirectory: URL, client: HTTPClient = HTTPClient(),
        resumableAboveBytes: Int64 = 64 << 20, chunkBytes: Int64 = 32 << 20
    ) {
        precondition(resumableAboveBytes >= 0 && chunkBytes > 0)
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.token = token
        self.cacheDirectory = cacheDirectory
        self.client = client
        self.resumableAboveBytes = resumableAboveBytes
        self.chunkBytes = chunkBytes
    }

    private var headers: [String: String] {
        token.value.map { ["Authorization": "Bearer \($0)"] } ?? [:]
    }

    public func store(file: URL, name: String, kind: String? = nil, metadata: AnyJSON? = nil) throws -> ArtifactRecord {
        let sha: String
        do { sha = try SHA256.hex(ofFileAt: file.path) } catch {
            throw ArtifactStoreError.unreadable(path: file.path, reason: "\(error)")
        }
        let url = baseURL + APIRoute.putBlob.path(sha)
        let sizeBytes =
            (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? NSNumber)?.int64Value ?? 0
        let response: HTTPClientResponse
        if sizeBytes > resumableAboveBytes {
            response = try ResumableBlobUpload(
                baseURL: baseURL, headers: headers, client: client, chunkBytes: chunkBytes, maxFailures: 6,
                backoff: ExponentialBackoff(initialSeconds: 0.2, maximumSeconds: 5)
            ).upload(file: file, sha256: sha, sizeBytes: sizeBytes)
        } else {
            do {
                response = try client.upload(
                    url: url, fromFile: file.path,
                    headers: headers.merging(["Content-Type": "application/octet-stream"]) { a, _ in a })
            } catch {
                throw ArtifactStoreError.writeFailed(path: url, reason: "\(error)")
            }
        }
        guard response.isSuccess else {
            throw ArtifactStoreError.writeFailed(path: url, reason: Self.explain(response))
        }
        let uploaded: BlobUploadResponse
        do { uploaded = try WireCoding.decode(BlobUploadResponse.self, from: response.body) } catch {
            throw ArtifactStoreError.writeFailed(path: url, reason: "unexpected answer: \(WireCoding.describe(error))")
        }
        guard uploaded.sha256 == sha else {
            throw ArtifactStoreError.writeFailed(
                path: url, reason: "the control plane stored sha256 \(uploaded.sha256), the file has \(sha)")
        }
        return ArtifactRecord(
            name: name, location: uploaded.location, sha256: sha, bytes: uploaded.bytes, kind: kind, metadata: metadata)
    }

    public func localPath(for location: String) throws -> URL {
        guard location.hasPrefix(Self.scheme) else {
            // A path on a filesystem this node can see.
            return try FileArtifactStore(root: cacheDirectory).localPath(for: location)
        }
        let sha = String(location.dropFirst(Self.scheme.count))
        guard sha.count == 64, sha.allSatisfy({ $0.isHexDigit }) else {
            throw ArtifactStoreError.notFound(location: location)
        }
        let directory = cacheDirectory.appendingPathComponent("blobs").appendingPathComponent(String(sha.prefix(2)))
        let cached = directory.appendingPathComponent(sha)
        if FileManager.default.fileExists(atPath: cached.path) { return cached }
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let temporary = directory.appendingPathComponent(".\(sha).\(UUID().uuidString).tmp")
        defer { try? FileManager.default.removeItem(at: temporary) }
        let url = baseURL + APIRoute.getBlob.path(sha)
        // Hashed on its own thread while the bytes arrive: no second read of the file (0.75 → ~0.9 of curl).
        let hasher = BackgroundSHA256()
        let response: HTTPClientResponse
        do {
            response = try client.download(url: url, to: temporary.path, headers: headers) { hasher.update($0) }
        } catch {
            _ = hasher.finalizeHex()
            throw ArtifactStoreError.unreadable(path: url, reason: "\(error)")
        }
        let actual = hasher.finalizeHex()
        if response.status == 404 { throw ArtifactStoreError.notFound(location: location) }
        guard response.isSuccess else { throw ArtifactStoreError.unreadable(path: url, reason: Self.explain(response)) }
        guard actual == sha else {
            throw ArtifactStoreError.unreadable(
                path: url, reason: "downloaded bytes hash to \(actual), expected \(sha); the copy was discarded")
        }
        guard rename(temporary.path, cached.path) == 0 else {
            throw ArtifactStoreError.writeFailed(path: cached.path, reason: String(cString: strerror(errno)))
        }
        return cached
    }

    private static func explain(_ response: HTTPClientResponse) -> String {
        if let body = try? WireCoding.decode(APIErrorBody.self, from: response.body) {
            return "HTTP \(response.status) \(body)"
        }
        return "HTTP \(response.status)"
    }
}

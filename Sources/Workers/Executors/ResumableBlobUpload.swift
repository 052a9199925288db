// The client side of the control plane's resumable uploads (`/v1/uploads`): a large file goes up in chunks,
// each `PUT` at the offset the server holds; after a dropped connection or a 5xx the client asks the server's
// offset (`GET /v1/uploads/{id}`) and goes on from there, so a 10 GiB checkpoint does not start again because
// one connection broke. `complete` has the server verify the SHA-256 and store the blob.

import APITypes
import Foundation
import HTTPClient
import Primitives

struct ResumableBlobUpload {
    let baseURL: String
    let headers: [String: String]
    let client: HTTPClient
    /// 32 MiB: a chunk is read into memory once; a lost one costs at most that much re-sent.
    let chunkBytes: Int64
    /// Consecutive failures (no progress) before giving up.
    let maxFailures: Int
    let backoff: ExponentialBackoff

    func upload(file: URL, sha256: String, sizeBytes: Int64) throws -> HTTPClientResponse {
        precondition(chunkBytes > 0 && maxFailures > 0)
        let id = try session(APIRoute.createUpload.path(), method: "POST").id
        guard let handle = FileHandle(forReadingAtPath: file.path) else {
            throw ArtifactStoreError.unreadable(path: file.path, reason: "cannot open")
        }
        defer { try? handle.close() }
        var offset: Int64 = 0
        var failures = 0
        while offset < sizeBytes {
            let end = min(sizeBytes, offset + chunkBytes)
            do {
                offset = try sendChunk(id: id, handle: handle, file: file, range: offset..<end)
                failures = 0
            } catch let error as ArtifactStoreError {
                throw error
            } catch {
                failures += 1
                guard failures < maxFailures else {
                    throw ArtifactStoreError.writeFailed(
                        path: baseURL + APIRoute.appendUpload.path(id),
                        reason: "\(error) (\(failures) attempts without progress at offset \(offset))")
                }
                Thread.sleep(forTimeInterval: backoff.delaySeconds(afterFailures: failures))
                // Where the server really is: the lost chunk may or may not have arrived.
                if let status = try? session(APIRoute.uploadStatus.path(id), method: "GET") { offset = status.offset }
            }
        }
        let url = baseURL + APIRoute.completeUpload.path(id, query: [("sha256", sha256)])
        do {
            return try client.send(HTTPClientRequest(method: "POST", url: url, headers: headers, timeoutSeconds: 600))
        } catch {
            throw ArtifactStoreError.writeFailed(path: url, reason: "\(error)")
        }
    }

    /// One chunk at `range`; returns the server's new offset (a 409 tells the offset it holds instead).
    private func sendChunk(id: String, handle: FileHandle, file: URL, range: Range<Int64>) throws -> Int64 {
        let chunk: Data
        do {
            try handle.seek(toOffset: UInt64(range.lowerBound))
            chunk = try handle.read(upToCount: Int(range.count)) ?? Data()
        } catch {
            throw ArtifactStoreError.unreadable(path: file.path, reason: "\(error)")
        }
        guard chunk.count == range.count else {
            throw ArtifactStoreError.unreadable(path: file.path, reason: "the file shrank while being uploaded")
        }
        let url = baseURL + APIRoute.appendUpload.path(id, query: [("offset", String(range.lowerBound))])
        let response = try client.send(
            HTTPClientRequest(
                method: "PUT", url: url,
                headers: headers.merging(["Content-Type": "application/octet-stream"]) { a, _ in a }, body: chunk,
                timeoutSeconds: 600))
        if response.status == 409, let held = response.header("Upload-Offset").flatMap({ Int64($0) }) { return held }
        if response.status >= 500 { throw ResumableUploadRetry(status: response.status) }
        guard response.isSuccess else {
            throw ArtifactStoreError.writeFailed(path: url, reason: "HTTP \(response.status)")
        }
        return try decode(response, url: url).offset
    }

    private func session(_ path: String, method: String) throws -> UploadSessionResponse {
        let url = baseURL + path
        let response: HTTPClientResponse
        do {
            response = try client.send(HTTPClientRequest(method: method, url: url, headers: headers))
        } catch {
            throw ArtifactStoreError.writeFailed(path: url, reason: "\(error)")
        }
        guard response.isSuccess else {
            throw ArtifactStoreError.writeFailed(path: url, reason: "HTTP \(response.status)")
        }
        return try decode(response, url: url)
    }

    private func decode(_ response: HTTPClientResponse, url: String) throws -> UploadSessionResponse {
        do { return try WireCoding.decode(UploadSessionResponse.self, from: response.body) } catch {
            throw ArtifactStoreError.writeFailed(path: url, reason: "unexpected answer: \(WireCoding.describe(error))")
        }
    }
}

/// A 5xx answer to a chunk: retried like a dropped connection.
struct ResumableUploadRetry: Error, CustomStringConvertible {
    let status: Int
    var description: String { "HTTP \(status)" }
}

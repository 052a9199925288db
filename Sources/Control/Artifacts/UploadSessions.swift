// Resumable uploads of large blobs: a session is a file `<artifactDirectory>/uploads/<id>` that chunks are
// appended to, each at exactly the offset the file has. A chunk whose connection drops never reaches the
// handler (the server only calls it with a whole body), so the file only ever grows by whole chunks and a
// client resumes at the offset `GET /v1/uploads/{id}` reports. `complete` verifies the SHA-256 and moves the
// file into the blob store (`BlobFiles.store`); sessions with no chunk for `expirySeconds` are deleted.

import APITypes
import Foundation

/// A chunk sent at the wrong offset (a retry of a chunk that did arrive, or two writers): the session's offset.
struct UploadOffsetConflict: Error {
    let offset: Int64
    let message: String
}

struct UploadSessions {
    let artifactDirectory: String
    let expirySeconds: Double
    /// A session never grows past the blob limit (`ControlPlaneConfiguration.maxBlobBytes`).
    let maxBytes: Int64

    var directory: String { artifactDirectory + "/uploads" }

    /// A session id: 32 lower-case hex digits (so it is always a safe file name).
    static func id(_ text: String) throws -> String {
        guard text.utf8.count == 32, text.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) })
        else {
            throw APIErrorBody(
                code: .badRequest, message: "upload id: expected 32 lower-case hex digits, got \"\(text)\"")
        }
        return text
    }

    func path(_ id: String) -> String { directory + "/" + id }

    func create() throws -> UploadSessionResponse {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let id = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        guard FileManager.default.createFile(atPath: path(id), contents: nil) else {
            throw APIErrorBody(
                code: .internalError,
                message: "cannot create upload session in \(directory); check the artifact directory")
        }
        return response(id, offset: 0)
    }

    func status(_ id: String) throws -> UploadSessionResponse {
        var info = stat()
        guard stat(path(id), &info) == 0 else { throw unknown(id) }
        return response(id, offset: Int64(info.st_size))
    }

    /// Appends the chunk (in memory, or the spooled `bodyFile`) when `offset` is the session's size.
    func append(_ id: String, offset: Int64, body: Data, bodyFile: String?) throws -> UploadSessionResponse {
        let fd = open(path(id), O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw unknown(id) }
        defer { close(fd) }
        // One writer per session (across replicas sharing the directory too): a second is told the offset.
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            throw UploadOffsetConflict(
                offset: -1, message: "upload \(id) is receiving another chunk; ask GET for its offset and resume there")
        }
        var info = stat()
        precondition(fstat(fd, &info) == 0, "fstat of an open upload session failed")
        let current = Int64(info.st_size)
        guard offset == current else {
            throw UploadOffsetConflict(
                offset: current,
                message: "upload \(id) holds \(current) bytes; send the chunk at offset \(current), not \(offset)")
        }
        let chunkBytes = bodyFile.map { Self.size($0) } ?? Int64(body.count)
        guard current + chunkBytes <= maxBytes else {
            throw APIErrorBody(
                code: .payloadTooLarge,
                message: "upload \(id) would grow to \(current + chunkBytes) bytes, over the blob limit of \(maxBytes)")
        }
        lseek(fd, off_t(current), SEEK_SET)
        do {
            if let bodyFile { try Self.copy(from: bodyFile, to: fd) } else { try Self.write(body, to: fd) }
        } catch {
            // Whole chunks only: cut back what part of this one was written.
            _ = ftruncate(fd, off_t(current))
            throw error
        }
        return response(id, offset: current + chunkBytes)
    }

    /// Verifies the session's bytes hash to `sha256` and stores them as that blob; the session is gone afterwards
    /// either way (a mismatch means the client must upload again).
    func complete(_ id: String, sha256: String, into files: BlobFiles) throws -> (
        upload: BlobUploadResponse, created: Bool
    ) {
        let fd = open(path(id), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw unknown(id) }
        defer { close(fd) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            throw UploadOffsetConflict(
                offset: -1, message: "upload \(id) is still receiving a chunk; complete it after")
        }
        defer { unlink(path(id)) }
        return try files.store(sha256, body: Data(), bodyFile: path(id))
    }

    /// Deletes sessions whose last chunk is older than the expiry; returns how many.
    func expire(now: Date = Date()) -> Int {
        let fm = FileManager.default
        var removed = 0
        for name in (try? fm.contentsOfDirectory(atPath: directory)) ?? [] where (try? Self.id(name)) != nil {
            guard let modified = (try? fm.attributesOfItem(atPath: path(name)))?[.modificationDate] as? Date,
                now.timeIntervalSince(modified) > expirySeconds
            else { continue }
            if unlink(path(name)) == 0 { removed += 1 }
        }
        return removed
    }

    private func response(_ id: String, offset: Int64) -> UploadSessionResponse {
        UploadSessionResponse(id: id, offset: offset, expiresAfterSeconds: expirySeconds)
    }

    private func unknown(_ id: String) -> APIErrorBody {
        APIErrorBody(
            code: .notFound,
            message:
                "no upload session \(id) (completed, or expired after \(Int(expirySeconds)) s without a chunk); start a new one"
        )
    }

    private static func size(_ path: String) -> Int64 {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : 0
    }

    private static func write(_ data: Data, to fd: Int32) throws {
        try data.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    throw APIErrorBody(
                        code: .internalError,
                        message:
                            "cannot write upload chunk: \(String(cString: strerror(errno))); check the artifact directory"
                    )
                }
                done += n
            }
        }
    }

    /// Streams the spooled chunk in 1 MiB pieces (chunks may be hundreds of MiB).
    private static func copy(from source: String, to fd: Int32) throws {
        guard let handle = FileHandle(forReadingAtPath: source) else {
            throw APIErrorBody(code: .internalError, message: "cannot read the spooled chunk \(source)")
        }
        defer { try? handle.close() }
        while let piece = try handle.read(upToCount: 1 << 20), !piece.isEmpty { try write(piece, to: fd) }
    }
}

// The control plane's artifact store: content-addressed blobs (checkpoints, weights, deltas) kept as files
// under `<artifactDirectory>/blobs/<aa>/<sha256>`; rows only ever hold their location and checksum.
// A stored blob's SHA-256 is checked against its name before the file appears (write to a temporary, rename),
// so a torn or wrong upload never becomes visible; storing the same blob again is a no-op.

import APITypes
import Checksum
import Foundation

struct BlobFiles {
    static let scheme = "cp://blobs/"

    let artifactDirectory: String

    /// The blob's name: a lower-case hex SHA-256.
    static func name(_ text: String) throws -> String {
        guard text.count == 64, text.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
            throw APIErrorBody(
                code: .badRequest,
                message: "blob name: expected a lower-case hex SHA-256 (64 characters), got \"\(text)\"")
        }
        return text
    }

    func path(_ sha: String) -> String {
        artifactDirectory + "/blobs/\(sha.prefix(2))/\(sha)"
    }

    /// Stores the bytes (in memory, or in the spooled file `bodyFile`, which is moved); `created` is false when
    /// the blob was there already.
    func store(_ sha: String, body: Data, bodyFile: String?) throws -> (upload: BlobUploadResponse, created: Bool) {
        let target = path(sha)
        let fm = FileManager.default
        if fm.fileExists(atPath: target) {
            // Young again: the garbage collector's grace period now covers the row the uploader is about to write.
            utimes(target, nil)
            let bytes = (try? fm.attributesOfItem(atPath: target)[.size] as? Int64) ?? 0
            return (BlobUploadResponse(location: Self.scheme + sha, sha256: sha, bytes: bytes), false)
        }
        try fm.createDirectory(
            atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let temporary = target + ".\(UUID().uuidString).partial"
        defer { try? fm.removeItem(atPath: temporary) }
        if let bodyFile {
            try fm.moveItem(atPath: bodyFile, toPath: temporary)
        } else {
            guard fm.createFile(atPath: temporary, contents: body) else {
                throw APIErrorBody(
                    code: .internalError, message: "cannot write \(temporary); check the artifact directory")
            }
        }
        let actual = try SHA256.hex(ofFileAt: temporary)
        guard actual == sha else {
            throw APIErrorBody(
                code: .badRequest, message: "the body's sha256 is \(actual), not \(sha) as named; nothing was stored")
        }
        let bytes = (try? fm.attributesOfItem(atPath: temporary)[.size] as? Int64) ?? 0
        if rename(temporary, target) != 0 {
            throw APIErrorBody(
                code: .internalError, message: "cannot store blob \(sha): \(String(cString: strerror(errno)))")
        }
        return (BlobUploadResponse(location: Self.scheme + sha, sha256: sha, bytes: bytes), true)
    }

    /// The file of a stored blob.
    func existing(_ sha: String) throws -> String {
        let target = path(sha)
        guard FileManager.default.fileExists(atPath: target) else {
            throw APIErrorBody(code: .notFound, message: "no blob \(sha) in this control plane's artifact store")
        }
        return target
    }
}

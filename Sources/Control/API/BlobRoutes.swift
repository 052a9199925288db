import APITypes
import Checksum
import Foundation
import HTTPServer

// The control plane's artifact store: content-addressed blobs (checkpoints, weights, deltas) kept as files
// under `<artifactDirectory>/blobs/<aa>/<sha256>`; rows only ever hold their location and checksum.
// PUT checks the body's SHA-256 against the name before the file appears (write to a temporary, rename), so
// a torn or wrong upload never becomes visible; uploading the same blob again is a no-op.

enum BlobRoutes {
    static let scheme = "cp://blobs/"

    static func routes(_ services: ControlServices) -> [Route] {
        [
            Route("PUT", "/v1/blobs/{sha256}", .worker) { try put($0, services) },
            Route("GET", "/v1/blobs/{sha256}", .worker) { try get($0, services) },
        ]
    }

    private static func name(_ context: RequestContext) throws -> String {
        let sha = context.parameter("sha256")
        guard sha.count == 64, sha.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
            throw APIErrorBody(code: .badRequest, message: "blob name: expected a lower-case hex SHA-256 (64 characters), got \"\(sha)\"")
        }
        return sha
    }

    private static func path(_ sha: String, _ services: ControlServices) -> String {
        services.configuration.artifactDirectory + "/blobs/\(sha.prefix(2))/\(sha)"
    }

    static func put(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let sha = try name(context)
        let target = path(sha, services)
        let fm = FileManager.default
        if fm.fileExists(atPath: target) {
            let bytes = (try? fm.attributesOfItem(atPath: target)[.size] as? Int64) ?? 0
            return .wire(BlobUploadResponse(location: scheme + sha, sha256: sha, bytes: bytes))
        }
        try fm.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let temporary = target + ".\(UUID().uuidString).partial"
        defer { try? fm.removeItem(atPath: temporary) }
        if let spooled = context.request.bodyFile {
            try fm.moveItem(atPath: spooled, toPath: temporary)
        } else {
            guard fm.createFile(atPath: temporary, contents: context.request.body) else {
                throw APIErrorBody(code: .internalError, message: "cannot write \(temporary); check the artifact directory")
            }
        }
        let actual = try SHA256.hex(ofFileAt: temporary)
        guard actual == sha else {
            throw APIErrorBody(code: .badRequest, message: "the body's sha256 is \(actual), not \(sha) as named; nothing was stored")
        }
        if rename(temporary, target) != 0 {
            throw APIErrorBody(code: .internalError, message: "cannot store blob \(sha): \(String(cString: strerror(errno)))")
        }
        return .wire(BlobUploadResponse(location: scheme + sha, sha256: sha, bytes: Int64(context.request.bodyLength)), status: 201)
    }

    static func get(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let sha = try name(context)
        let target = path(sha, services)
        guard FileManager.default.fileExists(atPath: target) else {
            throw APIErrorBody(code: .notFound, message: "no blob \(sha) in this control plane's artifact store")
        }
        return .file(path: target)
    }
}

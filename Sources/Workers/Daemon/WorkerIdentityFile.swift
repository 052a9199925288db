// The worker's own token, kept in its work directory across restarts (issue 16). Registration hands a name's
// worker id only to a caller that proves it is that worker with its current token, so the daemon makes its token
// before its first registration and writes it here first: a restart (`opsctl up` restarts a crashed worker
// under the same name and work directory) or a registration whose answer was lost presents the same token and
// keeps the worker's id, instead of being refused while its previous incarnation still counts as alive.
// The file is readable by its owner only; the control plane stores just the token's SHA-256.

import Foundation

public struct WorkerIdentityFile: Sendable {
    public let url: URL

    public init(url: URL) { self.url = url }

    /// What the file holds: the token is only used for the name it was made for.
    struct Contents: Codable {
        var name: String
        var workerToken: String
    }

    public enum Failure: Error, CustomStringConvertible {
        case unwritable(path: String, reason: String)

        public var description: String {
            switch self {
            case .unwritable(let path, let reason):
                return
                    "cannot write the worker identity file \(path) (\(reason)); a restarted worker will not be able to prove who it is, check the work directory's permissions"
            }
        }
    }

    /// The token kept for `name`; when there is none (first start, another name, an unreadable file), a new one
    /// from the system CSPRNG, written before it is returned.
    public func token(for name: String) throws(Failure) -> String {
        if let data = try? Data(contentsOf: url), let kept = try? JSONDecoder().decode(Contents.self, from: data),
            kept.name == name, !kept.workerToken.isEmpty
        {
            return kept.workerToken
        }
        let token = Self.randomToken()
        try write(Contents(name: name, workerToken: token))
        return token
    }

    /// 32 random bytes, hex encoded (64 characters): what the control plane issues too.
    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    /// Written to a temporary file (mode 0600) and renamed over the old one: never half a token.
    private func write(_ contents: Contents) throws(Failure) {
        let directory = url.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let data = try JSONEncoder().encode(contents)
            guard
                FileManager.default.createFile(
                    atPath: temporary.path, contents: data, attributes: [.posixPermissions: 0o600])
            else { throw CocoaError(.fileWriteUnknown) }
            guard rename(temporary.path, url.path) == 0 else {
                throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw .unwritable(path: url.path, reason: "\(error)")
        }
    }
}

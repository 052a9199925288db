import Checksum
import Foundation

// Bearer tokens. The admin token (for opsctl) may do everything. Workers join with the cluster's join token,
// which only allows registering; registration hands the worker its own token, stored only as a SHA-256 hash,
// which allows worker calls for that worker alone. Tokens are never logged: `Secret` hides its value.

/// A secret string whose `description` never reveals it.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    public let value: String
    public init(_ value: String) { self.value = value }
    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }

    /// A fresh random token: 32 bytes from the system CSPRNG, hex encoded.
    public static func random() -> Secret {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return Secret(bytes.map { String(format: "%02x", $0) }.joined())
    }

    /// SHA-256 of the token, hex: what the database stores for worker tokens.
    public var hashHex: String { SHA256.hex(of: Array(value.utf8)) }
}

public enum TokenSourceError: Error, CustomStringConvertible, Sendable {
    case unreadableFile(path: String, variable: String)
    case emptyToken(source: String)

    public var description: String {
        switch self {
        case .unreadableFile(let path, let variable):
            return "cannot read the token file \(path) (from \(variable)); check the path and its permissions"
        case .emptyToken(let source):
            return "the token from \(source) is empty; set a non-empty token"
        }
    }
}

public enum TokenSource {
    /// Reads a token from `NAME` or from the file named by `NAME_FILE` (the file wins when both are set).
    /// Returns nil when neither is set.
    public static func load(
        variable name: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(TokenSourceError) -> Secret? {
        if let path = environment[name + "_FILE"], !path.isEmpty {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw .unreadableFile(path: path, variable: name + "_FILE")
            }
            let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !token.isEmpty else { throw .emptyToken(source: path) }
            return Secret(token)
        }
        if let token = environment[name] {
            guard !token.isEmpty else { throw .emptyToken(source: name) }
            return Secret(token)
        }
        return nil
    }
}

/// Compares two byte strings in time that depends only on their lengths, not on where they differ.
@inline(never)
public func constantTimeEquals(_ a: String, _ b: String) -> Bool {
    // Hash both first so that even the length comparison leaks nothing about the secret.
    let x = SHA256.hex(of: Array(a.utf8)).utf8
    let y = SHA256.hex(of: Array(b.utf8)).utf8
    var difference: UInt8 = 0
    for (p, q) in zip(x, y) { difference |= p ^ q }
    return difference == 0
}

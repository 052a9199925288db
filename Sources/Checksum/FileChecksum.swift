import Foundation

public enum ChecksumError: Error, CustomStringConvertible, Sendable {
    case unreadable(path: String, reason: String)
    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "cannot read \(path) to checksum it: \(reason)"
        }
    }
}

extension SHA256 {
    /// Streams a file through SHA-256 in 1 MiB chunks; memory stays flat for any file size.
    public static func hex(ofFileAt path: String) throws(ChecksumError) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw .unreadable(path: path, reason: "no such file or permission denied")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        do {
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                chunk.withUnsafeBytes { hasher.update(buffer: $0) }
            }
        } catch {
            throw .unreadable(path: path, reason: "\(error)")
        }
        return hasher.finalizeHex()
    }
}

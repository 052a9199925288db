import Foundation
import Postgres

/// Free TCP ports on 127.0.0.1.
public enum FreePort {
    /// A port that was free a moment ago (bind to port 0, read it back, close).
    public static func next() throws -> Int { try EmbeddedPostgres.freeLoopbackPort() }
}

public struct WaitTimedOut: Error, CustomStringConvertible {
    public let what: String
    public let seconds: Double
    public var description: String { "timed out after \(seconds)s waiting for \(what)" }
}

/// Polls `condition` every `interval` until it is true; throws `WaitTimedOut` after `timeout`.
public func waitUntil(
    _ what: String = "condition", timeoutSeconds: TimeInterval = 10, intervalSeconds: TimeInterval = 0.02,
    _ condition: () throws -> Bool
) throws {
    let deadline = Date().addingTimeInterval(timeoutSeconds)
    while true {
        if try condition() { return }
        if Date() >= deadline { throw WaitTimedOut(what: what, seconds: timeoutSeconds) }
        Thread.sleep(forTimeInterval: intervalSeconds)
    }
}

/// Async variant of `waitUntil`.
public func waitUntil(
    _ what: String = "condition", timeoutSeconds: TimeInterval = 10, intervalSeconds: TimeInterval = 0.02,
    _ condition: () async throws -> Bool
) async throws {
    let deadline = Date().addingTimeInterval(timeoutSeconds)
    while true {
        if try await condition() { return }
        if Date() >= deadline { throw WaitTimedOut(what: what, seconds: timeoutSeconds) }
        try await Task.sleep(nanoseconds: UInt64(intervalSeconds * 1_000_000_000))
    }
}

/// A uniquely named directory under the system temp directory.
public struct TemporaryDirectory: Sendable {
    public let path: String
    public var url: URL { URL(fileURLWithPath: path) }

    public static func make(prefix: String = "llmops-test-") throws -> TemporaryDirectory {
        var template = Array((NSTemporaryDirectory() as NSString).appendingPathComponent(prefix + "XXXXXX").utf8CString)
        guard let result = mkdtemp(&template) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: prefix])
        }
        let path = String(cString: result)
        // Readable by the `postgres` user when tests run as root and start a server inside.
        _ = chmod(path, 0o755)
        return TemporaryDirectory(path: path)
    }

    /// Deletes the directory and everything in it.
    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}

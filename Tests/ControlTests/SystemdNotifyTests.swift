// Issue 19, systemd: `opsctl serve` under a `Type=notify` unit. The test plays systemd's part: it binds the unix
// datagram socket named by NOTIFY_SOCKET (in the abstract namespace, `@name`, as systemd does) and starts `serve`
// while the database is down. No READY=1 comes while the database is unreachable (and a SIGHUP then does not end
// it); once the database is started, READY=1 arrives and /readyz answers; SIGTERM sends STOPPING=1.

import Foundation
import TestSupport
import XCTest

final class SystemdNotifyTests: OwnPostgresClusterTestCase {
    func testReadyOnlyOnceTheDatabaseIsReachableAndStoppingOnSIGTERM() async throws {
        let name = "llmops-notify-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let socket = try NotifySocket(abstractName: name)
        defer { socket.release() }
        try cluster.postgres.server.stop()

        let port = try FreePort.next()
        let serve = try cluster.startServe(
            port: port, leaseSeconds: 5, heartbeatSeconds: 0.5, environment: ["NOTIFY_SOCKET": "@" + name])
        // The database is down: serve waits for it (up to 60 s) and says nothing to systemd meanwhile.
        try waitUntil(
            "serve started (its first line names the database)", timeoutSeconds: 30, intervalSeconds: 0.1
        ) {
            serve.output.contains("database") || !serve.isRunning
        }
        XCTAssertTrue(serve.isRunning, serve.output)
        XCTAssertNil(try socket.receive(timeoutSeconds: 2), "READY=1 before the database was reachable")
        // `systemctl reload` (SIGHUP) while it starts does not end it (SIGHUP's default action would, and systemd
        // counts that exit as clean, so Restart=on-failure would not bring it back).
        kill(serve.pid, SIGHUP)
        try waitUntil("serve notes the early SIGHUP", timeoutSeconds: 30, intervalSeconds: 0.1) {
            serve.output.contains("got SIGHUP while starting") || !serve.isRunning
        }
        XCTAssertTrue(serve.isRunning, serve.output)

        try cluster.postgres.server.start()
        let ready = try XCTUnwrap(try socket.receive(timeoutSeconds: 60), "no notification:\n\(serve.output)")
        XCTAssertEqual(ready, "READY=1")
        // READY=1 means the API answers now, with the database reachable.
        let readyz = await RawHTTP(baseURL: "http://127.0.0.1:\(port)").readyStatus()
        XCTAssertEqual(readyz, 200)

        kill(serve.pid, SIGTERM)
        XCTAssertEqual(try socket.receive(timeoutSeconds: 30), "STOPPING=1")
        XCTAssertEqual(serve.waitForExit(timeoutSeconds: 30), 0, serve.output)
    }
}

/// The receiving end of the notify protocol: a unix datagram socket in the abstract namespace.
private final class NotifySocket {
    private let descriptor: Int32

    init(abstractName: String) throws {
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw IntegrationFailure("socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let name = [UInt8(0)] + Array(abstractName.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: name) }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)! + name.count)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0 else {
            close(descriptor)
            throw IntegrationFailure("bind @\(abstractName): \(String(cString: strerror(errno)))")
        }
    }

    /// The next datagram as text, or nil when none came within `timeoutSeconds`.
    func receive(timeoutSeconds: Double) throws -> String? {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let ready = poll(&poller, 1, Int32(timeoutSeconds * 1000))
        guard ready > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(descriptor, &buffer, buffer.count, 0)
        guard count >= 0 else { throw IntegrationFailure("recv: \(String(cString: strerror(errno)))") }
        return String(decoding: buffer.prefix(count), as: UTF8.self)
    }

    func release() { close(descriptor) }
}

import Foundation
import HTTPClient
import TestSupport
import XCTest

@testable import HTTPServer

/// libmicrohttpd 0.9.75's epoll loop stalls when an event thread's ready connections number exactly 128: its second
/// epoll_wait sleeps until the oldest connection's idle deadline, and then closes the unread requests as idle
/// (`EventThreadWaker`; docs/security.md). This lost 1 % of the 1,100-long-poll flood test's runs under load. Here
/// the stall is made to happen every time: one event thread, 128 idle connections, and a request that holds the
/// event thread (`requestHeadersArrivedOnEventThread`) while all 128 send theirs, so the next epoll_wait returns
/// exactly 128 events.
final class EventThreadWakeTests: XCTestCase {
    static let idleTimeoutSeconds = 3
    static let stalledConnections = 128

    /// With the wake every 0.2 s, all 128 requests are answered, well before the 3 s idle timeout.
    func testAWokenEventThreadAnswersTheRequestsOfAStall() throws {
        let run = try stall(wakeIntervalSeconds: 0.2)
        XCTAssertEqual(run.answered, Self.stalledConnections, "every request of the stall is answered")
        XCTAssertLessThan(run.seconds, 1.5, "answered within a few wakes, not at the idle deadline")
        XCTAssertGreaterThan(run.wakes, 0, "the event thread was woken")
    }

    /// Without the wake the same sequence stalls: the requests wait for the idle deadline, and those the deadline's
    /// idle check reaches first are closed unanswered (how many varies). This is the stall the wake bounds; if a
    /// libmicrohttpd with the loop fixed arrives, this test says so, and the wake can go.
    func testWithoutTheWakeTheStalledRequestsWaitForTheIdleDeadline() throws {
        let run = try stall(wakeIntervalSeconds: 0)
        XCTAssertGreaterThan(
            run.seconds, Double(Self.idleTimeoutSeconds) - 1.5,
            "libmicrohttpd 0.9.75 leaves the 128 requests unread until the idle deadline (\(run.answered) answered)")
        XCTAssertEqual(run.wakes, 0)
    }

    /// The descriptor the wake hands to event thread k has k as its remainder (libmicrohttpd's choice of thread).
    func testTheWakeFindsADescriptorForEveryThread() throws {
        var pair: [Int32] = [-1, -1]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair), 0)
        defer { pair.forEach { close($0) } }
        for modulus in Int32(1)...7 {
            for remainder in 0..<modulus {
                let found = try XCTUnwrap(
                    EventThreadWaker.descriptor(duplicating: pair[0], remainder: remainder, modulo: modulus))
                XCTAssertEqual(found % modulus, remainder)
                if found != pair[0] { close(found) }
            }
        }
    }

    /// A daemon that a certificate reload drains keeps its connections until their requests end, so its event
    /// threads are woken too until it stops.
    func testADaemonThatAReloadDrainsIsWokenUntilItStops() throws {
        let ca = try clusterCertificateAuthority(self, directoryPrefix: "llmops-wake-")
        let (first, second) = (
            try ca.issueServerCertificate(name: "server", serial: 0x1001),
            try ca.issueServerCertificate(name: "server", serial: 0x1002)
        )
        let inside = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let reloaded = DispatchSemaphore(value: 0)
        var configuration = HTTPServerConfiguration(eventThreadWakeIntervalSeconds: 0.05)
        configuration.tls = try TLSCredentials(certificateFile: first.certificateFile, privateKeyFile: first.keyFile)
        let server = try startServer(self, configuration: configuration) { request in
            if request.path == "/hold" {
                inside.signal()
                _ = release.wait(timeout: .now() + 30)
            }
            return .text("ok")
        }
        let client = HTTPClient(caFile: ca.certificateFile)
        DispatchQueue.global().async { _ = try? client.send(HTTPClientRequest(url: server.baseURL + "/hold")) }
        XCTAssertEqual(inside.wait(timeout: .now() + 10), .success, "a request holds the first daemon")
        let next = try TLSCredentials(certificateFile: second.certificateFile, privateKeyFile: second.keyFile)
        DispatchQueue.global().async {
            try? server.reloadCertificate(next, drainTimeoutSeconds: 30)
            reloaded.signal()
        }
        try waitUntil("the draining daemon's event threads are woken", timeoutSeconds: 10) {
            server.eventThreadWakesOfDrainingDaemons >= 2 * HTTPServerConfiguration.defaultEventThreadCount
        }
        release.signal()
        XCTAssertEqual(reloaded.wait(timeout: .now() + 30), .success, "the drain ends with its request")
        XCTAssertEqual(server.eventThreadWakesOfDrainingDaemons, 0, "a stopped daemon is no longer woken")
        XCTAssertEqual(try TestCertificateAuthority.presentedSerial(port: Int(server.port)), "1002")
    }

    private struct StallRun {
        var answered: Int
        var seconds: Double
        var wakes: Int
    }

    private func stall(wakeIntervalSeconds: Double) throws -> StallRun {
        let holding = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        var configuration = HTTPServerConfiguration(
            perAddressConnectionLimit: 0, idleConnectionTimeoutSeconds: Self.idleTimeoutSeconds, eventThreadCount: 1,
            eventThreadWakeIntervalSeconds: wakeIntervalSeconds)
        configuration.requestHeadersArrivedOnEventThread = { path in
            guard path == "/hold" else { return }
            holding.signal()
            _ = release.wait(timeout: .now() + 30)
        }
        let server = try startServer(self, configuration: configuration) { request in
            // The holding request's answer waits until the stalled ones are read, so it adds no event to the loop.
            if request.path == "/hold" { _ = finished.wait(timeout: .now() + 30) }
            return .text("ok \(request.path)")
        }
        let idle = (0..<Self.stalledConnections).compactMap { _ in LoopbackSocket.connect(port: server.port) }
        defer { idle.forEach { $0.close() } }
        XCTAssertEqual(idle.count, Self.stalledConnections)
        try waitUntil("the idle connections are accepted", timeoutSeconds: 10) {
            server.lifetimeCounts.connectionsAccepted == Self.stalledConnections
        }
        usleep(300_000) // the event thread takes them in and waits for traffic
        guard let holder = LoopbackSocket.connect(port: server.port) else { throw XCTSkip("could not connect") }
        defer { holder.close() }
        XCTAssertTrue(holder.write("GET /hold HTTP/1.1\r\nHost: test\r\n\r\n"))
        XCTAssertEqual(holding.wait(timeout: .now() + 10), .success, "the event thread reads the holding request")
        let start = Date()
        for socket in idle { XCTAssertTrue(socket.write("GET /stalled HTTP/1.1\r\nHost: test\r\n\r\n")) }
        usleep(200_000) // every request is in its socket before the event thread looks again
        release.signal()
        let answered = idle.map { $0.readResponse(timeoutSeconds: 10) }.filter { $0.hasSuffix("ok /stalled") }.count
        let seconds = Date().timeIntervalSince(start)
        finished.signal()
        print("stall with wakes every \(wakeIntervalSeconds) s: \(answered) answered in \(seconds) s")
        return StallRun(answered: answered, seconds: seconds, wakes: server.eventThreadWakes)
    }
}

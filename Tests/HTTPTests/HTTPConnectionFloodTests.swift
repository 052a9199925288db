import Foundation
import HTTPServer
import TestSupport
import XCTest

/// Issue 16, point 2: idle and half-sent connections must not take the server down. The server this replaced ran a
/// thread per connection capped at 1,024, so ~1,000 idle sockets refused every new request.
final class HTTPConnectionFloodTests: XCTestCase {
    /// 2,000 connections that never finish a request (1,000 silent, 1,000 with half a header) stay open while new
    /// connections get their answers.
    func testRequestsAreAnsweredWhileTwoThousandIdleConnectionsAreHeld() throws {
        // All connections come from 127.0.0.1; the per-address limit has its own test.
        let server = try startServer(self, configuration: HTTPServerConfiguration(perAddressConnectionLimit: 0)) {
            request in .text("ok \(request.path)")
        }
        let flood = LoopbackSocket.flood(port: server.port, count: 2_000)
        defer { flood.forEach { $0.close() } }
        XCTAssertEqual(flood.count, 2_000, "the kernel accepted every flood connection")
        for index in 0..<20 {
            guard let probe = LoopbackSocket.connect(port: server.port) else { return XCTFail("connect \(index)") }
            defer { probe.close() }
            let answer = probe.get("/healthz")
            XCTAssertTrue(answer.hasPrefix("HTTP/1.1 200"), "probe \(index) during the flood: \(answer.prefix(80))")
            XCTAssertTrue(answer.hasSuffix("ok /healthz"), answer)
        }
        // The flood is still held, not closed to make room: a half-sent request completes on its connection.
        XCTAssertTrue(flood[1].write("yes\r\n\r\n"))
        XCTAssertTrue(flood[1].readResponse().hasSuffix("ok /slow"))
    }

    /// A connection that sends nothing, or half a header, is closed after the idle timeout; a handler running
    /// longer than the timeout (a long-poll) is not cut off.
    func testIdleConnectionsAreClosedAfterTheTimeoutButLongPollsAreNot() throws {
        let server = try startServer(self, configuration: HTTPServerConfiguration(idleConnectionTimeoutSeconds: 1)) {
            request in
            if request.path == "/poll" { usleep(3_000_000) }
            return .text("ok")
        }
        guard let silent = LoopbackSocket.connect(port: server.port),
            let partial = LoopbackSocket.connect(port: server.port),
            let poll = LoopbackSocket.connect(port: server.port)
        else { return XCTFail("could not connect") }
        defer { [silent, partial, poll].forEach { $0.close() } }
        partial.write("GET /slow HTTP/1.1\r\nHost: test\r\n")
        poll.write("GET /poll HTTP/1.1\r\nHost: test\r\n\r\n")
        XCTAssertEqual(silent.waitWhileSilent(timeoutSeconds: 30), .closed, "a silent connection is closed")
        XCTAssertEqual(partial.waitWhileSilent(timeoutSeconds: 30), .closed, "a half-sent header is closed")
        XCTAssertTrue(poll.readResponse().hasSuffix("ok"), "a 3 s handler outlives a 1 s idle timeout")
    }

    /// Connections beyond the per-address limit are refused; requests on the connections already open still work.
    func testConnectionsBeyondThePerAddressLimitAreRefused() throws {
        let server = try startServer(self, configuration: HTTPServerConfiguration(perAddressConnectionLimit: 5)) {
            _ in .text("ok")
        }
        let held = (0..<5).compactMap { _ in LoopbackSocket.connect(port: server.port) }
        defer { held.forEach { $0.close() } }
        XCTAssertEqual(held.count, 5)
        // An answer on each proves the server counted it before the sixth arrives.
        for socket in held { XCTAssertTrue(socket.get("/first").hasSuffix("ok")) }
        guard let sixth = LoopbackSocket.connect(port: server.port) else { return } // refused at connect: fine too
        defer { sixth.close() }
        sixth.write("GET /sixth HTTP/1.1\r\nHost: test\r\n\r\n")
        XCTAssertEqual(
            sixth.readResponse(timeoutSeconds: 30), "", "the sixth connection from 127.0.0.1 is closed unanswered")
        XCTAssertEqual(server.connectionCounts.refusedAtHandOff, 1, "libmicrohttpd refused it when it was handed over")
        for socket in held { XCTAssertTrue(socket.get("/again").hasSuffix("ok"), "the held connections still work") }
        held[0].close()
        // A freed slot is usable again (libmicrohttpd counts the close once its event loop sees it).
        var answered = false
        for _ in 0..<100 where !answered {
            if let next = LoopbackSocket.connect(port: server.port) {
                answered = next.get("/freed", timeoutSeconds: 5).hasSuffix("ok")
                next.close()
            }
            if !answered { usleep(50_000) }
        }
        XCTAssertTrue(answered, "a connection is accepted once one of the five closed")
    }

    /// A connection beyond the whole server's limit is refused when it is handed to libmicrohttpd, closed
    /// unanswered, and counted; the connection already open still works.
    func testConnectionsBeyondTheServerLimitAreCountedAsRefusedAtHandOff() throws {
        let server = try startServer(
            // No event-thread wakes: each holds a connection slot for a moment, and this server has one.
            self,
            configuration: HTTPServerConfiguration(
                connectionLimit: 1, eventThreadCount: 1, eventThreadWakeIntervalSeconds: 0)
        ) { _ in .text("ok") }
        guard let held = LoopbackSocket.connect(port: server.port) else { return XCTFail("connect") }
        defer { held.close() }
        XCTAssertTrue(held.get("/first").hasSuffix("ok"), "the first connection is served")
        // libmicrohttpd reports the request completed right after it sends the answer, which the client may have
        // read first; nothing stays in flight between requests.
        try? waitUntil("the first request completed", timeoutSeconds: 10, intervalSeconds: 0.001) {
            server.connectionCounts.requestsInFlight == 0
        }
        XCTAssertEqual(server.connectionCounts, HTTPConnectionCounts(), "nothing in flight between requests")
        guard let second = LoopbackSocket.connect(port: server.port) else { return } // refused at connect: fine too
        defer { second.close() }
        second.write("GET /second HTTP/1.1\r\nHost: test\r\n\r\n")
        XCTAssertEqual(second.readResponse(timeoutSeconds: 30), "", "the second connection is closed unanswered")
        XCTAssertEqual(server.connectionCounts.refusedAtHandOff, 1)
        XCTAssertTrue(held.get("/again").hasSuffix("ok"), "the held connection still works")
    }

    /// 1,100 long-polls at once, more than the old server's 1,024 threads, each blocking its handler: a health probe
    /// is still answered, and every long-poll gets its answer once released.
    func testLongPollsBeyondTheOldThreadCapDoNotBlockAHealthProbe() throws {
        let pollCount = 1_100
        let release = DispatchSemaphore(value: 0)
        let waiting = LockedBox<Int>()
        let server = try startServer(self, configuration: HTTPServerConfiguration(perAddressConnectionLimit: 0)) {
            request in
            guard request.path == "/poll" else { return .text("healthy") }
            waiting.set(1)
            // Longer than the test waits for all of them (below), so a failure reports every handler still
            // running; the test releases them either way.
            _ = release.wait(timeout: .now() + 300)
            return .text("woken")
        }
        let polls = (0..<pollCount).compactMap { _ in LoopbackSocket.connect(port: server.port) }
        defer { polls.forEach { $0.close() } }
        XCTAssertEqual(polls.count, pollCount)
        for poll in polls { poll.write("GET /poll HTTP/1.1\r\nHost: test\r\n\r\n") }
        let deadline = Date(timeIntervalSinceNow: 60)
        while waiting.count < pollCount && Date() < deadline { usleep(20_000) }
        XCTAssertEqual(
            waiting.count, pollCount,
            "every long-poll is inside its handler at once; process: \(ProcessResources.current()), "
                + "handler threads refused: \(server.handlerThreadStartFailures), \(server.connectionCounts); "
                + "since start: \(server.lifetimeCounts)")
        XCTAssertEqual(
            server.connectionCounts,
            HTTPConnectionCounts(requestsInFlight: pollCount, handlersRunning: pollCount, refusedAtHandOff: 0))
        XCTAssertEqual(
            server.lifetimeCounts,
            HTTPLifetimeCounts(
                connectionsAccepted: pollCount, requestsStarted: pollCount, handlersDispatched: pollCount,
                handlerThreadsStarted: pollCount),
            "each long-poll was accepted, read, dispatched, and given its own thread (none was free)")

        guard let probe = LoopbackSocket.connect(port: server.port) else { return XCTFail("probe refused") }
        defer { probe.close() }
        XCTAssertTrue(probe.get("/healthz").hasSuffix("healthy"), "the probe is answered while 1,100 handlers block")

        for _ in 0..<pollCount { release.signal() }
        let answers = polls.map { $0.readResponse() }
        XCTAssertEqual(answers.filter { $0.hasSuffix("woken") }.count, pollCount, "every long-poll is answered")
    }
}

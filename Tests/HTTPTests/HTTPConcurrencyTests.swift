import Foundation
import HTTPClient
import HTTPServer
import XCTest

final class HTTPConcurrencyTests: XCTestCase {
    /// A handler blocked in a long-poll must not delay other requests.
    func testBlockedLongPollDoesNotStallOtherRequests() throws {
        let release = DispatchSemaphore(value: 0)
        let server = try startServer(self) { request in
            if request.path == "/poll" {
                _ = release.wait(timeout: .now() + 20)
                return .text("woken")
            }
            return .text("fast")
        }
        let client = HTTPClient()
        let pollDone = expectation(description: "long-poll answered")
        let pollResult = LockedBox<String>()
        for _ in 0..<3 {
            DispatchQueue.global().async {
                let response = try? client.send(HTTPClientRequest(url: "\(server.baseURL)/poll", timeoutSeconds: 30))
                pollResult.set(response?.text ?? "error")
            }
        }
        DispatchQueue.global().async {
            // Fired once all three polls are answered.
            while pollResult.count < 3 { usleep(10_000) }
            pollDone.fulfill()
        }
        usleep(200_000)
        let started = Date()
        for _ in 0..<20 {
            XCTAssertEqual(
                try client.send(HTTPClientRequest(url: "\(server.baseURL)/fast", timeoutSeconds: 5)).text, "fast")
        }
        XCTAssertEqual(pollResult.count, 0, "the long-polls are still waiting while fast requests are served")
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
        release.signal()
        release.signal()
        release.signal()
        wait(for: [pollDone], timeout: 10)
        XCTAssertEqual(pollResult.values, ["woken", "woken", "woken"])
    }

    actor Mailbox {
        var messages: [String] = []
        var waiters: [CheckedContinuation<String, Never>] = []
        func post(_ m: String) {
            if waiters.isEmpty { messages.append(m) } else { waiters.removeFirst().resume(returning: m) }
        }
        func next() async -> String {
            if !messages.isEmpty { return messages.removeFirst() }
            return await withCheckedContinuation { waiters.append($0) }
        }
    }

    /// Async handlers awaiting an actor (a long-poll) don't block each other or other requests.
    func testAsyncHandlerLongPoll() async throws {
        let mailbox = Mailbox()
        let server = HTTPServer(asyncHandler: { request in
            if request.method == "POST" {
                await mailbox.post(String(decoding: request.body, as: UTF8.self))
                return .text("posted")
            }
            return .text(await mailbox.next())
        })
        try server.start()
        defer { server.stop() }
        let client = HTTPClient()
        let url = "\(server.baseURL)/mail"
        async let first = client.send(HTTPClientRequest(url: url, timeoutSeconds: 10))
        async let second = client.send(HTTPClientRequest(url: url, timeoutSeconds: 10))
        try await Task.sleep(nanoseconds: 200_000_000)
        for message in ["a", "b"] {
            let posted = try await client.send(HTTPClientRequest(method: "POST", url: url, body: Data(message.utf8)))
            XCTAssertEqual(posted.text, "posted")
        }
        let received = try await Set([first.text, second.text])
        XCTAssertEqual(received, ["a", "b"])
    }

    func testSecondServerOnABusyPortFailsWithATypedError() throws {
        let first = try startServer(self, handler: echoHandler)
        let second = HTTPServer(configuration: HTTPServerConfiguration(port: first.port)) { _ in .text("never") }
        XCTAssertThrowsError(try second.start()) { error in
            guard case .couldNotStart(let address, let port, _) = error as? HTTPServerError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(address, "127.0.0.1")
            XCTAssertEqual(port, first.port)
        }
        XCTAssertThrowsError(
            try HTTPServer(configuration: HTTPServerConfiguration(address: "localhost")) { _ in .text("") }.start()
        ) { error in
            XCTAssertEqual(error as? HTTPServerError, .invalidAddress("localhost"))
        }
    }

    /// A handler stuck past the stop timeout doesn't hold the caller or the port.
    func testStopGivesUpOnAStuckHandlerButReleasesThePort() throws {
        let release = DispatchSemaphore(value: 0)
        let entered = DispatchSemaphore(value: 0)
        let server = HTTPServer { _ in
            entered.signal()
            _ = release.wait(timeout: .now() + 10)
            return .text("too late")
        }
        try server.start()
        let port = server.port
        let url = server.baseURL
        DispatchQueue.global().async { _ = try? HTTPClient().send(HTTPClientRequest(url: "\(url)/stuck")) }
        XCTAssertEqual(entered.wait(timeout: .now() + 5), .success)
        let started = Date()
        server.stop(timeoutSeconds: 0.3)
        XCTAssertLessThan(Date().timeIntervalSince(started), 3)
        XCTAssertTrue(server.isStopping)
        let replacement = HTTPServer(configuration: HTTPServerConfiguration(port: port)) { _ in .text("replacement") }
        XCTAssertNoThrow(try replacement.start(), "the port is free again")
        XCTAssertEqual(try HTTPClient().send(HTTPClientRequest(url: "http://127.0.0.1:\(port)/")).text, "replacement")
        replacement.stop()
        release.signal()
    }

    func testStopWaitsForInFlightHandlerThenReleasesThePort() throws {
        let entered = DispatchSemaphore(value: 0)
        let server = HTTPServer { _ in
            entered.signal()
            usleep(500_000)
            return .text("finished")
        }
        try server.start()
        let port = server.port
        XCTAssertNotEqual(port, 0)
        let result = LockedBox<String>()
        let url = server.baseURL
        DispatchQueue.global().async {
            let response = try? HTTPClient().send(HTTPClientRequest(url: "\(url)/slow"))
            result.set(response?.text ?? "error")
        }
        XCTAssertEqual(entered.wait(timeout: .now() + 5), .success)
        server.stop(timeoutSeconds: 5)
        XCTAssertEqual(server.port, 0)
        // The in-flight request got its answer before stop returned (give the client a moment to read it).
        for _ in 0..<100 where result.count == 0 { usleep(10_000) }
        XCTAssertEqual(result.values, ["finished"])
        XCTAssertThrowsError(
            try HTTPClient().send(HTTPClientRequest(url: "http://127.0.0.1:\(port)/", connectTimeoutSeconds: 1))
        ) { error in
            guard case .couldNotConnect = error as? HTTPClientError else { return XCTFail("\(error)") }
        }
    }

    func testClientTimeoutAndAsyncCancellation() async throws {
        let release = DispatchSemaphore(value: 0)
        let server = try startServer(self) { _ in
            _ = release.wait(timeout: .now() + 10)
            return .text("late")
        }
        defer { for _ in 0..<4 { release.signal() } }
        let url = "\(server.baseURL)/slow"
        do {
            _ = try await HTTPClient().send(HTTPClientRequest(url: url, timeoutSeconds: 0.3))
            XCTFail("expected a timeout")
        } catch {
            XCTAssertEqual(error.url, url)
            guard case .timedOut = error else { return XCTFail("\(error)") }
            XCTAssertTrue(error.isTransient)
        }

        let client = HTTPClient()
        let task = Task { () async -> Result<HTTPClientResponse, HTTPClientError> in
            do throws(HTTPClientError) {
                return .success(try await client.send(HTTPClientRequest(url: url, timeoutSeconds: 30)))
            } catch {
                return .failure(error)
            }
        }
        try await Task.sleep(nanoseconds: 200_000_000)
        let cancelledAt = Date()
        task.cancel()
        let outcome = await task.value
        XCTAssertLessThan(
            Date().timeIntervalSince(cancelledAt), 5,
            "cancellation aborts the transfer instead of waiting for the answer")
        guard case .failure(.cancelled(let cancelledURL)) = outcome else { return XCTFail("\(outcome)") }
        XCTAssertEqual(cancelledURL, url)
    }
}

final class LockedBox<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [T] = []
    func set(_ value: T) { lock.withLock { items.append(value) } }
    var values: [T] { lock.withLock { items } }
    var count: Int { lock.withLock { items.count } }
}

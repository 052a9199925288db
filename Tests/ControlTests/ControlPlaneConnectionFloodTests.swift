import APITypes
import Control
import Foundation
import TestSupport
import XCTest

/// Issue 16, point 2, against the real control plane: with 1,500 idle and half-sent connections held open, the
/// health probe, an admin call and a worker's long-poll are answered. The thread-per-connection server refused all
/// three once ~1,000 connections were open.
final class ControlPlaneConnectionFloodTests: StoreTestCase {
    func testProbeAdminCallAndWorkerPollAreAnsweredDuringAFlood() throws {
        let directory = try TemporaryDirectory.make()
        defer { directory.remove() }
        var configuration = ControlPlaneConfiguration(
            databaseURL: conninfo, adminToken: Secret("admin"), joinToken: Secret("join"),
            artifactDirectory: directory.path + "/artifacts")
        // Every connection here comes from 127.0.0.1; the per-address limit is HTTPTests' subject.
        configuration.connections.perAddressConnectionLimit = 0
        let controlPlane = ControlPlane(configuration: configuration, log: { _ in })
        try controlPlane.start()
        defer { controlPlane.stop() }
        let port = try XCTUnwrap(URLComponents(string: controlPlane.baseURL)?.port.map(UInt16.init))

        let flood = LoopbackSocket.flood(port: port, count: 1_500)
        defer { flood.forEach { $0.close() } }
        XCTAssertEqual(flood.count, 1_500)

        let probe = try XCTUnwrap(LoopbackSocket.connect(port: port))
        defer { probe.close() }
        XCTAssertTrue(probe.get(APIRoute.healthz.path()).hasPrefix("HTTP/1.1 200"))
        let admin = try XCTUnwrap(LoopbackSocket.connect(port: port))
        defer { admin.close() }
        let workers = admin.get(APIRoute.workers.path(), headers: ["Authorization": "Bearer admin"])
        XCTAssertTrue(workers.hasPrefix("HTTP/1.1 200"), String(workers.prefix(200)))

        // A worker registers and long-polls (1 s, nothing queued) on one kept-alive connection.
        let worker = try XCTUnwrap(LoopbackSocket.connect(port: port))
        defer { worker.close() }
        let registration = String(
            decoding: try WireCoding.encode(
                RegisterWorkerRequest(
                    name: "flooded", resources: .init(cpuMillis: 1000, memoryBytes: 1 << 30), version: opsVersion,
                    kinds: [], maxConcurrentTasks: 1)), as: UTF8.self)
        let registered = worker.post(APIRoute.workerRegister.path(), token: "join", json: registration)
        XCTAssertTrue(registered.hasPrefix("HTTP/1.1 200"), String(registered.prefix(300)))
        let body = try XCTUnwrap(registered.range(of: "\r\n\r\n")).upperBound
        let response = try WireCoding.decode(RegisterWorkerResponse.self, from: Data(registered[body...].utf8))
        let poll = String(
            decoding: try WireCoding.encode(
                PollRequest(
                    workerID: response.workerID, maxTasks: 1, waitSeconds: 1,
                    available: .init(cpuMillis: 1000, memoryBytes: 1 << 30))),
            as: UTF8.self)
        let polled = worker.post(
            APIRoute.workerPoll.path(), token: try XCTUnwrap(response.workerToken), json: poll)
        XCTAssertTrue(polled.hasPrefix("HTTP/1.1 200"), String(polled.prefix(300)))
    }
}

extension LoopbackSocket {
    /// POSTs a JSON body on this connection and reads the response.
    fileprivate func post(_ path: String, token: String, json: String) -> String {
        let header =
            "POST \(path) HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer \(token)\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(json.utf8.count)\r\n\r\n"
        guard write(header + json) else { return "" }
        return readResponse()
    }
}

// HTTPS end to end: libmicrohttpd (GnuTLS) serving a certificate made by a test CA with the openssl command,
// libcurl verifying it against that CA file, a wrong CA refused with a clear error, bad key/certificate pairs
// refused before anything changes, and a certificate reload that keeps the listener and lets a request in flight
// finish.

import Foundation
import HTTPClient
import HTTPServer
import Primitives
import TestSupport
import XCTest

final class HTTPTLSTests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws {
        guard TestCertificateAuthority.opensslPath != nil else {
            throw XCTSkip("the openssl command is not installed; scripts/install-test-deps.sh installs it")
        }
        directory = try TemporaryDirectory.make(prefix: "llmops-tls-")
    }

    override func tearDown() {
        directory?.remove()
    }

    private func tlsServer(
        _ certificate: TestCertificateAuthority.ServerCertificate,
        wakeIntervalSeconds: Double = HTTPServerConfiguration.defaultEventThreadWakeIntervalSeconds,
        handler: @escaping HTTPHandler
    ) throws -> HTTPServer {
        var configuration = HTTPServerConfiguration(eventThreadWakeIntervalSeconds: wakeIntervalSeconds)
        configuration.tls = try TLSCredentials(
            certificateFile: certificate.certificateFile, privateKeyFile: certificate.keyFile)
        return try startServer(self, configuration: configuration, handler: handler)
    }

    func testRoundTripOverHTTPSVerifiedAgainstTheCAFile() throws {
        let ca = try TestCertificateAuthority(directory: directory.path, name: "cluster")
        let certificate = try ca.issueServerCertificate(name: "server", serial: 0x1001)
        let server = try tlsServer(certificate, handler: echoHandler)
        XCTAssertTrue(server.baseURL.hasPrefix("https://127.0.0.1:"), server.baseURL)

        let client = HTTPClient(caFile: ca.certificateFile)
        let response = try client.send(
            HTTPClientRequest(method: "POST", url: server.baseURL + "/v1/echo?x=1", body: Data("over TLS".utf8)))
        XCTAssertEqual(response.status, 200)
        let echo = try response.decodeJSON(Echo.self)
        XCTAssertEqual(echo.body, "over TLS")
        XCTAssertEqual(echo.query, ["x": "1"])
        XCTAssertEqual(try TestCertificateAuthority.presentedSerial(port: Int(server.port)), "1001")

        // Plain HTTP to the HTTPS port gets no HTTP answer (the server expects a TLS handshake).
        XCTAssertThrowsError(
            try client.send(HTTPClientRequest(url: "http://127.0.0.1:\(server.port)/v1/echo", timeoutSeconds: 5)))
    }

    /// An HTTPS daemon's event threads are woken too (`EventThreadWaker`): each wake is a connection whose TLS
    /// handshake fails at once, and the daemon goes on serving.
    func testEventThreadWakesLeaveAnHTTPSDaemonServing() throws {
        let ca = try TestCertificateAuthority(directory: directory.path, name: "cluster")
        let certificate = try ca.issueServerCertificate(name: "server", serial: 0x1001)
        let server = try tlsServer(certificate, wakeIntervalSeconds: 0.05, handler: echoHandler)
        let threads = HTTPServerConfiguration.defaultEventThreadCount
        try waitUntil("ten wakes of every event thread", timeoutSeconds: 30) { server.eventThreadWakes >= 10 * threads }
        let client = HTTPClient(caFile: ca.certificateFile)
        for index in 0..<threads * 2 {
            let response = try client.send(
                HTTPClientRequest(method: "POST", url: server.baseURL + "/v1/echo", body: Data("after \(index)".utf8)))
            XCTAssertEqual(try response.decodeJSON(Echo.self).body, "after \(index)")
        }
        XCTAssertEqual(server.connectionCounts.refusedAtHandOff, 0, "wakes are not counted as refused connections")
    }

    func testAServerSignedByAnotherCAIsRefusedWithAClearError() throws {
        let ca = try TestCertificateAuthority(directory: directory.path, name: "cluster")
        let other = try TestCertificateAuthority(directory: directory.path, name: "other")
        let server = try tlsServer(try ca.issueServerCertificate(name: "server", serial: 0x1001), handler: echoHandler)

        let url = server.baseURL + "/v1/echo"
        XCTAssertThrowsError(try HTTPClient(caFile: other.certificateFile).send(HTTPClientRequest(url: url))) {
            error in
            guard case .certificateNotTrusted(let failedURL, _, let caFile) = error as? HTTPClientError else {
                return XCTFail("expected certificateNotTrusted, got \(error)")
            }
            XCTAssertEqual(failedURL, url)
            XCTAssertEqual(caFile, other.certificateFile)
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix("certificate not trusted: \(url)"), message)
            XCTAssertTrue(message.contains("pass --ca-file"), message)
            XCTAssertFalse((error as? HTTPClientError)?.isTransient ?? true, "retrying cannot make it trusted")
        }
        // Without a CA file the system's store is used, which does not know the test CA either.
        XCTAssertThrowsError(try HTTPClient().send(HTTPClientRequest(url: url))) { error in
            XCTAssertTrue("\(error)".contains("the system's CA store does not vouch"), "\(error)")
        }
    }

    func testUnreadableMismatchedAndNonPEMFilesAreRefusedNamingTheFile() throws {
        let ca = try TestCertificateAuthority(directory: directory.path, name: "cluster")
        let first = try ca.issueServerCertificate(name: "first", serial: 0x1001)
        let second = try ca.issueServerCertificate(name: "second", serial: 0x2002)
        let missing = directory.path + "/missing.pem"

        XCTAssertThrowsError(try TLSCredentials(certificateFile: missing, privateKeyFile: first.keyFile)) { error in
            XCTAssertEqual(
                error as? TLSCredentialsError, .unreadable(file: missing, role: "certificate", reason: "no such file"))
            XCTAssertTrue("\(error)".contains(missing), "\(error)")
        }
        XCTAssertThrowsError(
            try TLSCredentials(certificateFile: first.certificateFile, privateKeyFile: first.certificateFile)
        ) { error in
            XCTAssertTrue("\(error)".contains("private key file \(first.certificateFile) is not a PEM"), "\(error)")
        }

        // The key of another certificate: GnuTLS refuses the pair when the server starts.
        var configuration = HTTPServerConfiguration()
        configuration.tls = try TLSCredentials(certificateFile: first.certificateFile, privateKeyFile: second.keyFile)
        let server = HTTPServer(configuration: configuration, handler: echoHandler)
        XCTAssertThrowsError(try server.start()) { error in
            XCTAssertEqual(
                error as? HTTPServerError,
                .tls(.rejected(certificateFile: first.certificateFile, privateKeyFile: second.keyFile)))
            XCTAssertTrue("\(error)".contains("does not match the certificate \(first.certificateFile)"), "\(error)")
        }
        XCTAssertEqual(server.port, 0, "nothing listens")
    }

    func testReloadKeepsTheListenerFinishesTheRequestInFlightAndNewConnectionsSeeTheNewCertificate() async throws {
        let ca = try TestCertificateAuthority(directory: directory.path, name: "cluster")
        let first = try ca.issueServerCertificate(name: "first", serial: 0x1001)
        let second = try ca.issueServerCertificate(name: "second", serial: 0x2002)
        let slowEntered = Locked(false)
        let releaseSlow = DispatchSemaphore(value: 0)
        let server = try tlsServer(first) { request in
            guard request.path == "/slow" else { return .text("fast") }
            slowEntered.withLock { $0 = true }
            releaseSlow.wait()
            return .text("slow finished")
        }
        let port = Int(server.port)
        let listenerBefore = try XCTUnwrap(listeningSocketInode(port: port), "no listening socket on \(port)")
        XCTAssertEqual(try TestCertificateAuthority.presentedSerial(port: port), "1001")

        // A request in flight on the first certificate's daemon.
        let client = HTTPClient(caFile: ca.certificateFile)
        let slow = Task {
            try await client.send(HTTPClientRequest(url: server.baseURL + "/slow", timeoutSeconds: 60))
        }
        try waitUntil("the slow request reached its handler", timeoutSeconds: 30) { slowEntered.current }

        // A key that does not belong to the certificate is refused; the first certificate is still served.
        XCTAssertThrowsError(
            try server.reloadCertificate(
                TLSCredentials(certificateFile: second.certificateFile, privateKeyFile: first.keyFile))
        ) { error in
            guard case .tls(.rejected) = error as? HTTPServerError else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try TestCertificateAuthority.presentedSerial(port: port), "1001")

        // The reload returns once the old daemon has drained, so it runs beside the test.
        let newCredentials = try TLSCredentials(
            certificateFile: second.certificateFile, privateKeyFile: second.keyFile)
        let reload = Task.detached { try server.reloadCertificate(newCredentials, drainTimeoutSeconds: 60) }
        try waitUntil("new connections get the second certificate", timeoutSeconds: 30, intervalSeconds: 0.2) {
            (try? TestCertificateAuthority.presentedSerial(port: port)) == "2002"
        }
        let fast = try await client.send(HTTPClientRequest(url: server.baseURL + "/fast"))
        XCTAssertEqual(fast.status, 200)
        XCTAssertEqual(listeningSocketInode(port: port), listenerBefore, "the listening socket was never reopened")

        releaseSlow.signal()
        let slowResponse = try await slow.value
        XCTAssertEqual(slowResponse.status, 200)
        XCTAssertEqual(String(decoding: slowResponse.body, as: UTF8.self), "slow finished")
        try await reload.value
        XCTAssertEqual(try TestCertificateAuthority.presentedSerial(port: port), "2002")
        XCTAssertEqual(listeningSocketInode(port: port), listenerBefore)

        // A plain-HTTP server has no certificate to reload.
        let plain = try startServer(self, handler: echoHandler)
        XCTAssertThrowsError(try plain.reloadCertificate(newCredentials)) { error in
            XCTAssertEqual(error as? HTTPServerError, .notServingTLS)
        }
    }
}

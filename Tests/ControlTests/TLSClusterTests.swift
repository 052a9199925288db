// Issue 19, TLS: `opsctl serve` over HTTPS with a certificate from a CA the test makes with openssl; a worker and
// `opsctl` commands verify it with --ca-file / OPS_CA_FILE and run a job end to end; a client or worker with
// another CA is refused with "certificate not trusted ... pass --ca-file"; SIGHUP with a renewed certificate at
// the same paths: new connections see the new serial, the listening socket is the same one, the worker's
// connections carry on.

import Foundation
import HTTPClient
import Spawn
import TestSupport
import XCTest

final class TLSClusterTests: XCTestCase {
    private var cluster: ProcessCluster!

    override func setUpWithError() throws {
        guard TestCertificateAuthority.opensslPath != nil else {
            throw XCTSkip("the openssl command is not installed; scripts/install-test-deps.sh installs it")
        }
        cluster = try ProcessCluster()
    }

    override func tearDown() {
        if let cluster, (testRun?.totalFailureCount ?? 0) > 0 { print(cluster.logs()) }
        cluster?.shutdown()
        cluster = nil
    }

    private func startWorker(name: String, server: String, caFile: String) throws -> ManagedProcess {
        let directory = cluster.directory.path
        return try cluster.startTracked(
            name: name, executable: cluster.opsctl,
            arguments: [
                "worker", "--server", server, "--name", name, "--cpus", "2", "--memory", "2Gi", "--poll-wait", "2",
                "--work-dir", directory + "/work/" + name,
            ],
            ["OPS_JOIN_TOKEN": cluster.joinToken, "OPS_STATE_DIR": directory, "OPS_CA_FILE": caFile])
    }

    private func sleepJob(_ name: String) throws -> String {
        try cluster.writeManifest(
            "\(name).yaml",
            """
            apiVersion: llmops/v1
            kind: Job
            metadata: {name: \(name)}
            spec:
              type: sleep
              tasks: 2
              resources: {cpu: 500m, memory: 64Mi}
              sleep: {seconds: 0.2}
            """)
    }

    func testWorkerAndOpsctlOverHTTPSWithTheCAFileAndAWrongCAIsRefused() async throws {
        let certificates = cluster.directory.path + "/tls"
        let ca = try TestCertificateAuthority(directory: certificates, name: "cluster")
        let other = try TestCertificateAuthority(directory: certificates, name: "other")
        let certificate = try ca.issueServerCertificate(name: "control-plane", serial: 0x1001)
        let port = try FreePort.next()
        let server = "https://127.0.0.1:\(port)"
        let serve = try cluster.startServe(
            port: port, leaseSeconds: 5, heartbeatSeconds: 0.5,
            extraArguments: ["--tls-cert-file", certificate.certificateFile, "--tls-key-file", certificate.keyFile])
        let trusting = HTTPClient(caFile: ca.certificateFile)
        try waitUntil("the control plane answers /readyz over HTTPS", timeoutSeconds: 60, intervalSeconds: 0.2) {
            guard serve.isRunning else { throw IntegrationFailure("serve exited:\n\(serve.output)") }
            return (try? trusting.send(HTTPClientRequest(url: server + "/readyz", timeoutSeconds: 5)))?.status == 200
        }
        XCTAssertTrue(serve.output.contains("listening on \(server)"), serve.output)
        _ = try startWorker(name: "tls-node", server: server, caFile: ca.certificateFile)

        let caEnvironment = ["OPS_CA_FILE": ca.certificateFile]
        let apply = try cluster.run(
            ["apply", "-f", try sleepJob("over-tls"), "--wait", "--timeout", "60"], server: server,
            environment: caEnvironment)
        XCTAssertEqual(apply.status, 0, "apply --wait over HTTPS failed: \(apply.stdout)\n\(apply.stderr)")
        let jobs = try cluster.run(["get", "jobs", "--ca-file", ca.certificateFile], server: server)
        XCTAssertEqual(jobs.status, 0, jobs.stderr)
        XCTAssertTrue(
            jobs.stdout.split(separator: "\n").contains { $0.hasPrefix("over-tls") && $0.contains("succeeded") },
            jobs.stdout)

        // Another CA: opsctl and a worker are refused, each saying what to do.
        let refused = try cluster.run(
            ["get", "jobs"], server: server, environment: ["OPS_CA_FILE": other.certificateFile])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("certificate not trusted"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("pass --ca-file"), refused.stderr)
        let untrustingWorker = try startWorker(name: "wrong-ca", server: server, caFile: other.certificateFile)
        try waitUntil("the worker with the wrong CA exits", timeoutSeconds: 60, intervalSeconds: 0.2) {
            !untrustingWorker.isRunning
        }
        XCTAssertNotEqual(untrustingWorker.exit, .exited(status: 0))
        XCTAssertNotNil(untrustingWorker.exit, "it has exited")
        XCTAssertTrue(untrustingWorker.output.contains("certificate not trusted"), untrustingWorker.output)
        // A CA file that does not exist is reported as the file, before any connection.
        let missing = try cluster.run(["get", "jobs", "--ca-file", certificates + "/nope.pem"], server: server)
        XCTAssertEqual(missing.status, 2, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("--ca-file: cannot read \(certificates)/nope.pem"), missing.stderr)

        // SIGHUP after the certificate was renewed in place: new connections get the new serial on the same
        // listening socket, and the worker keeps running jobs over its (re)connections.
        let listener = try XCTUnwrap(listeningSocketInode(port: port))
        XCTAssertEqual(try TestCertificateAuthority.presentedSerial(port: port), "1001")
        _ = try ca.issueServerCertificate(name: "control-plane", serial: 0x2002)
        kill(serve.pid, SIGHUP)
        try waitUntil("new connections see the renewed certificate", timeoutSeconds: 30, intervalSeconds: 0.2) {
            (try? TestCertificateAuthority.presentedSerial(port: port)) == "2002"
        }
        XCTAssertEqual(listeningSocketInode(port: port), listener, "the listener was never closed")
        XCTAssertTrue(serve.isRunning)
        let after = try cluster.run(
            ["apply", "-f", try sleepJob("after-reload"), "--wait", "--timeout", "60"], server: server,
            environment: caEnvironment)
        XCTAssertEqual(after.status, 0, "apply after the reload failed: \(after.stdout)\n\(after.stderr)")
        try waitUntil("serve logs the reload", timeoutSeconds: 10) {
            serve.output.contains("reloaded the TLS certificate \(certificate.certificateFile)")
        }
    }

    func testServeRefusesPlainHTTPOffLoopbackAndABadKeyNamingTheFile() throws {
        let refused = try cluster.run(
            ["serve", "--host", "0.0.0.0", "--port", "0", "--database-url", cluster.databaseURL], server: "",
            environment: ["OPS_ADMIN_TOKEN": "a", "OPS_JOIN_TOKEN": "j"])
        XCTAssertEqual(refused.status, 2, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("refusing plain HTTP on 0.0.0.0"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("--allow-plain-http"), refused.stderr)

        let ca = try TestCertificateAuthority(directory: cluster.directory.path + "/tls", name: "cluster")
        let first = try ca.issueServerCertificate(name: "first", serial: 0x1001)
        let second = try ca.issueServerCertificate(name: "second", serial: 0x2002)
        let mismatched = try cluster.run(
            [
                "serve", "--port", "0", "--database-url", cluster.databaseURL, "--tls-cert-file", first.certificateFile,
                "--tls-key-file", second.keyFile,
            ], server: "", environment: ["OPS_ADMIN_TOKEN": "a", "OPS_JOIN_TOKEN": "j"])
        XCTAssertNotEqual(mismatched.status, 0)
        XCTAssertTrue(
            mismatched.stderr.contains("\(second.keyFile) does not match the certificate \(first.certificateFile)"),
            mismatched.stderr)
    }
}

import Control
import Foundation
import TestSupport
import XCTest

@testable import OpsCommandLine

/// `serve --tls-cert-file/--tls-key-file`, `--allow-plain-http`, the global `--ca-file` (docs/deploy.md, "TLS"), and
/// the sd_notify datagram `serve` sends to systemd (docs/deploy.md, "systemd").
final class TLSAndNotifySettingsTests: XCTestCase {
    private let environment = [
        "OPS_DATABASE_URL": "postgresql://ops@127.0.0.1:5432/ops", "OPS_ADMIN_TOKEN": "a", "OPS_JOIN_TOKEN": "j",
    ]

    private func settings(_ line: String, _ extra: [String: String] = [:]) throws -> Settings {
        let parsed = try OpsCommands.parser.parse(line.split(separator: " ").map(String.init))
        return Settings(parsed: parsed, environment: environment.merging(extra) { _, new in new })
    }

    private func configuration(_ line: String, _ extra: [String: String] = [:]) throws -> ControlPlaneConfiguration {
        try settings(line, extra).controlPlaneConfiguration()
    }

    func testTLSFilesComeInPairsFromFlagsOrVariables() throws {
        XCTAssertNil(try configuration("serve").tls)
        XCTAssertEqual(
            try configuration("serve --tls-cert-file /etc/ops/tls.crt --tls-key-file /etc/ops/tls.key").tls,
            ControlPlaneTLS(certificateFile: "/etc/ops/tls.crt", keyFile: "/etc/ops/tls.key"))
        XCTAssertEqual(
            try configuration("serve", ["OPS_TLS_CERT_FILE": "/c.pem", "OPS_TLS_KEY_FILE": "/k.pem"]).tls,
            ControlPlaneTLS(certificateFile: "/c.pem", keyFile: "/k.pem"))
        XCTAssertThrowsError(try configuration("serve --tls-cert-file /c.pem")) { error in
            XCTAssertEqual(
                "\(error)", "serve: --tls-cert-file is set but --tls-key-file is not; pass both (or neither)")
        }
        XCTAssertThrowsError(try configuration("serve", ["OPS_TLS_KEY_FILE": "/k.pem"])) { error in
            XCTAssertTrue("\(error)".contains("--tls-key-file is set but --tls-cert-file is not"), "\(error)")
        }
    }

    func testPlainHTTPOnlyOnLoopbackUnlessAllowed() throws {
        for host in ["127.0.0.1", "127.0.0.53", "::1"] {
            XCTAssertEqual(try configuration("serve --host \(host)").host, host)
        }
        for host in ["0.0.0.0", "10.1.2.3", "::"] {
            XCTAssertThrowsError(try configuration("serve --host \(host)"), host) { error in
                XCTAssertTrue("\(error)".hasPrefix("serve: refusing plain HTTP on \(host)"), "\(error)")
                XCTAssertTrue("\(error)".contains("--allow-plain-http"), "\(error)")
            }
        }
        XCTAssertNil(try configuration("serve --host 0.0.0.0 --allow-plain-http").tls)
        XCTAssertNil(try configuration("serve --host 0.0.0.0", ["OPS_ALLOW_PLAIN_HTTP": "true"]).tls)
        XCTAssertNotNil(try configuration("serve --host 0.0.0.0 --tls-cert-file /c --tls-key-file /k").tls)
    }

    func testCAFileMustBeAReadablePEMCertificateAndIsNamedWhenNot() throws {
        let directory = try TemporaryDirectory.make(prefix: "llmops-cafile-")
        defer { directory.remove() }
        let pem = directory.path + "/ca.pem"
        try "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".write(
            toFile: pem, atomically: true, encoding: .utf8)
        let notPEM = directory.path + "/ca.txt"
        try "hello".write(toFile: notPEM, atomically: true, encoding: .utf8)

        XCTAssertNil(try settings("get jobs").caFile())
        XCTAssertEqual(try settings("get jobs --ca-file \(pem)").caFile(), pem)
        XCTAssertEqual(try settings("get jobs", ["OPS_CA_FILE": pem]).caFile(), pem)
        XCTAssertEqual(try settings("get jobs", ["OPS_CA_FILE": pem]).controlPlaneHTTPClient().caFile, pem)
        XCTAssertThrowsError(try settings("get jobs", ["OPS_CA_FILE": directory.path + "/none.pem"]).caFile()) {
            XCTAssertEqual(
                "\($0)",
                "--ca-file: cannot read \(directory.path)/none.pem (from OPS_CA_FILE); check the path and its permissions"
            )
        }
        XCTAssertThrowsError(try settings("worker --ca-file \(notPEM)").caFile()) {
            XCTAssertTrue("\($0)".contains("\(notPEM) holds no PEM certificate"), "\($0)")
        }
    }

    func testNotifierSendsOneDatagramToThePathInNOTIFY_SOCKET() throws {
        XCTAssertNil(SystemdNotifier(environment: [:]), "not under systemd: nothing to notify")
        let directory = try TemporaryDirectory.make(prefix: "llmops-notify-")
        defer { directory.remove() }
        let path = directory.path + "/notify.sock"
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(descriptor, 0)
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8) + [0]) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        XCTAssertEqual(bound, 0, String(cString: strerror(errno)))

        let notifier = try XCTUnwrap(SystemdNotifier(environment: ["NOTIFY_SOCKET": path]))
        try notifier.send(SystemdNotifier.ready)
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = recv(descriptor, &buffer, buffer.count, Int32(MSG_DONTWAIT))
        XCTAssertEqual(String(decoding: buffer.prefix(max(0, count)), as: UTF8.self), "READY=1")

        // Nobody listening at the path: a clear error naming it, not a crash.
        let gone = SystemdNotifier(environment: ["NOTIFY_SOCKET": directory.path + "/gone.sock"])
        XCTAssertThrowsError(try gone?.send(SystemdNotifier.ready)) { error in
            XCTAssertTrue("\(error)".contains("NOTIFY_SOCKET=\(directory.path)/gone.sock"), "\(error)")
        }

        XCTAssertEqual(
            SystemdNotifier.watchdogIntervalSeconds(environment: ["WATCHDOG_USEC": "30000000"], pid: 7), 30)
        XCTAssertNil(
            SystemdNotifier.watchdogIntervalSeconds(
                environment: ["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "8"], pid: 7),
            "the watchdog is meant for another process")
    }
}

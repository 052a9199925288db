import Control
import Foundation
import XCTest

@testable import OpsCommandLine

/// `opsctl serve`'s connection options (docs/security.md, "Connection floods") reach the control plane's
/// configuration; without them the HTTP server's defaults apply.
final class ServeConnectionOptionsTests: XCTestCase {
    private let environment = [
        "OPS_DATABASE_URL": "postgresql://ops@127.0.0.1:5432/ops", "OPS_ADMIN_TOKEN": "a", "OPS_JOIN_TOKEN": "j",
    ]

    private func configuration(_ line: String) throws -> ControlPlaneConfiguration {
        let parsed = try OpsCommands.parser.parse(line.split(separator: " ").map(String.init))
        return try Settings(parsed: parsed, environment: environment).controlPlaneConfiguration()
    }

    func testDefaultsAreTheServersAndFlagsOverrideThem() throws {
        XCTAssertEqual(try configuration("serve").connections, ServerConnectionLimits())
        XCTAssertEqual(
            try configuration(
                "serve --connection-limit 2000 --per-address-connection-limit 0 --idle-timeout-seconds 5"
            ).connections,
            ServerConnectionLimits(
                connectionLimit: 2000, perAddressConnectionLimit: 0, idleConnectionTimeoutSeconds: 5))
        XCTAssertThrowsError(try configuration("serve --idle-timeout-seconds 0"), "0 would mean never")
    }
}

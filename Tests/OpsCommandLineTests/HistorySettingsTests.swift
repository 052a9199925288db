import Control
import XCTest

@testable import OpsCommandLine

/// `opsctl serve --history-retention-days` / OPS_HISTORY_RETENTION_DAYS: 30 by default, 0 keeps forever, anything
/// else that is not a day count stops `serve` naming the flag and what it expects.
final class HistorySettingsTests: XCTestCase {
    private let base = [
        "OPS_DATABASE_URL": "postgresql://ops@127.0.0.1:5432/ops", "OPS_ADMIN_TOKEN": "a", "OPS_JOIN_TOKEN": "j",
        "HOME": "/nonexistent-home",
    ]

    private func retentionDays(_ arguments: String, _ extra: [String: String] = [:]) throws -> Int {
        try Settings(
            parsed: try OpsCommands.parser.parse(arguments.split(separator: " ").map(String.init)),
            environment: base.merging(extra) { _, new in new }
        ).controlPlaneConfiguration().historyRetentionDays
    }

    func testDefaultFlagVariableAndBadValues() throws {
        XCTAssertEqual(try retentionDays("serve"), 30)
        XCTAssertEqual(try retentionDays("serve --history-retention-days 0"), 0)
        XCTAssertEqual(try retentionDays("serve", ["OPS_HISTORY_RETENTION_DAYS": "7"]), 7)
        XCTAssertEqual(try retentionDays("serve --history-retention-days 90", ["OPS_HISTORY_RETENTION_DAYS": "7"]), 90)
        for bad in ["seven", "1.5", "36501"] {
            XCTAssertThrowsError(try retentionDays("serve --history-retention-days \(bad)")) { error in
                XCTAssertTrue("\(error)".contains("--history-retention-days"), "\(error)")
                XCTAssertTrue("\(error)".contains("an integer in 0...36500"), "\(error)")
            }
        }
        XCTAssertThrowsError(try retentionDays("serve", ["OPS_HISTORY_RETENTION_DAYS": "forever"])) { error in
            XCTAssertTrue("\(error)".contains("OPS_HISTORY_RETENTION_DAYS"), "\(error)")
        }
    }
}

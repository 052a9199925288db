// The fields a changed manifest names in its 409 (`JobSpecConflict`): paths into the stored and the applied
// manifest, nested keys and array positions, bounded in number.
import APITypes
import XCTest

@testable import Control

final class JobSpecConflictTests: XCTestCase {
    private func json(_ text: String) throws -> AnyJSON { try WireCoding.decode(AnyJSON.self, from: Data(text.utf8)) }

    func testNamesEachDifferingFieldByItsPath() throws {
        let stored = try json(
            #"{"metadata": {"name": "a"}, "spec": {"priority": 0, "shell": {"command": ["echo", "hi"]}}}"#)
        let applied = try json(
            #"{"metadata": {"name": "a"}, "spec": {"priority": 5, "queue": "x", "shell": {"command": ["echo", "ho"]}}}"#
        )
        XCTAssertEqual(
            JobSpecConflict.differingFields(stored, applied, path: ""),
            ["spec.priority", "spec.queue", "spec.shell.command[1]"])
        XCTAssertEqual(JobSpecConflict.differingFields(stored, stored, path: ""), [])
    }

    func testTheMessageSaysHowToGoOnAndBoundsTheFieldsItNames() throws {
        let many = (0..<10).map { "\"f\($0)\": \($0)" }.joined(separator: ", ")
        let error = JobSpecConflict.error(name: "train", stored: "{}", submitted: "{\(many)}")
        XCTAssertEqual(error.httpStatus, 409)
        let text = error.description
        XCTAssertTrue(text.contains("f0, f1, f2, f3, f4, f5, …"), text)
        XCTAssertFalse(text.contains("f6"), text)
        for way in ["metadata.name", "opsctl delete job train", "opsctl rerun train"] {
            XCTAssertTrue(text.contains(way), "missing \(way): \(text)")
        }
    }
}

// Issue 16: the daemon keeps its own worker token in its work directory, so a restart proves it is the same
// worker. The file is made before the first registration, kept per name, and readable by its owner only.

import Foundation
import TestSupport
import XCTest

@testable import Workers

final class WorkerIdentityFileTests: XCTestCase {
    func testTheTokenIsMadeOnceKeptForItsNameAndReadableByItsOwnerOnly() throws {
        let directory = try TemporaryDirectory.make()
        defer { directory.remove() }
        let file = WorkerIdentityFile(url: URL(fileURLWithPath: directory.path + "/work/worker-identity.json"))

        let token = try file.token(for: "node-1")
        XCTAssertEqual(token.count, 64)
        XCTAssertTrue(token.allSatisfy(\.isHexDigit), token)
        XCTAssertEqual(try file.token(for: "node-1"), token, "a restart reads the same token")
        let mode = try FileManager.default.attributesOfItem(atPath: file.url.path)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600)

        let renamed = try file.token(for: "node-2")
        XCTAssertNotEqual(renamed, token, "a token is only used for the name it was made for")
        XCTAssertEqual(try file.token(for: "node-2"), renamed)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory.path + "/work")
        XCTAssertEqual(leftovers, ["worker-identity.json"], "no temporary file is left behind")

        try Data("not json".utf8).write(to: file.url)
        XCTAssertNotEqual(try file.token(for: "node-2"), renamed, "an unreadable file is replaced by a new token")
    }

    func testAnUnwritableDirectoryIsAnErrorThatSaysWhatToCheck() throws {
        let file = WorkerIdentityFile(url: URL(fileURLWithPath: "/proc/llmops-no-such-dir/worker-identity.json"))
        XCTAssertThrowsError(try file.token(for: "node")) { error in
            XCTAssertTrue("\(error)".contains("cannot write the worker identity file"), "\(error)")
            XCTAssertTrue("\(error)".contains("permissions"), "\(error)")
        }
    }
}

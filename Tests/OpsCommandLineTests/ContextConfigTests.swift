import Foundation
import TestSupport
import XCTest

@testable import OpsCommandLine

/// `opsctl config set-context/use-context/get-contexts` (docs/deploy.md, "Contexts"): the current context supplies
/// server, CA file and token file; flags and OPS_* variables still win.
final class ContextConfigTests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws { directory = try TemporaryDirectory.make(prefix: "llmops-contexts-") }
    override func tearDown() { directory?.remove() }

    private func settings(_ arguments: [String], _ extra: [String: String] = [:]) throws -> Settings {
        let parsed = try OpsCommands.parser.parse(arguments)
        return Settings(parsed: parsed, environment: ["OPS_STATE_DIR": directory.path].merging(extra) { _, new in new })
    }

    private func config(_ arguments: [String]) async throws {
        let status = try await ConfigCommand.run(try settings(["config"] + arguments))
        XCTAssertEqual(status, 0)
    }

    private func write(_ name: String, _ text: String) throws -> String {
        let path = directory.path + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testCurrentContextSuppliesServerCAAndTokenAndFlagsAndVariablesOverrideIt() async throws {
        let ca = try write("prod-ca.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
        let token = try write("prod-token", "prod-secret\n")
        let stagingToken = try write("staging-token", "staging-secret\n")

        // Without a config: what `opsctl up` left, else the default.
        XCTAssertEqual(try settings(["get", "jobs"]).serverURL, "http://127.0.0.1:8080")

        try await config([
            "set-context", "prod", "--server", "https://cp.prod:8443", "--ca-file", ca, "--token-file", token,
        ])
        try await config([
            "set-context", "staging", "--server", "https://cp.staging:8443", "--token-file", stagingToken,
        ])
        let stored = try ContextConfig.load(path: directory.path + "/config")
        XCTAssertEqual(stored.currentContext, "prod", "the first context set becomes the current one")
        XCTAssertEqual(
            stored.contexts,
            [
                OpsContext(name: "prod", server: "https://cp.prod:8443", caFile: ca, tokenFile: token),
                OpsContext(name: "staging", server: "https://cp.staging:8443", tokenFile: stagingToken),
            ])
        let attributes = try FileManager.default.attributesOfItem(atPath: directory.path + "/config")
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600, "the file names token files")

        let plain = try settings(["get", "jobs"])
        XCTAssertEqual(plain.serverURL, "https://cp.prod:8443")
        XCTAssertEqual(try plain.caFile(), ca)
        XCTAssertEqual(try plain.adminToken(), "prod-secret")

        try await config(["use-context", "staging"])
        let switched = try settings(["get", "jobs"])
        XCTAssertEqual(switched.serverURL, "https://cp.staging:8443")
        XCTAssertNil(try switched.caFile(), "staging has no CA file: the system's store")
        XCTAssertEqual(try switched.adminToken(), "staging-secret")

        // Flags, then OPS_* variables, win over the context.
        XCTAssertEqual(try settings(["get", "jobs", "--server", "https://other:1"]).serverURL, "https://other:1")
        XCTAssertEqual(try settings(["get", "jobs"], ["OPS_SERVER": "https://env:2"]).serverURL, "https://env:2")
        XCTAssertEqual(try settings(["get", "jobs"], ["OPS_TOKEN": "from-env"]).adminToken(), "from-env")
        XCTAssertEqual(try settings(["get", "jobs"], ["OPS_CA_FILE": ca]).caFile(), ca)

        // Updating one field of an existing context keeps the others.
        try await config(["set-context", "staging", "--ca-file", ca])
        XCTAssertEqual(
            try ContextConfig.load(path: directory.path + "/config").current,
            OpsContext(name: "staging", server: "https://cp.staging:8443", caFile: ca, tokenFile: stagingToken))
    }

    func testBadInputIsRefusedNamingWhatWasExpected() async throws {
        await XCTAssertThrowsErrorAsync(try await config(["use-context", "nope"])) { error in
            XCTAssertTrue("\(error)".contains("no context named nope"), "\(error)")
            XCTAssertTrue("\(error)".contains("opsctl config set-context nope --server URL"), "\(error)")
        }
        await XCTAssertThrowsErrorAsync(try await config(["set-context", "new"])) { error in
            XCTAssertEqual("\(error)", "config set-context new: a new context needs --server URL")
        }
        await XCTAssertThrowsErrorAsync(try await config(["set-context", "a/b", "--server", "https://x:1"])) { error in
            XCTAssertTrue("\(error)".contains("must be 1-63 characters"), "\(error)")
        }
        await XCTAssertThrowsErrorAsync(
            try await config(["set-context", "x", "--server", "https://x:1", "--token-file", directory.path + "/none"])
        ) { error in
            XCTAssertTrue("\(error)".contains("--token-file: cannot read \(directory.path)/none"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory.path + "/config"), "nothing half-written")

        let path = try write("config", "current-context: b\ncontexts:\n  - name: a\n    server: https://a:1\n")
        XCTAssertThrowsError(try settings(["get", "jobs"]).adminToken()) { error in
            XCTAssertEqual(
                "\(error)",
                "the opsctl config \(path): current-context: expected the name of one of its contexts ('b' is none)")
        }
        _ = try write("config", "contexts:\n  - name: a\n")
        XCTAssertThrowsError(try settings(["get", "jobs"]).adminToken()) { error in
            XCTAssertTrue("\(error)".contains("contexts[0].server: expected the control plane's URL"), "\(error)")
        }
    }
}

private func XCTAssertThrowsErrorAsync(
    _ expression: @autoclosure () async throws -> Void, file: StaticString = #filePath, line: UInt = #line,
    _ handler: (Error) -> Void
) async {
    do {
        try await expression()
        XCTFail("expected an error", file: file, line: line)
    } catch {
        handler(error)
    }
}

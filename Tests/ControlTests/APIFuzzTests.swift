import APIClient
import APITypes
import Control
import Foundation
import TestSupport
import XCTest

/// schemathesis (PyPI) against a live control plane: a real PostgreSQL, real HTTP on 127.0.0.1, the root admin
/// token in the `Authorization` header, and the document the server itself serves at `/openapi.json`. Every
/// check runs (`--checks all`): no 5xx, every status and body as documented, schema-valid requests accepted and
/// invalid ones refused with a 4xx. The short form keeps a few examples per operation (CI, about a minute on two
/// cores); `scripts/api-fuzz.sh` runs the long form (`OPS_API_FUZZ_MAX_EXAMPLES`).
final class APIFuzzTests: XCTestCase {
    func testSchemathesisFindsNoServerErrorAndNoNonConformingResponse() async throws {
        let database = try TestPostgres.shared().freshDatabase()
        let directory = try TemporaryDirectory.make()
        defer { directory.remove() }
        // Long-polls (`?wait=`) end within a second, so examples at the bound do not stall the run.
        let plane = ControlPlane(
            configuration: ControlPlaneConfiguration(
                databaseURL: database, adminToken: Secret("fuzz-admin"), joinToken: Secret("fuzz-join"),
                artifactDirectory: directory.path + "/artifacts", maxPollSeconds: 1), log: { _ in })
        try plane.start()
        defer { plane.stop() }
        let admin = OpsClient(
            baseURL: plane.baseURL, token: "fuzz-admin", transport: CurlTransport(), timeoutSeconds: 10)
        _ = try await admin.submit([InProcessCluster.sleepJob("fuzz-sleep", seconds: 0.1)])

        let examples = ProcessInfo.processInfo.environment["OPS_API_FUZZ_MAX_EXAMPLES"] ?? "6"
        let report = directory.path + "/junit.xml"
        let configuration = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/schemathesis.toml").path
        let run = try Schemathesis.run(
            [
                "--config-file", configuration, "run", plane.baseURL + APIRoute.openAPI.pattern, "--header",
                "Authorization: Bearer fuzz-admin",
                "--checks", "all", "--max-examples", examples, "--seed", "17", "--workers", "2",
                "--request-timeout", "20", "--report", "junit", "--report-junit-path", report,
            ], in: directory.path)
        print(run.summary)
        XCTAssertEqual(run.status, 0, "schemathesis found failures:\n\(run.output.suffix(20_000))")
        XCTAssertTrue(run.summary.contains("passed"), run.summary)
        let junit = try String(contentsOfFile: report, encoding: .utf8)
        XCTAssertTrue(junit.contains("<testsuite"), "schemathesis wrote no report")
        XCTAssertFalse(junit.contains("<failure"), junit)
    }
}

/// The `schemathesis` command line, installed by scripts/install-test-deps.sh (pip-installed here when absent).
enum Schemathesis {
    struct Run {
        let status: Int32
        let output: String
        /// The lines from "SUMMARY" on: operations tested, checks, failures.
        var summary: String {
            guard let start = output.range(of: "SUMMARY") else { return output.suffix(3000).description }
            return String(output[start.lowerBound...])
        }
    }

    /// Runs in `directory`, where schemathesis keeps its example database (`.schemathesis/`).
    static func run(_ arguments: [String], in directory: String) throws -> Run {
        if try command(["schemathesis", "--version"], in: directory).status != 0 {
            _ = try command(
                ["python3", "-m", "pip", "install", "-q", "--disable-pip-version-check", "schemathesis"], in: directory)
        }
        return try command(["schemathesis"] + arguments, in: directory)
    }

    private static func command(_ arguments: [String], in directory: String) throws -> Run {
        let process = Process()
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["NO_COLOR"] = "1"
        environment["COLUMNS"] = "120"
        process.environment = environment
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }
}

// Issue 16.5 "Tenants" with the real `opsctl` binary against a control plane on a real socket: `opsctl token
// create` prints the secret once, `token list` shows the tokens without it, a submitter's secret (OPS_TOKEN)
// applies jobs to its queue only and lists only its queue's jobs, and after `token revoke` it is refused.
// Before, `opsctl token` was an unknown command.

import APITypes
import Control
import Foundation
import TestSupport
import XCTest

final class TokenCommandTests: InProcessControlPlaneTestCase {
    private func opsctl(_ arguments: [String], token: String? = nil) throws -> CommandResult {
        try cluster.run(arguments, server: server, environment: token.map { ["OPS_TOKEN": $0] } ?? [:])
    }

    private func apply(_ name: String, queue: String, token: String) throws -> CommandResult {
        let text = """
            apiVersion: llmops/v1
            kind: Job
            metadata: {name: \(name)}
            spec:
              type: sleep
              queue: \(queue)
              resources: {cpu: 100m, memory: 16Mi}
              nodeSelector: {pool: nowhere}
              sleep: {seconds: 0.1}
            """
        return try opsctl(["apply", "-f", try cluster.writeManifest(name + ".yaml", text)], token: token)
    }

    func testTokenCreateListUseAndRevoke() throws {
        let created = try opsctl(["token", "create", "ci", "--scope", "submitter", "--queue", "research"])
        XCTAssertEqual(created.status, 0, created.stderr)
        XCTAssertTrue(
            created.stdout.contains("token ci created with scope submitter for queue(s) research"), created.stdout)
        let secretLine = try XCTUnwrap(created.stdout.split(separator: "\n").first { $0.hasPrefix("secret") })
        let secret = String(try XCTUnwrap(secretLine.split(separator: " ").last))
        XCTAssertTrue(secret.hasPrefix("ops_"), secret)

        let listed = try opsctl(["token", "list"])
        XCTAssertEqual(listed.status, 0, listed.stderr)
        XCTAssertTrue(listed.stdout.contains("ci"), listed.stdout)
        XCTAssertTrue(listed.stdout.contains("research"), listed.stdout)
        XCTAssertFalse(listed.stdout.contains(secret), "the secret is shown once")
        let json = try opsctl(["token", "list", "-o", "json"])
        let views = try WireCoding.decode([TokenView].self, from: Data(json.stdout.utf8))
        XCTAssertEqual(views.map(\.name), ["ci"])
        XCTAssertEqual(views.first?.createdBy, "admin")

        // The submitter's token: its queue yes, another no (naming the queue), and it lists only its own.
        let mine = try apply("mine", queue: "research", token: secret)
        XCTAssertEqual(mine.status, 0, mine.stderr)
        XCTAssertEqual(try apply("theirs", queue: "prod", token: cluster.adminToken).status, 0)
        let refused = try apply("sneaky", queue: "prod", token: secret)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("queue prod"), refused.stderr)
        let jobs = try opsctl(["get", "jobs"], token: secret)
        XCTAssertEqual(jobs.status, 0, jobs.stderr)
        XCTAssertTrue(jobs.stdout.contains("mine"), jobs.stdout)
        XCTAssertFalse(jobs.stdout.contains("theirs"), jobs.stdout)
        let logs = try opsctl(["logs", "theirs"], token: secret)
        XCTAssertNotEqual(logs.status, 0)
        XCTAssertTrue(logs.stderr.contains("is in queue prod"), logs.stderr)
        // Creating tokens is an admin's call.
        let notAdmin = try opsctl(["token", "create", "x", "--scope", "viewer"], token: secret)
        XCTAssertNotEqual(notAdmin.status, 0)
        XCTAssertTrue(notAdmin.stderr.contains("scope admin"), notAdmin.stderr)
        // The submission is in the events trail under the token's name.
        XCTAssertEqual(
            try cluster.count(
                "SELECT count(*) AS n FROM events e JOIN jobs j ON j.id = e.job_id WHERE j.name = 'mine' AND e.actor = 'ci'"
            ),
            try cluster.count("SELECT count(*) AS n FROM events e JOIN jobs j ON j.id = e.job_id WHERE j.name = 'mine'")
        )

        let revoked = try opsctl(["token", "revoke", "ci"])
        XCTAssertEqual(revoked.status, 0, revoked.stderr)
        XCTAssertTrue(revoked.stdout.contains("token ci revoked"), revoked.stdout)
        let after = try opsctl(["get", "jobs"], token: secret)
        XCTAssertNotEqual(after.status, 0)
        XCTAssertTrue(after.stderr.contains("not valid"), after.stderr)
        let again = try opsctl(["token", "revoke", "nobody"])
        XCTAssertNotEqual(again.status, 0)
        XCTAssertTrue(again.stderr.contains("no token named nobody"), again.stderr)
    }
}

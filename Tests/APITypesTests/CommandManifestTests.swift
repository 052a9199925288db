// `type: command` manifests (issue 18): what is accepted, and that a container image is refused at submission with
// what to do instead.

import Foundation
import XCTest

@testable import APITypes

final class CommandManifestTests: XCTestCase {
    private func problems(_ spec: String) -> [String] {
        let text =
            "apiVersion: llmops/v1\nkind: Job\nmetadata: {name: ddp}\nspec:\n"
            + spec.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\n"
        do {
            _ = try ManifestParser.parse(text: text, fileName: "ddp.yaml")
            return []
        } catch {
            return error.problems.map(\.description)
        }
    }

    func testACompleteCommandJobIsAccepted() throws {
        XCTAssertEqual(
            problems(
                """
                type: command
                replicas: 2
                retry: {maxAttempts: 3}
                command:
                  argv: [python3, train.py, --steps, "40"]
                  workingDirectory: /srv/project
                  env: {BATCH: "8"}
                  venv: /srv/project/.venv
                  checkpointDirectory: /shared/checkpoints
                  rendezvousTimeoutSeconds: 60
                """), [])
    }

    func testBadCommandSettingsAreNamedWithWhatIsExpected() throws {
        let found = problems(
            """
            type: command
            command:
              argv: []
              venv: relative/venv
              image: pytorch/pytorch:2.4
              rendezvousTimeoutSeconds: 0
              shell: true
            """)
        let expected = [
            "spec.command.argv", "spec.command.venv", "spec.command.image", "spec.command.rendezvousTimeoutSeconds",
            "spec.command.shell",
        ]
        for field in expected {
            XCTAssertTrue(found.contains { $0.contains(field) }, "\(field) in \(found)")
        }
        XCTAssertTrue(
            found.contains { $0.contains("container images are not supported") && $0.contains("venv") }, "\(found)")
        XCTAssertTrue(problems("type: command").contains { $0.contains("spec.command") }, "settings are required")
    }

    /// docs/your-own-code.md's example, as shipped in manifests/examples.
    func testTheDDPExampleParses() throws {
        let path = ManifestExampleTests.examples.appendingPathComponent("command-ddp.yaml").path
        let job = try XCTUnwrap(ManifestParser.parse(contentsOfFile: path).jobs.first)
        XCTAssertEqual(job.spec.type, "command")
        XCTAssertEqual(job.spec.replicas, 2)
        let settings = try XCTUnwrap(job.spec.settings).decode(CommandSettings.self)
        XCTAssertEqual(settings.argv, ["python3", "ddp_train.py"])
        XCTAssertEqual(settings.env?["STEPS"], "60")
        XCTAssertEqual(settings.checkpointDirectory, "/shared/checkpoints")
        XCTAssertEqual(settings.rendezvousTimeoutSeconds, 120)
    }
}

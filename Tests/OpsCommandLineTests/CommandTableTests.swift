// The command table as types: every parsed name reaches its own command type, and a typed option's one default
// is both what `--help` shows and what the command gets.

import Foundation
import XCTest

@testable import OpsCommandLine

final class CommandTableTests: XCTestCase {
    private func settings(_ line: String, environment: [String: String] = [:]) throws -> Settings {
        Settings(
            parsed: try OpsCommands.parser.parse(line.split(separator: " ").map(String.init)), environment: environment)
    }

    func testEveryCommandNameDispatchesToTheTypeThatIsItsSpec() {
        let names = OpsCommands.parser.commands.map(\.name)
        XCTAssertEqual(
            names,
            [
                "up", "serve", "worker", "apply", "get", "describe", "logs", "cancel", "delete", "rerun", "generate",
                "export", "version", "collect-blobs", "token", "config", "schema", "completion", "lineage", "replay",
            ])
        XCTAssertEqual(Set(names).count, names.count, "a name names one command")
        for name in names {
            XCTAssertEqual(OpsCommands.command(named: name)?.spec.name, name)
        }
        XCTAssertTrue(OpsCommands.command(named: "get") == GetCommand.self)
        XCTAssertTrue(OpsCommands.command(named: "serve") == ServeCommand.self)
        XCTAssertNil(OpsCommands.command(named: "frobnicate"))
    }

    func testATypedOptionsDefaultIsWhatHelpShowsAndWhatTheCommandGets() throws {
        let serveHelp = OpsCommands.parser.help(for: "serve")
        XCTAssertTrue(serveHelp.contains("[env OPS_LEASE_SECONDS; default 15]"), serveHelp)
        XCTAssertTrue(serveHelp.contains("[env OPS_MAX_BODY_BYTES; default 16Mi]"), serveHelp)
        XCTAssertTrue(serveHelp.contains("[env OPS_PORT; default 8080]"), serveHelp)
        XCTAssertTrue(OpsCommands.parser.help(for: "generate").contains("[default 0.8]"))
        XCTAssertTrue(OpsCommands.parser.help(for: "worker").contains("[env OPS_SHARD_CACHE_SIZE; default 64Gi]"))
        XCTAssertTrue(
            OpsCommands.parser.help(for: "apply").contains("[default no limit]"),
            "words replace a default that reads badly")

        let serve = try settings("serve")
        XCTAssertEqual(try serve.value(ServeCommand.leaseSeconds), 15)
        XCTAssertEqual(try serve.value(ServeCommand.maxBodyBytes), 16 << 20)
        XCTAssertEqual(try serve.value(ServeCommand.port), 8080)
        XCTAssertEqual(try settings("generate").value(GenerateCommand.temperature), 0.8)
        XCTAssertEqual(try settings("worker").value(WorkerCommand.shardCacheBytes), 64 << 30)
        XCTAssertEqual(try settings("apply").value(ApplyCommand.timeoutSeconds), 0)
        XCTAssertEqual(try settings("logs j").value(LogsCommand.sinceLineID), 0)
    }

    func testTypedValuesComeFromFlagsThenVariablesAndBadOnesSayWhatWasExpected() throws {
        XCTAssertEqual(try settings("serve --lease-seconds 30").value(ServeCommand.leaseSeconds), 30)
        XCTAssertEqual(
            try settings("serve", environment: ["OPS_MAX_BODY_BYTES": "1Mi"]).value(ServeCommand.maxBodyBytes), 1 << 20)
        XCTAssertThrowsError(try settings("serve --max-body-bytes 0").value(ServeCommand.maxBodyBytes)) { error in
            XCTAssertEqual("\(error)", "--max-body-bytes: expected a size like 16Mi, got '0'")
        }
        XCTAssertThrowsError(try settings("generate --temperature -1").value(GenerateCommand.temperature)) { error in
            XCTAssertEqual("\(error)", "--temperature: expected a number >= 0, got '-1'")
        }
        XCTAssertThrowsError(try settings("logs j --since x").value(LogsCommand.sinceLineID)) { error in
            XCTAssertEqual("\(error)", "--since: expected a line id >= 0, got 'x'")
        }
        XCTAssertThrowsError(try settings("up", environment: ["OPS_WORKERS": "65"]).value(UpCommand.workers)) { error in
            XCTAssertEqual("\(error)", "--workers: expected an integer in 0...64, got '65' (from OPS_WORKERS)")
        }
    }

    func testOutputFormatIsAnEnum() throws {
        XCTAssertEqual(try settings("get jobs").value(OpsCommands.output), .table)
        XCTAssertEqual(try settings("get jobs -o wide").value(OpsCommands.output), .wide)
        XCTAssertEqual(
            try settings("describe job x", environment: ["OPS_OUTPUT": "json"]).value(OpsCommands.output), .json)
        XCTAssertEqual(try settings("get jobs -o yaml").value(GetCommand.output), .yaml)
        XCTAssertThrowsError(try settings("get jobs -o xml").value(OpsCommands.output)) { error in
            XCTAssertEqual("\(error)", "--output: expected one of table, wide, json, yaml, got 'xml'")
        }
    }

    func testGetTakesExactlyTheResourceKinds() throws {
        XCTAssertEqual(GetCommand.spec.positionals.first?.choices, ResourceKind.allCases.map(\.rawValue))
        for kind in ResourceKind.allCases {
            XCTAssertEqual(try OpsCommands.parser.parse(["get", kind.rawValue]).positionals, [kind.rawValue])
        }
        XCTAssertThrowsError(try OpsCommands.parser.parse(["get", "job"]))
    }

    func testArtifactStoreKindSetting() throws {
        XCTAssertEqual(try settings("worker").value(WorkerCommand.artifactStore), .cluster)
        XCTAssertEqual(try settings("worker --artifact-store dir").value(WorkerCommand.artifactStore), .dir)
        XCTAssertEqual(
            try settings("worker --artifact-store control-plane").value(WorkerCommand.artifactStore), .controlPlane)
        XCTAssertEqual(try settings("worker --artifact-store cluster").value(WorkerCommand.artifactStore), .cluster)
        XCTAssertThrowsError(try settings("worker --artifact-store s3").value(WorkerCommand.artifactStore)) { error in
            XCTAssertEqual("\(error)", "--artifact-store: expected dir, control-plane or cluster, got 's3'")
        }
    }
}

import ClusterModel
import Control
import Foundation
import TestSupport
import XCTest

@testable import OpsCommandLine

final class ArgumentParserTests: XCTestCase {
    let parser = OpsCommands.parser

    private func parse(_ line: String) throws -> ParsedCommand {
        try parser.parse(line.split(separator: " ").map(String.init))
    }

    private func error(_ line: String) -> CommandLineError? {
        do {
            _ = try parse(line)
            return nil
        } catch let e as CommandLineError { return e } catch { return nil }
    }

    func testParsesCommandsOptionsAndPositionals() throws {
        let apply = try parse("apply -f manifests/pipeline.yaml --wait")
        XCTAssertEqual(
            apply, ParsedCommand(command: "apply", values: ["file": ["manifests/pipeline.yaml"]], flags: ["wait"]))
        XCTAssertEqual(try parse("apply --file=a.yaml").value("file"), "a.yaml")
        XCTAssertEqual(try parse("apply -fa.yaml").value("file"), "a.yaml")
        let get = try parse("get tasks pretrain -o json --server http://127.0.0.1:9")
        XCTAssertEqual(get.positionals, ["tasks", "pretrain"])
        XCTAssertEqual(get.value("output"), "json")
        XCTAssertEqual(get.value("server"), "http://127.0.0.1:9")
        let worker = try parse("worker --label zone=a --label rack=3 --accelerator gpu-h100=8")
        XCTAssertEqual(worker.allValues("label"), ["zone=a", "rack=3"])
        XCTAssertEqual(try parse("logs -- --weird-job-name").positionals, ["--weird-job-name"])
        XCTAssertEqual(try parse("apply -f -").value("file"), "-", "- is standard input, not an option")
        XCTAssertTrue(try parse("logs train -f").flag("follow"))
        XCTAssertEqual(try parse("delete queue team -o json").positionals, ["queue", "team"])
    }

    func testUsageErrorsAreSpecificAndExitWith2() {
        XCTAssertEqual(error("aply -f x"), .unknownCommand("aply", suggestion: "apply"))
        XCTAssertEqual(error("frobnicate"), .unknownCommand("frobnicate", suggestion: nil))
        XCTAssertEqual(error("get jobs --bogus"), .unknownOption(command: "get", option: "--bogus"))
        XCTAssertEqual(error("get jobs -z"), .unknownOption(command: "get", option: "-z"))
        XCTAssertEqual(error("apply -f"), .missingValue(command: "apply", option: "-f", valueName: "FILE"))
        XCTAssertEqual(
            error("apply --wait=yes"),
            .invalidValue(command: "apply", option: "--wait", value: "yes", expected: "no value (it is a flag)"))
        XCTAssertEqual(error("logs"), .missingArgument(command: "logs", name: "JOB"))
        XCTAssertEqual(
            error("get jobz"),
            .invalidChoice(
                command: "get", name: "KIND", value: "jobz",
                choices: [
                    "jobs", "tasks", "workers", "datasets", "shards", "artifacts", "events", "queues", "metrics",
                    "pools",
                ])
        )
        XCTAssertEqual(error("cancel a b"), .unexpectedArgument(command: "cancel", argument: "b"))
        XCTAssertEqual(
            error("delete jobs x"),
            .invalidChoice(command: "delete", name: "KIND", value: "jobs", choices: ["job", "queue"]))
        XCTAssertEqual(error("delete queue"), .missingArgument(command: "delete", name: "NAME"))
        XCTAssertEqual(error("apply -f a -f b"), .duplicateOption(command: "apply", option: "-f"))
        XCTAssertEqual(error("--server x"), .unknownCommand("--server", suggestion: nil))
        XCTAssertEqual(error("get jobs --bogus")?.exitCode, 2)
        XCTAssertEqual(error("get jobs --bogus")?.command, "get")
        XCTAssertTrue(error("get jobs --bogus")!.description.contains("--bogus"))
    }

    func testHelpAnywhere() {
        XCTAssertEqual(error("--help"), .helpRequested(command: nil))
        XCTAssertEqual(error("help apply"), .helpRequested(command: "apply"))
        XCTAssertEqual(error("get jobs -h"), .helpRequested(command: "get"))
        XCTAssertEqual(error("worker --name x --help"), .helpRequested(command: "worker"))
        XCTAssertEqual(error("--help")?.exitCode, 0)
        XCTAssertEqual(error(""), .missingCommand)
    }

    func testHelpTextNamesEveryOptionAndVariable() {
        for command in parser.commands {
            let help = parser.help(for: command.name)
            for option in command.options + OpsCommands.globalOptions {
                XCTAssertTrue(help.contains("--\(option.name)"), "\(command.name) help lacks --\(option.name)")
                if let env = option.environment {
                    XCTAssertTrue(help.contains(env), "\(command.name) help lacks \(env)")
                }
            }
            XCTAssertTrue(parser.overview().contains(command.name))
        }
        XCTAssertTrue(parser.shortUsage(for: "get").hasPrefix("USAGE: opsctl get jobs|tasks|"))
    }

    func testSettingsPreferFlagsThenEnvironment() throws {
        let environment = [
            "OPS_SERVER": "http://127.0.0.1:7000", "OPS_WORKER_MAX_TASKS": "8", "OPS_WORKER_LABELS": "zone=a, rack=2",
            "HOME": "/nonexistent-home",
        ]
        let fromEnv = Settings(parsed: try parse("worker"), environment: environment)
        XCTAssertEqual(fromEnv.serverURL, "http://127.0.0.1:7000")
        XCTAssertEqual(try fromEnv.value(WorkerCommand.maxTasks), 8)
        XCTAssertEqual(fromEnv.list("label"), ["zone=a", "rack=2"])
        let fromFlags = Settings(
            parsed: try parse("worker --server http://127.0.0.1:1 --max-tasks 2 --label x=y"), environment: environment)
        XCTAssertEqual(fromFlags.serverURL, "http://127.0.0.1:1")
        XCTAssertEqual(try fromFlags.value(WorkerCommand.maxTasks), 2)
        XCTAssertEqual(fromFlags.list("label"), ["x=y"])
        let defaults = Settings(parsed: try parse("get jobs"), environment: ["HOME": "/nonexistent-home"])
        XCTAssertEqual(defaults.serverURL, "http://127.0.0.1:8080")
        XCTAssertEqual(defaults.stateDirectory.path, "/nonexistent-home/.opsctl")
        let bad = Settings(parsed: try parse("worker"), environment: ["OPS_WORKER_MAX_TASKS": "lots"])
        XCTAssertThrowsError(try bad.value(WorkerCommand.maxTasks)) { error in
            XCTAssertTrue("\(error)".contains("(from OPS_WORKER_MAX_TASKS)"), "\(error)")
        }
    }

    func testServerURLFallsBackToTheFileUpWrote() throws {
        let state = try TemporaryDirectory.make(prefix: "state-").url
        defer { try? FileManager.default.removeItem(at: state) }
        try "http://127.0.0.1:4321\n".write(
            to: state.appendingPathComponent("server-url"), atomically: true, encoding: .utf8)
        try "admin-from-state\n".write(
            to: state.appendingPathComponent("admin-token"), atomically: true, encoding: .utf8)
        let settings = Settings(parsed: try parse("get jobs --state-dir \(state.path)"), environment: [:])
        XCTAssertEqual(settings.serverURL, "http://127.0.0.1:4321")
        XCTAssertEqual(try settings.adminToken(), "admin-from-state")
    }

    func testTokensComeFromFileOrEnvironmentAndEmptyIsAnError() throws {
        let state = try TemporaryDirectory.make(prefix: "tokens-").url
        defer { try? FileManager.default.removeItem(at: state) }
        let file = state.appendingPathComponent("token")
        try "  s3cret \n".write(to: file, atomically: true, encoding: .utf8)
        XCTAssertEqual(
            try Settings.token(
                fileOption: nil, variable: "OPS_TOKEN",
                environment: ["OPS_TOKEN_FILE": file.path, "OPS_TOKEN": "other"]), "s3cret",
            "the file wins over the variable")
        XCTAssertEqual(
            try Settings.token(fileOption: nil, variable: "OPS_TOKEN", environment: ["OPS_TOKEN": "env-token"]),
            "env-token")
        XCTAssertNil(try Settings.token(fileOption: nil, variable: "OPS_TOKEN", environment: [:]))
        XCTAssertThrowsError(try Settings.token(fileOption: nil, variable: "OPS_TOKEN", environment: ["OPS_TOKEN": ""]))
        XCTAssertThrowsError(
            try Settings.token(
                fileOption: state.appendingPathComponent("missing").path, variable: "OPS_TOKEN", environment: [:])
        ) { error in
            XCTAssertTrue("\(error)".contains("cannot read"), "\(error)")
            XCTAssertFalse("\(error)".contains("s3cret"))
        }
    }

    func testWorkerConfigurationFromFlags() throws {
        let settings = Settings(
            parsed: try parse(
                "worker --name n1 --cpus 1.5 --memory 2Gi --accelerator gpu-h100=8 --accelerator tpu-v5e=4 --label zone=a --max-tasks 3 --state-dir /tmp/s"
            ),
            environment: [:])
        let configuration = try settings.workerConfiguration(hostName: "host", cores: 2, memory: 1 << 30)
        XCTAssertEqual(configuration.name, "n1")
        XCTAssertEqual(
            configuration.resources,
            Resources(cpuMillis: 1500, memoryBytes: 2 << 30, accelerators: ["gpu-h100": 8, "tpu-v5e": 4]))
        XCTAssertEqual(configuration.labels, ["zone": "a"])
        XCTAssertEqual(configuration.maxConcurrentTasks, 3)
        XCTAssertEqual(configuration.workDirectory.path, "/tmp/s/work/n1")
        let defaults = try Settings(parsed: try parse("worker"), environment: ["HOME": "/h"]).workerConfiguration(
            hostName: "host", cores: 2, memory: 1 << 30)
        XCTAssertEqual(defaults.name, "host")
        XCTAssertEqual(defaults.resources, Resources(cpuMillis: 2000, memoryBytes: 1 << 30))
        for bad in [
            "--cpus two", "--memory 5Xi", "--accelerator gpu-h100", "--accelerator gpu=-1", "--label novalue",
            "--max-tasks 0",
        ] {
            XCTAssertThrowsError(
                try Settings(parsed: try parse("worker \(bad)"), environment: [:]).workerConfiguration(), bad)
        }
    }

    func testControlPlaneConfigurationRequiresDatabaseAndTokensAndSaneTimers() throws {
        let env = [
            "OPS_DATABASE_URL": "postgresql://ops:pw@127.0.0.1:5432/ops", "OPS_ADMIN_TOKEN": "a", "OPS_JOIN_TOKEN": "j",
        ]
        let configuration = try Settings(parsed: try parse("serve --port 9000"), environment: env)
            .controlPlaneConfiguration()
        XCTAssertEqual(configuration.port, 9000)
        XCTAssertEqual(configuration.adminToken.value, "a")
        XCTAssertEqual(configuration.joinToken.value, "j")
        XCTAssertEqual(configuration.maxBodyBytes, 16 << 20)
        XCTAssertEqual(configuration.leaseSeconds, 15)
        XCTAssertEqual(configuration.heartbeatSeconds, 3)
        let summary = ServeCommand.summary(configuration)
        XCTAssertEqual(
            summary,
            "listen 127.0.0.1:9000, database postgresql://ops:***@127.0.0.1:5432/ops, artifacts \(configuration.artifactDirectory), "
                + "lease 15.0s, heartbeat 3.0s, max body 16Mi, storage blob",
            "the database password and the tokens are never shown")
        XCTAssertEqual(ServeCommand.redactPassword("postgresql://ops:pw@h/db"), "postgresql://ops:***@h/db")
        XCTAssertEqual(ServeCommand.redactPassword("postgresql://ops@h/db"), "postgresql://ops@h/db")
        XCTAssertThrowsError(try Settings(parsed: try parse("serve"), environment: [:]).controlPlaneConfiguration()) {
            error in
            XCTAssertTrue("\(error)".contains("--database-url"), "\(error)")
        }
        XCTAssertThrowsError(
            try Settings(parsed: try parse("serve --lease-seconds 2 --heartbeat-seconds 3"), environment: env)
                .controlPlaneConfiguration())
        XCTAssertThrowsError(
            try Settings(parsed: try parse("serve --port 70000"), environment: env).controlPlaneConfiguration())
        let up = try Settings(parsed: try parse("up --workers 2 --worker-memory 1Gi"), environment: ["HOME": "/h"])
            .localClusterOptions(cores: 2, memory: 8 << 30)
        XCTAssertEqual(up.workers, 2)
        XCTAssertEqual(up.workerResources, Resources(cpuMillis: 1000, memoryBytes: 1 << 30))
        XCTAssertEqual(up.adminTokenFile.path, "/h/.opsctl/admin-token")
    }

    func testQuantities() {
        XCTAssertEqual(Quantity.cpuMillis("2"), 2000)
        XCTAssertEqual(Quantity.cpuMillis("0.5"), 500)
        XCTAssertEqual(Quantity.cpuMillis("250m"), 250)
        XCTAssertNil(Quantity.cpuMillis("-1"))
        XCTAssertEqual(Quantity.bytes("8Gi"), 8 << 30)
        XCTAssertEqual(Quantity.bytes("512Mi"), 512 << 20)
        XCTAssertEqual(Quantity.bytes("1G"), 1_000_000_000)
        XCTAssertEqual(Quantity.bytes("1024"), 1024)
        XCTAssertNil(Quantity.bytes("lots"))
        XCTAssertEqual(Quantity.accelerator("gpu-h100=8")?.1, 8)
        XCTAssertNil(Quantity.accelerator("=8"))
        XCTAssertEqual(Quantity.formatBytes(3 << 30), "3Gi")
        XCTAssertEqual(Quantity.formatBytes(1536 << 20), "1.5Gi")
        XCTAssertEqual(Quantity.formatBytes(100), "100")
    }

    func testTablesAlignColumns() {
        let table = TableFormatter.render(
            headers: ["NAME", "STATE"], rows: [["a-long-name", "running"], ["b", "queued"]])
        XCTAssertEqual(table, "NAME         STATE\na-long-name  running\nb            queued\n")
        XCTAssertEqual(TableFormatter.duration(45), "45s")
        XCTAssertEqual(TableFormatter.duration(192), "3m12s")
        XCTAssertEqual(TableFormatter.duration(7500), "2h5m")
        XCTAssertEqual(TableFormatter.number(2.0), "2")
        XCTAssertEqual(TableFormatter.number(2.3456), "2.346")
    }
}

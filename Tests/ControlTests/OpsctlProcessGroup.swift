// The `opsctl` processes of one cluster test that drives the binary with its own flags and environment
// (TokenizeClusterTests, TrainClusterTests): long-running ones (`serve`, `worker`) by name with their logs
// in the test's directory, and commands run to completion. `stopAll()` stops what is left (tearDown).
import Foundation
import XCTest

final class OpsctlProcessGroup {
    private let directory: String
    private let opsctl: String
    private var running: [String: ManagedProcess] = [:]

    init(logDirectory: String) throws {
        directory = logDirectory
        opsctl = try OpsctlBinary.path()
    }

    /// Starts `opsctl <arguments>` as `name` (its output in `<name>.log`); replaces a stopped one of that name.
    @discardableResult
    func start(_ name: String, _ arguments: [String], environment: [String: String]) throws -> ManagedProcess {
        let process = try ManagedProcess(
            name: name, executable: opsctl, arguments: arguments, environment: environment,
            logPath: directory + "/\(name).log")
        running[name] = process
        return process
    }

    /// The process started as `name`.
    subscript(name: String) -> ManagedProcess {
        guard let process = running[name] else { preconditionFailure("no process was started as \(name)") }
        return process
    }

    /// Runs `opsctl <arguments>` to completion; its status and combined output.
    func run(_ arguments: [String], environment: [String: String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: opsctl)
        process.arguments = arguments
        process.environment = ManagedProcess.environment(with: environment)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// SIGTERM to every process still running, SIGKILL to those that do not stop within 10 s.
    func stopAll() {
        for process in running.values { process.terminate(timeoutSeconds: 10) }
    }
}

// `type: command` (issue 18): the user's own program — a PyTorch DDP script, an `srun`-style binary — run by every
// member of a gang with the torchrun contract, a checkpoint directory that survives retries, accelerator devices
// of its own, and the `@ops` report lines (OpsReportLine). docs/your-own-code.md.
//
// A member's program starts only once it knows MASTER_ADDR:MASTER_PORT (CommandRendezvous). When a member fails
// or is lost, the control plane ends the other members' attempts too (`LeaseStore.restartGangs`): their workers
// stop the programs (SIGTERM, SIGKILL after 2 s) at the next heartbeat, and the gang is placed again as a whole.

import APIClient
import APITypes
import ClusterModel
import Foundation
import Spawn

public struct CommandExecutor: JobExecutor {
    public static let kind = CommandJobKinds.commandName

    /// The address other members reach this worker at (`--advertise-address`; default the host name).
    let advertisedAddress: String
    /// Where per-job checkpoint directories go unless the manifest names one (`<work dir>/checkpoints`); nil: beside
    /// the attempt directories of the worker's work directory.
    let checkpointRoot: URL?
    let devices: DevicePool

    public init(advertisedAddress: String? = nil, checkpointRoot: URL? = nil, devices: [String] = []) {
        self.advertisedAddress = advertisedAddress ?? ProcessInfo.processInfo.hostName
        self.checkpointRoot = checkpointRoot
        self.devices = DevicePool(devices: devices)
    }

    public func run(_ task: TaskAssignment, context: ExecutionContext) async throws -> TaskResult {
        let settings: CommandSettings
        do { settings = try task.settings.decode(as: CommandSettings.self) } catch {
            throw TaskFailure("spec.command: \(WireCoding.describe(error))", retryable: false)
        }
        guard let program = settings.argv.first else {
            throw TaskFailure.invalidSpec("command.argv", expected: "a non-empty list of strings", got: nil)
        }
        if let image = settings.image {
            throw TaskFailure(
                "command.image: container images are not supported on this worker (no container runtime); "
                    + "got \(image); install the program on the worker and use command.venv",
                retryable: false)
        }
        let directory = settings.workingDirectory.map { URL(fileURLWithPath: $0) } ?? context.workDirectory
        try ShellExecutor.checkDirectory(directory, field: "command.workingDirectory")
        let checkpoints = try checkpointDirectory(task, settings: settings, context: context)
        let position = CommandGangPosition(gang: task.gang)
        let acceleratorCount = Int(task.resources.accelerators.values.reduce(0, +))
        let assigned = try devices.acquire(count: acceleratorCount)
        defer { if let assigned { devices.release(assigned) } }

        let master = try await rendezvous(task, position: position, settings: settings, context: context)
        var environment = ShellExecutor.environment(for: task, workDirectory: context.workDirectory, extra: [:])
        environment.merge(position.environment(masterAddress: master.address, masterPort: master.port)) { $1 }
        environment["OPS_CHECKPOINT_DIR"] = checkpoints.path
        environment["OPS_RESTART_COUNT"] = "\(max(0, task.attemptNumber - 1))"
        environment["PYTHONUNBUFFERED"] = "1" // report lines arrive when printed, not when a 4 KiB buffer fills
        if let assigned { environment["CUDA_VISIBLE_DEVICES"] = assigned.joined(separator: ",") }
        if let venv = settings.venv { try Self.activate(venv: venv, in: &environment) }
        environment.merge(settings.env ?? [:]) { $1 }

        let executable = try ShellExecutor.resolve(
            program, in: directory, environment: environment, field: "command.argv")
        let child: SpawnedChild
        do {
            child = try SpawnedChild.start(
                ChildSpec(
                    executable: executable.path, arguments: Array(settings.argv.dropFirst()),
                    environment: environment, workingDirectory: directory.path))
        } catch {
            throw TaskFailure("command.argv: cannot start \(program): \(error.reason)", retryable: false)
        }
        context.log(
            "started rank \(position.rank)/\(position.worldSize) (pid \(child.pid)), master "
                + "\(master.address):\(master.port), restart \(task.attemptNumber - 1), checkpoints in "
                + "\(checkpoints.path)\(assigned.map { ", devices [\($0.joined(separator: ","))]" } ?? "")",
            stream: .system)
        let readers = DispatchGroup()
        let output = child.outputReaders
        ShellExecutor.forwardLines(of: output.standardOutput, group: readers) {
            context.handleCommandOutput($0, workingDirectory: directory)
        }
        ShellExecutor.forwardLines(of: output.standardError, to: context, stream: .stderr, group: readers)
        do {
            let seconds = try await ShellExecutor.supervise(
                child, program: program, readers: readers, context: context,
                timeoutSeconds: settings.timeoutSeconds, timeoutField: "command.timeoutSeconds")
            return TaskResult(result: [
                "exitStatus": 0, "seconds": .double(seconds), "rank": .int(Int64(position.rank)),
                "worldSize": .int(Int64(position.worldSize)), "restartCount": .int(Int64(task.attemptNumber - 1)),
            ])
        } catch let stop as ExecutionStopped {
            // A preempted gang is placed again as a whole; its next rank 0 must not find this address.
            if case .preempted = stop, position.worldSize > 1, position.rank == 0, let exchange = context.exchangeAPI {
                await CommandRendezvous(exchange: exchange, job: task.jobID).withdraw(
                    address: master.address, port: master.port)
            }
            throw stop
        }
    }

    /// MASTER_ADDR and MASTER_PORT: a port of this worker for a gang of one; rank 0 reserves and publishes one;
    /// the others wait for it.
    private func rendezvous(
        _ task: TaskAssignment, position: CommandGangPosition, settings: CommandSettings, context: ExecutionContext
    ) async throws -> (address: String, port: Int) {
        guard position.worldSize > 1 else {
            let port = try CommandRendezvous.reserveFreePort()
            return ("127.0.0.1", port)
        }
        guard let exchange = context.exchangeAPI else {
            throw TaskFailure(
                "a command gang needs the control plane's exchange to meet (this worker has no control plane)",
                retryable: false)
        }
        let rendezvous = CommandRendezvous(exchange: exchange, job: task.jobID)
        if position.rank == 0 {
            let port = try CommandRendezvous.reserveFreePort()
            try await rendezvous.publish(address: advertisedAddress, port: port)
            return (advertisedAddress, port)
        }
        return try await rendezvous.waitForMaster(
            timeoutSeconds: settings.rendezvousTimeoutSeconds ?? CommandSettings.defaultRendezvousTimeoutSeconds,
            context: context)
    }

    /// `<root>/<job>-<jobID>`, made if missing: the same directory for every attempt of the job on this worker
    /// (or on every node, when `checkpointDirectory` is a shared mount).
    private func checkpointDirectory(_ task: TaskAssignment, settings: CommandSettings, context: ExecutionContext)
        throws -> URL
    {
        let root =
            settings.checkpointDirectory.map { URL(fileURLWithPath: $0) } ?? checkpointRoot
            ?? context.workDirectory.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("checkpoints")
        let directory = root.appendingPathComponent("\(task.jobName)-\(task.jobID.rawValue)")
        do { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
            throw TaskFailure(
                "command.checkpointDirectory: cannot create \(directory.path): \(ShellExecutor.plainReason(error))",
                retryable: false)
        }
        return directory
    }

    /// A Python virtual environment: its `bin` first on PATH and VIRTUAL_ENV set, as `source bin/activate` does.
    static func activate(venv: String, in environment: inout [String: String]) throws {
        let bin = URL(fileURLWithPath: venv).appendingPathComponent("bin").path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: bin, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw TaskFailure(
                "command.venv: \(venv) is not a virtual environment on this worker (no \(bin)); create it with "
                    + "python3 -m venv \(venv) on every worker", retryable: false)
        }
        environment["VIRTUAL_ENV"] = venv
        environment["PATH"] = bin + ":" + (environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin")
        environment["PYTHONHOME"] = nil
    }
}

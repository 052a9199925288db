import Foundation
import TestSupport
import XCTest

/// A real Slurm on this machine for one test (issue 19): munged, a slurmctld and three slurmd (`n1`..`n3`, each a
/// node of 2 CPUs and 2 GiB on 127.0.0.1 with a port of its own), all in the foreground as this process's
/// children, configured in a private directory that `SLURM_CONF` points at. `stop()` cancels every job and stops
/// every daemon.
final class SlurmTestCluster {
    static let nodes = ["n1", "n2", "n3"]
    static let partition = "ops"
    static let daemons = ["munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo"]

    let directory: String
    /// What every Slurm command of the test and of the control plane's autoscaler needs.
    let environment: [String: String]
    private var processes: [ManagedProcess] = []

    /// Why Slurm cannot run here, or nil: a daemon missing, or not root (the test's slurm.conf runs everything as
    /// root, `SlurmUser=root`).
    static func unavailableReason() -> String? {
        let path = "/usr/sbin:/usr/bin:/sbin:/bin"
        for program in daemons
        where !path.split(separator: ":").contains(where: {
            FileManager.default.isExecutableFile(atPath: "\($0)/\(program)")
        }) {
            return "\(program) is not installed; install slurm-wlm and munge (scripts/install-test-deps.sh does)"
        }
        if getuid() != 0 { return "the Slurm test runs slurmctld and slurmd as root (SlurmUser=root); run it as root" }
        return nil
    }

    init(directory: String) throws {
        self.directory = directory
        let conf = directory + "/slurm.conf"
        environment = ["SLURM_CONF": conf]
        for sub in ["state", "log", "munge"] + Self.nodes.map({ "spool/\($0)" }) {
            try FileManager.default.createDirectory(atPath: directory + "/" + sub, withIntermediateDirectories: true)
        }
        // munged refuses a key others can read and a socket directory others cannot enter.
        var key = [UInt8](repeating: 0, count: 1024)
        for i in key.indices { key[i] = UInt8.random(in: 0...255) }
        FileManager.default.createFile(
            atPath: directory + "/munge/munge.key", contents: Data(key), attributes: [.posixPermissions: 0o400])
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory + "/munge")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory)
        let controllerPort = try FreePort.next()
        let nodePorts = try Self.nodes.map { _ in try FreePort.next() }
        try Self.configuration(directory: directory, controllerPort: controllerPort, nodePorts: nodePorts)
            .write(toFile: conf, atomically: true, encoding: .utf8)
    }

    static func configuration(directory d: String, controllerPort: Int, nodePorts: [Int]) -> String {
        var text = """
            ClusterName=llmopstest
            SlurmctldHost=localhost(127.0.0.1)
            SlurmctldPort=\(controllerPort)
            SlurmUser=root
            SlurmdUser=root
            AuthType=auth/munge
            AuthInfo=socket=\(d)/munge/munge.sock
            CredType=cred/munge
            ProctrackType=proctrack/linuxproc
            TaskPlugin=task/none
            SelectType=select/cons_tres
            SelectTypeParameters=CR_CPU_Memory
            StateSaveLocation=\(d)/state
            SlurmdSpoolDir=\(d)/spool/%n
            SlurmctldPidFile=\(d)/slurmctld.pid
            SlurmdPidFile=\(d)/slurmd.%n.pid
            SlurmctldLogFile=\(d)/log/slurmctld.log
            SlurmdLogFile=\(d)/log/slurmd.%n.log
            MpiDefault=none
            JobAcctGatherType=jobacct_gather/none
            AccountingStorageType=accounting_storage/none
            SwitchType=switch/none
            ReturnToService=2
            SchedulerType=sched/builtin
            SlurmdTimeout=30
            InactiveLimit=0
            MinJobAge=30
            KillWait=5

            """
        for (node, port) in zip(nodes, nodePorts) {
            text +=
                "NodeName=\(node) NodeHostname=localhost NodeAddr=127.0.0.1 Port=\(port) CPUs=2 RealMemory=2048 State=UNKNOWN\n"
        }
        text +=
            "PartitionName=\(partition) Nodes=\(nodes.joined(separator: ",")) Default=YES MaxTime=INFINITE State=UP\n"
        return text
    }

    /// Starts munged, slurmctld and the slurmd of every node; returns once `sinfo` shows every node idle.
    func start() throws {
        let d = directory
        try launch(
            "munged",
            [
                "-F", "--force", "--socket=\(d)/munge/munge.sock", "--key-file=\(d)/munge/munge.key",
                "--log-file=\(d)/log/munged.log", "--pid-file=\(d)/munge/munged.pid", "--seed-file=\(d)/munge/seed",
            ])
        try waitUntil("munged's socket", timeoutSeconds: 10, intervalSeconds: 0.05) {
            FileManager.default.fileExists(atPath: d + "/munge/munge.sock")
        }
        try launch("slurmctld", ["-D", "-c", "-i"])
        try waitUntil("slurmctld answers", timeoutSeconds: 30, intervalSeconds: 0.2) {
            (try? self.run("scontrol", ["ping"]))?.contains("UP") == true
        }
        for node in Self.nodes { try launch("slurmd", ["-D", "-N", node], name: "slurmd-\(node)") }
        try waitUntil("every node idle", timeoutSeconds: 60, intervalSeconds: 0.3) {
            let lines = (try? self.run("sinfo", ["--noheader", "--Node", "--format=%N %t"])) ?? ""
            return lines.split(separator: "\n").filter { $0.hasSuffix(" idle") }.count == Self.nodes.count
        }
    }

    private func launch(_ program: String, _ arguments: [String], name: String? = nil) throws {
        processes.append(
            try ManagedProcess(
                name: name ?? program, executable: "/usr/sbin/\(program)", arguments: arguments,
                environment: environment, logPath: directory + "/log/\(name ?? program).out"))
    }

    /// Runs a Slurm client command to completion; its standard output, or an error with its standard error.
    @discardableResult
    func run(_ program: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/\(program)")
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw IntegrationFailure(
                "\(program) \(arguments.joined(separator: " ")): \(String(decoding: errors, as: UTF8.self))")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// The pool's Slurm jobs as `id state nodes` lines.
    func queue() -> [String] {
        ((try? run("squeue", ["--noheader", "--format=%i %T %D"])) ?? "").split(separator: "\n").map {
            $0.trimmingCharacters(in: .whitespaces)
        }
    }

    /// Cancels every job, waits for them to leave, then stops the daemons (SIGTERM, SIGKILL after 10 s).
    func stop() {
        _ = try? run("scancel", ["--partition=\(Self.partition)"])
        try? waitUntil("every Slurm job gone", timeoutSeconds: 20, intervalSeconds: 0.2) { self.queue().isEmpty }
        for process in processes.reversed() { process.terminate(timeoutSeconds: 10) }
        processes = []
    }

    /// The daemons' logs, for a failure message.
    func logs() -> String {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory + "/log")) ?? []
        return names.sorted().map { name in
            let text = (try? String(contentsOfFile: directory + "/log/" + name, encoding: .utf8)) ?? ""
            return "---- \(name) ----\n" + text.split(separator: "\n").suffix(20).joined(separator: "\n")
        }.joined(separator: "\n")
    }
}

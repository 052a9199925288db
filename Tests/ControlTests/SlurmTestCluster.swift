import Foundation
import Spawn
import TestSupport
import XCTest

/// A real Slurm on this machine for one test (issue 19): munged, a slurmctld and three slurmd (`n1`..`n3`, each a
/// node of 2 CPUs and 2 GiB on 127.0.0.1 with a port of its own), configured in a private directory that
/// `SLURM_CONF` points at. `stop()` cancels every job and stops
/// every daemon.
final class SlurmTestCluster {
    static let nodes = ["n1", "n2", "n3"]
    static let partition = "ops"
    static let daemons = ["munged", "slurmctld", "slurmd", "sbatch", "squeue", "scancel", "sinfo"]

    let directory: String
    /// What every Slurm command of the test and of the control plane's autoscaler needs.
    let environment: [String: String]
    /// The pid files of the daemons started, in order.
    private var pidFiles: [String] = []

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
    ///
    /// The daemons fork into the background and are stopped through their pid files. They were once started by
    /// Foundation's `Process`, which let a daemon that keeps the descriptors it inherits (munged) hold Foundation's
    /// exit-watch socket open, so that `Process` never ended; a Python wrapper closed them. `Spawn` gives the child
    /// only its three standard streams and learns of the exit from `waitpid`, so neither problem exists.
    func start() throws {
        let d = directory
        try daemon(
            "/usr/sbin/munged",
            [
                "--force", "--socket=\(d)/munge/munge.sock", "--key-file=\(d)/munge/munge.key",
                "--log-file=\(d)/log/munged.log", "--pid-file=\(d)/munge/munged.pid", "--seed-file=\(d)/munge/seed",
            ])
        pidFiles.append(d + "/munge/munged.pid")
        try daemon("/usr/sbin/slurmctld", ["-c", "-i"])
        pidFiles.append(d + "/slurmctld.pid")
        try waitUntil("slurmctld answers", timeoutSeconds: 30, intervalSeconds: 0.2) {
            (try? self.run("scontrol", ["ping"]))?.contains("UP") == true
        }
        for node in Self.nodes {
            try daemon("/usr/sbin/slurmd", ["-N", node])
            pidFiles.append(d + "/slurmd.\(node).pid")
        }
        try waitUntil("every node idle", timeoutSeconds: 60, intervalSeconds: 0.3) {
            let lines = (try? self.run("sinfo", ["--noheader", "--Node", "--format=%N %t"])) ?? ""
            return lines.split(separator: "\n").filter { $0.hasSuffix(" idle") }.count == Self.nodes.count
        }
    }

    /// Starts a daemon that forks into the background. `run` starts it with `Spawn`, which closes every
    /// descriptor but the standard three in the child, so the daemon holds none of this test process's pipes.
    private func daemon(_ program: String, _ arguments: [String]) throws {
        try run(program, arguments)
    }

    /// Runs a Slurm client command to completion; its standard output, or an error with its standard error.
    @discardableResult
    func run(_ program: String, _ arguments: [String]) throws -> String {
        // Output to files, as `ProcessCluster.run` does: nothing has to drain them.
        let base = directory + "/log/cmd-\(UUID().uuidString)"
        defer {
            try? FileManager.default.removeItem(atPath: base + ".out")
            try? FileManager.default.removeItem(atPath: base + ".err")
        }
        let child = try SpawnedChild.start(
            ChildSpec(
                executable: program.hasPrefix("/") ? program : "/usr/bin/\(program)", arguments: arguments,
                environment: ProcessInfo.processInfo.environment.merging(environment) { _, new in new },
                output: .files(standardOutput: base + ".out", standardError: base + ".err")))
        let exit = try child.waitForExit()
        let output = (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? ""
        guard exit == .exited(status: 0) else {
            let errors = (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? ""
            throw IntegrationFailure("\(program) \(arguments.joined(separator: " ")) (\(exit)): \(errors)")
        }
        return output
    }

    /// The pool's Slurm jobs as `id state nodes` lines.
    func queue() -> [String] {
        ((try? run("squeue", ["--noheader", "--format=%i %T %D"])) ?? "").split(separator: "\n").map {
            $0.trimmingCharacters(in: .whitespaces)
        }
    }

    /// Cancels every job, waits for them to leave, then stops the daemons, last started first (SIGTERM, SIGKILL
    /// after 10 s).
    func stop() {
        _ = try? run("scancel", ["--partition=\(Self.partition)"])
        try? waitUntil("every Slurm job gone", timeoutSeconds: 20, intervalSeconds: 0.2) { self.queue().isEmpty }
        for file in pidFiles.reversed() {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8),
                let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1
            else { continue }
            kill(pid, SIGTERM)
            let stopped =
                (try? waitUntil("\(file) stops", timeoutSeconds: 10, intervalSeconds: 0.1) {
                    !Self.isRunning(pid)
                }) != nil
            if !stopped { kill(pid, SIGKILL) }
        }
        pidFiles = []
    }

    /// True while `pid` exists and is not a zombie (a daemon's parent, init here, may reap it late).
    static func isRunning(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else {
            return false
        }
        return !(stat.split(separator: ")").last?.trimmingCharacters(in: .whitespaces).hasPrefix("Z") ?? true)
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

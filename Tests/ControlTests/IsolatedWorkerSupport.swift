// Worker processes that share nothing but the network (issue 14). Each `opsctl worker` runs in a mount
// namespace of its own (`unshare -m`), in which a private empty tmpfs is mounted over every directory it must
// not see: the control plane's artifact directory, the other workers' directories and the submitting machine's
// raw inputs. A worker that still reached for a shared path would find an empty directory and fail, so a
// pipeline that succeeds this way moved every byte over HTTP or the object store.
//
// Mount namespaces need CAP_SYS_ADMIN (root here, as in CI). Where `unshare -m` is refused, the workers run in
// disjoint directories without the masks and `MountNamespaces.available` says so; the test then checks the
// weaker property (each worker wrote only under its own directory).

import Foundation
import XCTest

enum MountNamespaces {
    /// Whether this process may create a mount namespace and mount a tmpfs in it (probed once).
    static let available: Bool = {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
        probe.arguments = ["-m", "--propagation", "private", "sh", "-c", "mount -t tmpfs none /mnt && umount /mnt"]
        probe.standardOutput = FileHandle.nullDevice
        probe.standardError = FileHandle.nullDevice
        do { try probe.run() } catch { return false }
        probe.waitUntilExit()
        return probe.terminationStatus == 0
    }()

    /// The shell command that hides `hidden` behind empty tmpfs mounts and then becomes `command`.
    static func maskingScript(hidden: [String], command: [String]) -> String {
        let mounts = hidden.map { "mkdir -p \(quoted($0)) && mount -t tmpfs -o size=1m none \(quoted($0))" }
        let exec = "exec " + command.map(quoted).joined(separator: " ")
        return (mounts + [exec]).joined(separator: " && ")
    }

    private static func quoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

extension ProcessCluster {
    /// The private directory of node `name`: its work directory, shard cache and artifact cache.
    func nodeDirectory(_ name: String) -> String { directory.path + "/nodes/" + name }

    /// `opsctl worker` as node `name` with only its own directory visible among `nodeNames` and with
    /// `hidden` (the control plane's directories, the raw inputs) masked. `unshare` execs the shell, which
    /// execs the worker, so the process's pid is the worker's (a SIGKILL reaches it).
    func startIsolatedWorker(
        name: String, server: String, nodeNames: [String], hidden: [String], maxTasks: Int = 1,
        environment: [String: String] = [:]
    ) throws -> ManagedProcess {
        let own = nodeDirectory(name)
        try FileManager.default.createDirectory(atPath: own, withIntermediateDirectories: true)
        let worker = [
            // One cpu, so the scheduler places on a worker no more than the one task (`--max-tasks 1`) it runs at a
            // time: a retried gang member then goes to a free worker instead of queueing behind the survivor.
            opsctl, "worker", "--server", server, "--name", name, "--cpus", "1", "--memory", "4Gi",
            "--max-tasks", String(maxTasks), "--poll-wait", "2", "--work-dir", own + "/work",
            "--shard-cache", own + "/shard-cache", "--artifact-dir", own + "/artifacts",
        ]
        let others = nodeNames.filter { $0 != name }.map(nodeDirectory)
        var settings = environment
        settings["OPS_JOIN_TOKEN"] = joinToken
        settings["OPS_STATE_DIR"] = own
        guard MountNamespaces.available else {
            return try startTracked(name: name, executable: opsctl, arguments: Array(worker.dropFirst()), settings)
        }
        let script = MountNamespaces.maskingScript(hidden: hidden + others, command: worker)
        return try startTracked(
            name: name, executable: "/usr/bin/unshare",
            arguments: ["-m", "--propagation", "private", "sh", "-c", script], settings)
    }
}

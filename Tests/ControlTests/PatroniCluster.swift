// A real high-availability PostgreSQL for the failover tests (issue 16, point 4): etcd as the consensus store and two
// Patroni members (Debian's `patroni` and `etcd-server`), each running its own PostgreSQL 15 on 127.0.0.1, the
// first as primary and the second as its synchronous standby (`synchronous_mode: true`, so a commit the primary
// acknowledged is on the standby too and survives the primary's death). Everything runs as the `postgres` user
// (PostgreSQL refuses root) in one temporary directory; `shutdown()` kills every process and removes it.

import APIClient
import Foundation
import Spawn
import TestSupport

final class PatroniCluster: @unchecked Sendable {
    struct Member {
        let name: String
        let postgresPort: Int
        let restPort: Int
        let directory: String
    }

    static let patroni = "/usr/bin/patroni"
    static let etcd = "/usr/bin/etcd"
    static var isInstalled: Bool {
        FileManager.default.isExecutableFile(atPath: patroni) && FileManager.default.isExecutableFile(atPath: etcd)
            && FileManager.default.isExecutableFile(atPath: "/usr/lib/postgresql/15/bin/postgres")
    }

    let directory: TemporaryDirectory
    let members: [Member]
    private let etcdClientPort: Int
    private let lock = NSLock()
    private var processes: [String: SpawnedChild] = [:]

    /// Starts etcd and both members and waits until one leads and the other is its synchronous standby.
    static func start(timeoutSeconds: Double = 120) async throws -> PatroniCluster {
        let cluster = try PatroniCluster()
        do {
            try cluster.startProcesses()
            try await cluster.waitForRoles(timeoutSeconds: timeoutSeconds)
            return cluster
        } catch {
            cluster.shutdown()
            throw error
        }
    }

    private init() throws {
        let directory = try TemporaryDirectory.make(prefix: "llmops-patroni-")
        self.directory = directory
        etcdClientPort = try FreePort.next()
        members = try (1...2).map { n in
            Member(
                name: "pg\(n)", postgresPort: try FreePort.next(), restPort: try FreePort.next(),
                directory: directory.path + "/pg\(n)")
        }
    }

    /// A libpq URL naming both members: libpq tries them in turn and keeps the one that accepts writes.
    func databaseURL(_ database: String) -> String {
        let hosts = members.map { "127.0.0.1:\($0.postgresPort)" }.joined(separator: ",")
        return "postgresql://postgres@\(hosts)/\(database)?target_session_attrs=read-write&connect_timeout=2"
    }

    // MARK: Processes

    private func startProcesses() throws {
        for member in members {
            try FileManager.default.createDirectory(atPath: member.directory, withIntermediateDirectories: true)
            try configuration(of: member).write(
                toFile: member.directory + "/patroni.yml", atomically: true, encoding: .utf8)
        }
        try FileManager.default.createDirectory(atPath: directory.path + "/etcd", withIntermediateDirectories: true)
        try run("/bin/chown", ["-R", "postgres:postgres", directory.path])
        try run("/bin/chmod", ["700", directory.path + "/etcd"])
        let peerPort = try FreePort.next()
        try launch(
            "etcd", Self.etcd,
            [
                "--name", "e1", "--data-dir", directory.path + "/etcd",
                "--listen-client-urls", "http://127.0.0.1:\(etcdClientPort)",
                "--advertise-client-urls", "http://127.0.0.1:\(etcdClientPort)",
                "--listen-peer-urls", "http://127.0.0.1:\(peerPort)",
                "--initial-advertise-peer-urls", "http://127.0.0.1:\(peerPort)",
                "--initial-cluster", "e1=http://127.0.0.1:\(peerPort)",
            ])
        for member in members {
            try launch(member.name, Self.patroni, [member.directory + "/patroni.yml"])
        }
    }

    /// Starts `executable` as the postgres user (setpriv execs, so the pid is the program's own: SIGKILL reaches it).
    private func launch(_ name: String, _ executable: String, _ arguments: [String]) throws {
        var environment = ProcessInfo.processInfo.environment
        environment["HOME"] = directory.path
        let log = directory.path + "/\(name).log"
        let process = try SpawnedChild.start(
            ChildSpec(
                executable: "/usr/bin/setpriv",
                arguments: (getuid() == 0 ? ["--reuid=postgres", "--regid=postgres", "--init-groups", "--"] : ["--"])
                    + [executable] + arguments,
                environment: environment, workingDirectory: directory.path, output: .file(path: log)))
        lock.withLock { processes[name] = process }
    }

    private func run(_ executable: String, _ arguments: [String]) throws {
        let exit = try SpawnedChild.start(
            ChildSpec(
                executable: executable, arguments: arguments,
                output: .file(path: directory.path + "/run-\(UUID().uuidString.prefix(8)).log"))
        ).waitForExit()
        guard exit == .exited(status: 0) else {
            throw IntegrationFailure("\(executable) \(arguments.joined(separator: " ")) ended: \(exit)")
        }
    }

    /// Patroni's settings for one member. ttl 10 s / loop_wait 2 s: a dead primary's leader key expires within
    /// ~10 s and the synchronous standby is promoted then (Patroni's defaults are 30 s / 10 s).
    private func configuration(of member: Member) -> String {
        """
        scope: llmops-test
        name: \(member.name)
        restapi:
          listen: 127.0.0.1:\(member.restPort)
          connect_address: 127.0.0.1:\(member.restPort)
        etcd3:
          hosts: 127.0.0.1:\(etcdClientPort)
        bootstrap:
          dcs:
            ttl: 10
            loop_wait: 2
            retry_timeout: 5
            maximum_lag_on_failover: 1048576
            synchronous_mode: true
            postgresql:
              parameters:
                wal_level: replica
                hot_standby: "on"
                max_wal_senders: 10
                max_replication_slots: 10
                max_connections: 200
          initdb:
            - encoding: UTF8
            - auth: trust
          pg_hba:
            - local all all trust
            - host all all 127.0.0.1/32 trust
            - host replication all 127.0.0.1/32 trust
        postgresql:
          listen: 127.0.0.1:\(member.postgresPort)
          connect_address: 127.0.0.1:\(member.postgresPort)
          data_dir: \(member.directory)/data
          bin_dir: /usr/lib/postgresql/15/bin
          pgpass: \(member.directory)/pgpass
          authentication:
            superuser: {username: postgres}
            replication: {username: postgres}
            rewind: {username: postgres}
          parameters:
            unix_socket_directories: \(member.directory)
        """
    }

    // MARK: Roles

    /// Each member's role as Patroni reports it (`leader`, `sync_standby`, `replica`), from any member's REST API.
    func roles() async -> [String: String] {
        for member in members {
            let http = RawHTTP(baseURL: "http://127.0.0.1:\(member.restPort)")
            guard let response = try? await http.send("GET", "/cluster", token: nil, timeoutSeconds: 2),
                response.status == 200,
                let object = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any],
                let list = object["members"] as? [[String: Any]]
            else { continue }
            var roles: [String: String] = [:]
            for entry in list {
                if let name = entry["name"] as? String, let role = entry["role"] as? String,
                    entry["state"] as? String == "running"
                {
                    roles[name] = role
                }
            }
            return roles
        }
        return [:]
    }

    private func waitForRoles(timeoutSeconds: Double) async throws {
        do {
            try await waitUntil("a Patroni leader and a synchronous standby", timeoutSeconds: timeoutSeconds) {
                let roles = await self.roles()
                return roles.values.contains("leader") && roles.values.contains("sync_standby")
            }
        } catch {
            throw IntegrationFailure("\(error)\n\(logs())")
        }
    }

    /// The member Patroni names leader, nil while none is.
    func leader() async -> Member? {
        let roles = await self.roles()
        return members.first { roles[$0.name] == "leader" }
    }

    /// SIGKILL of a member's Patroni and its PostgreSQL postmaster at once: the machine died. The primary's sessions
    /// die with it; no shutdown checkpoint, no goodbye to etcd (its leader key expires after `ttl`).
    func kill(_ member: Member) {
        let postmaster = (try? String(contentsOfFile: member.directory + "/data/postmaster.pid", encoding: .utf8))?
            .split(separator: "\n").first.flatMap { Int32($0) }
        if let patroni = lock.withLock({ processes[member.name] }), patroni.signal(SIGKILL) {
            _ = try? patroni.waitForExit()
        }
        if let postmaster { Foundation.kill(postmaster, SIGKILL) }
    }

    func logs(lastLines: Int = 30) -> String {
        (["etcd"] + members.map(\.name)).map { name in
            let text = (try? String(contentsOfFile: directory.path + "/\(name).log", encoding: .utf8)) ?? ""
            return "---- \(name) ----\n" + text.split(separator: "\n").suffix(lastLines).joined(separator: "\n")
        }.joined(separator: "\n")
    }

    /// Kills every process (PostgreSQL servers by their postmaster.pid: Patroni started them) and removes the files.
    func shutdown() {
        for process in lock.withLock({ Array(processes.values) }) where process.signal(SIGKILL) {
            _ = try? process.waitForExit()
        }
        for member in members {
            if let text = try? String(contentsOfFile: member.directory + "/data/postmaster.pid", encoding: .utf8),
                let pid = text.split(separator: "\n").first.flatMap({ Int32($0) })
            {
                Foundation.kill(pid, SIGKILL)
            }
        }
        Thread.sleep(forTimeInterval: 0.5)
        directory.remove()
    }
}

import Foundation
import Primitives
import Spawn

// A local PostgreSQL server run from Debian's binaries (/usr/lib/postgresql/<version>/bin) in a
// state directory:  <dir>/data (the cluster), <dir>/run (unix socket), <dir>/postgres.log,
// <dir>/port (the port used last time, reused when free). The first start runs initdb; later starts
// reuse the cluster, so the same state comes back. As root, the server runs as the `postgres` user
// (PostgreSQL refuses to run as root) and the directory is chowned to it.
//
// Who may connect: only the user who started it. The server listens on no TCP port at all, only on a Unix
// socket in <dir>/run (mode 0700), and authenticates with `peer`: the connecting process's OS user must map to
// the superuser in pg_ident.conf, which names only the invoking user (and root when the server runs as
// `postgres` for root). Both files are rewritten at every start, so a cluster made by an older version (which
// trusted every local user over TCP: another user once connected as superuser and ran COPY ... TO PROGRAM) is
// locked down the first time it is started again.

public final class EmbeddedPostgres: Sendable {
    public struct Configuration: Sendable {
        /// The state directory (created if missing).
        public var directory: String
        /// A fixed port, or nil for the previous port if free, else a free one.
        public var port: Int?
        /// The database created on start and named in `conninfo`.
        public var database: String
        /// Extra `postgresql.conf` settings passed on the command line (e.g. ["fsync": "off"] for tests).
        public var settings: [String: String]
        /// The bin directory; nil picks the newest /usr/lib/postgresql/*/bin (or the cluster's own version).
        public var binDirectory: String?

        public init(
            directory: String, port: Int? = nil, database: String = "ops",
            settings: [String: String] = [:], binDirectory: String? = nil
        ) {
            self.directory = directory
            self.port = port
            self.database = database
            self.settings = settings
            self.binDirectory = binDirectory
        }
    }

    public let configuration: Configuration
    /// The port of the running server (or of the last run, to reuse it); read from any thread.
    private let currentPort = Locked<Int?>(nil)

    public var directory: String { configuration.directory }
    public var dataDirectory: String { configuration.directory + "/data" }
    public var socketDirectory: String { configuration.directory + "/run" }
    public var logFile: String { configuration.directory + "/postgres.log" }
    /// The user the server runs as and clients connect as.
    public let superuser = "postgres"

    public init(_ configuration: Configuration) {
        self.configuration = configuration
    }

    public convenience init(directory: String, port: Int? = nil, database: String = "ops") {
        self.init(Configuration(directory: directory, port: port, database: database))
    }

    /// The port the server listens on (after `start()`).
    public var port: Int? {
        currentPort.current
    }

    /// conninfo for `database` (default: the configured one) over the server's private Unix socket.
    public func conninfo(database: String? = nil) -> String {
        "host=\(socketDirectory) port=\(port ?? 0) dbname=\(database ?? configuration.database) user=\(superuser)"
    }

    /// The longest socket path the kernel takes (`sun_path` is 108 bytes with its NUL).
    static let maxSocketPathBytes = 107

    /// conninfo of the configured database.
    public var conninfo: String { conninfo() }

    // MARK: Lifecycle

    /// initdb on first use, start the server (removing a stale postmaster.pid), wait until it accepts
    /// connections, and create the database if missing. Does nothing if this server is already running.
    public func start() throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try fm.createDirectory(atPath: socketDirectory, withIntermediateDirectories: true)
        if isRunning, let running = readPortFile() {
            currentPort.withLock { $0 = running }
            try createDatabaseIfMissing(configuration.database)
            return
        }
        let bin = try binDirectory()
        try checkParentsAreSearchable()
        if !fm.fileExists(atPath: dataDirectory + "/PG_VERSION") {
            try initialize(bin: bin)
        }
        removeStaleLockFiles()
        let port = try choosePort()
        try checkSocketPathLength(port: port)
        try writeAccessRules()
        try ensureOwnership()
        var settings: [String: String] = [
            "listen_addresses": "",
            "port": String(port),
            "unix_socket_directories": socketDirectory,
            "unix_socket_permissions": "0700",
            "fsync": "on",
        ]
        for (k, v) in configuration.settings { settings[k] = v }
        let options = settings.sorted { $0.key < $1.key }.map { "-c \($0.key)='\($0.value)'" }.joined(separator: " ")
        let result = try run(
            bin + "/pg_ctl", ["-D", dataDirectory, "-l", logFile, "-w", "-t", "60", "-o", options, "start"])
        guard result.status == 0 else {
            throw PostgresError.embeddedServer(
                action: "start", message: "pg_ctl exited with \(result.status): \(result.output)", log: tailOfLog())
        }
        try String(port).write(toFile: directory + "/port", atomically: true, encoding: .utf8)
        currentPort.withLock { $0 = port }
        try waitUntilAcceptingConnections(timeoutSeconds: 30)
        try createDatabaseIfMissing(configuration.database)
    }

    /// Fast shutdown (active sessions are disconnected, data is flushed). No-op when not running.
    public func stop() throws {
        guard isRunning else { return }
        let bin = try binDirectory()
        let result = try run(bin + "/pg_ctl", ["-D", dataDirectory, "-m", "fast", "-w", "-t", "60", "stop"])
        if result.status != 0 && isRunning {
            throw PostgresError.embeddedServer(action: "stop", message: result.output, log: tailOfLog())
        }
    }

    /// Stops and starts again on the same port.
    public func restart() throws {
        let previous = port
        try stop()
        if let previous { currentPort.withLock { $0 = previous } }
        try start()
    }

    /// SIGKILL the postmaster and its children (a crash, for tests). The next `start()` recovers.
    public func kill() {
        guard let pid = postmasterPID(), EmbeddedPostgres.isAlive(pid) else { return }
        let children = EmbeddedPostgres.childProcesses(of: pid)
        _ = Foundation.kill(pid, SIGKILL)
        for child in children { _ = Foundation.kill(child, SIGKILL) }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, ([pid] + children).contains(where: EmbeddedPostgres.isAlive) {
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    /// Stops the server and deletes the state directory.
    public func destroy() throws {
        try? stop()
        kill()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Whether the postmaster recorded in postmaster.pid is alive.
    public var isRunning: Bool {
        guard let pid = postmasterPID() else { return false }
        return EmbeddedPostgres.isAlive(pid) && EmbeddedPostgres.isPostgresProcess(pid)
    }

    /// Creates a database (owner: the superuser) unless it exists.
    public func createDatabaseIfMissing(_ name: String) throws {
        let admin = try PostgresConnection(conninfo: conninfo(database: "postgres"))
        defer { admin.close() }
        let exists = try admin.queryFirst("SELECT 1 FROM pg_database WHERE datname = $1", [.text(name)]) != nil
        if !exists {
            do {
                try admin.execute("CREATE DATABASE \(try admin.quoteIdentifier(name))")
            } catch let error as PostgresError where error.sqlState == "42P04" {
                // Created concurrently by someone else: fine.
            }
        }
    }

    /// Drops a database if it exists (disconnecting its sessions).
    public func dropDatabase(_ name: String) throws {
        let admin = try PostgresConnection(conninfo: conninfo(database: "postgres"))
        defer { admin.close() }
        try admin.execute("DROP DATABASE IF EXISTS \(try admin.quoteIdentifier(name)) WITH (FORCE)")
    }

    // MARK: Binaries

    /// The newest installed PostgreSQL bin directory (`/usr/lib/postgresql/<N>/bin`).
    public static func newestBinDirectory(root: String = "/usr/lib/postgresql") throws -> String {
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap { Int($0) }
            .filter { FileManager.default.isExecutableFile(atPath: "\(root)/\($0)/bin/postgres") }
            .sorted()
        guard let newest = versions.last else {
            throw PostgresError.embeddedServer(
                action: "find binaries",
                message: "no PostgreSQL server under \(root)/*/bin; install it with `apt-get install -y postgresql`",
                log: "")
        }
        return "\(root)/\(newest)/bin"
    }

    private func binDirectory() throws -> String {
        if let bin = configuration.binDirectory { return bin }
        // An existing cluster must be run by its own major version.
        if let version = try? String(contentsOfFile: dataDirectory + "/PG_VERSION", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines),
            FileManager.default.isExecutableFile(atPath: "/usr/lib/postgresql/\(version)/bin/postgres")
        {
            return "/usr/lib/postgresql/\(version)/bin"
        }
        return try EmbeddedPostgres.newestBinDirectory()
    }

    // MARK: Internals

    private var runsAsRoot: Bool { getuid() == 0 }

    private func initialize(bin: String) throws {
        // A half-made data directory from an interrupted initdb would make initdb refuse.
        try? FileManager.default.removeItem(atPath: dataDirectory)
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        try ensureOwnership()
        // The access rules written before every start replace initdb's; `reject` until then.
        let result = try run(
            bin + "/initdb",
            [
                "-D", dataDirectory, "-U", superuser, "--auth=reject",
                "--encoding=UTF8", "--no-locale", "--no-instructions",
            ])
        guard result.status == 0 else {
            throw PostgresError.embeddedServer(
                action: "initdb", message: "initdb exited with \(result.status)", log: result.output)
        }
    }

    /// pg_hba.conf: the Unix socket only, peer authentication through the `owner` map. pg_ident.conf: the map,
    /// naming the invoking user (and `postgres`, the server's own user when it runs for root).
    private func writeAccessRules() throws {
        let hba = """
            # Written by llm-ops at every start (EmbeddedPostgres): only the user who started this server connects,
            # over its private Unix socket; no TCP listener exists.
            local all \(superuser) peer map=owner

            """
        var users = [Self.currentUserName()]
        if runsAsRoot { users.append(superuser) }
        let ident =
            "# Written by llm-ops at every start (EmbeddedPostgres).\n"
            + Set(users).sorted().map { "owner \($0) \(superuser)\n" }.joined()
        try hba.write(toFile: dataDirectory + "/pg_hba.conf", atomically: true, encoding: .utf8)
        try ident.write(toFile: dataDirectory + "/pg_ident.conf", atomically: true, encoding: .utf8)
        _ = chmod(socketDirectory, 0o700)
    }

    private static func currentUserName() -> String {
        guard let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name else { return String(geteuid()) }
        return String(cString: name)
    }

    private func checkSocketPathLength(port: Int) throws {
        let path = socketDirectory + "/.s.PGSQL.\(port)"
        guard path.utf8.count <= Self.maxSocketPathBytes else {
            throw PostgresError.embeddedServer(
                action: "prepare \(directory)",
                message: "the database socket path \(path) is \(path.utf8.count) bytes; Unix sockets allow at most "
                    + "\(Self.maxSocketPathBytes). Use a shorter state directory (--state-dir)", log: "")
        }
    }

    /// As root the server runs as `postgres`, which must be able to traverse every parent directory.
    private func checkParentsAreSearchable() throws {
        guard runsAsRoot else { return }
        var path = URL(fileURLWithPath: directory).standardizedFileURL.deletingLastPathComponent().path
        while path != "/" && !path.isEmpty {
            var info = stat()
            if stat(path, &info) == 0, info.st_mode & S_IXOTH == 0 {
                throw PostgresError.embeddedServer(
                    action: "prepare \(directory)",
                    message:
                        "the postgres user cannot reach the state directory because \(path) is not searchable by others "
                        + "(mode \(String(info.st_mode & 0o777, radix: 8))); use a state directory elsewhere (e.g. under /var/lib) "
                        + "or run `chmod o+x \(path)`", log: "")
            }
            path = (path as NSString).deletingLastPathComponent
        }
    }

    private func ensureOwnership() throws {
        guard runsAsRoot else { return }
        let chown = try run("/bin/chown", ["-R", "postgres:postgres", directory], asPostgres: false)
        guard chown.status == 0 else {
            throw PostgresError.embeddedServer(action: "chown", message: chown.output, log: "")
        }
        _ = chmod(dataDirectory, 0o700)
    }

    private func choosePort() throws -> Int {
        if let fixed = configuration.port { return fixed }
        let remembered = currentPort.current
        if let remembered, EmbeddedPostgres.isPortFree(remembered) { return remembered }
        if let previous = readPortFile(), EmbeddedPostgres.isPortFree(previous) { return previous }
        return try EmbeddedPostgres.freeLoopbackPort()
    }

    private func readPortFile() -> Int? {
        (try? String(contentsOfFile: directory + "/port", encoding: .utf8))
            .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    private func postmasterPID() -> Int32? {
        guard let text = try? String(contentsOfFile: dataDirectory + "/postmaster.pid", encoding: .utf8),
            let first = text.split(separator: "\n").first
        else { return nil }
        return Int32(first.trimmingCharacters(in: .whitespaces))
    }

    /// A postmaster.pid (or socket lock) naming a dead process, a zombie or an unrelated process
    /// would stop the server from starting after a crash; remove it.
    private func removeStaleLockFiles() {
        let fm = FileManager.default
        if let pid = postmasterPID(), !(EmbeddedPostgres.isAlive(pid) && EmbeddedPostgres.isPostgresProcess(pid)) {
            try? fm.removeItem(atPath: dataDirectory + "/postmaster.pid")
        }
        for name in (try? fm.contentsOfDirectory(atPath: socketDirectory)) ?? [] where name.hasSuffix(".lock") {
            let path = socketDirectory + "/" + name
            if let text = try? String(contentsOfFile: path, encoding: .utf8),
                let pid = text.split(separator: "\n").first.flatMap({ Int32($0.trimmingCharacters(in: .whitespaces)) }),
                EmbeddedPostgres.isAlive(pid) && EmbeddedPostgres.isPostgresProcess(pid)
            {
                continue
            }
            try? fm.removeItem(atPath: path)
        }
    }

    private func waitUntilAcceptingConnections(timeoutSeconds: TimeInterval) throws {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        var lastError: Error?
        while Date() < deadline {
            do {
                let c = try PostgresConnection(conninfo: conninfo(database: "postgres"), connectTimeoutSeconds: 2)
                c.close()
                return
            } catch {
                lastError = error
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        throw PostgresError.embeddedServer(
            action: "start", message: "server did not accept connections: \(lastError.map { "\($0)" } ?? "timeout")",
            log: tailOfLog())
    }

    private func tailOfLog() -> String {
        guard let text = try? String(contentsOfFile: logFile, encoding: .utf8) else { return "" }
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(20).joined(separator: "\n")
    }

    private struct ProcessResult {
        var status: Int32
        var output: String
    }

    /// Runs a command (as `postgres` via runuser when we are root) and waits for it. Output goes to a
    /// file, and every descriptor above stderr is closed in the child (`SpawnedChild`): the postmaster outlives
    /// pg_ctl, and must not inherit our pipes or sockets.
    private func run(_ executable: String, _ arguments: [String], asPostgres: Bool = true) throws -> ProcessResult {
        let argv =
            (asPostgres && runsAsRoot)
            ? ["/usr/sbin/runuser", "-u", "postgres", "--", executable] + arguments
            : [executable] + arguments
        let outputPath = NSTemporaryDirectory() + "embedded-pg-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).out"
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let status: Int32
        do { status = try SpawnedChild.run(argv, outputPath: outputPath).shellStatus } catch {
            throw PostgresError.embeddedServer(action: "run \(argv[0])", message: error.reason, log: "")
        }
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        return ProcessResult(status: status, output: text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    // MARK: Process and port helpers

    static func isAlive(_ pid: Int32) -> Bool {
        guard pid > 0, Foundation.kill(pid, 0) == 0 || errno == EPERM else { return false }
        // A zombie is dead for our purposes (it will never accept connections or hold locks).
        if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        {
            let state = stat[stat.index(close, offsetBy: 2)]
            return state != "Z" && state != "X"
        }
        return true
    }

    static func isPostgresProcess(_ pid: Int32) -> Bool {
        guard let comm = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8) else { return true }
        return comm.hasPrefix("postgres") || comm.hasPrefix("postmaster")
    }

    static func childProcesses(of parent: Int32) -> [Int32] {
        var children: [Int32] = []
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry),
                let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 2, Int32(fields[1]) == parent { children.append(pid) }
        }
        return children
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago.
    public static func freeLoopbackPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else {
            throw PostgresError.embeddedServer(action: "find a free port", message: "socket() failed", log: "")
        }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else {
            throw PostgresError.embeddedServer(action: "find a free port", message: "bind() failed", log: "")
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Whether nothing listens on 127.0.0.1:`port`.
    public static func isPortFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        // Like the server itself: a port whose old connections linger in TIME_WAIT is free.
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}

import APITypes
import Control
import Foundation

enum ServeCommand: OpsCommand {
    static let host = TypedOption(
        "host", value: "ADDR", help: "address to listen on", environment: "OPS_HOST", default: "127.0.0.1",
        parser: .text)
    static let port = TypedOption(
        "port", short: "p", value: "PORT", help: "port to listen on", environment: "OPS_PORT",
        default: 8080, parser: .integer(in: 0...65535))
    static let leaseSeconds = TypedOption(
        "lease-seconds", value: "SECONDS", help: "lease duration without a heartbeat",
        environment: "OPS_LEASE_SECONDS", default: 15.0, parser: .seconds)
    static let heartbeatSeconds = TypedOption(
        "heartbeat-seconds", value: "SECONDS", help: "heartbeat interval given to workers",
        environment: "OPS_HEARTBEAT_SECONDS", default: 3.0, parser: .seconds)
    static let maxBodyBytes = TypedOption(
        "max-body-bytes", value: "BYTES", help: "largest request body accepted", environment: "OPS_MAX_BODY_BYTES",
        default: Int64(16 << 20), parser: .positiveBytes(example: "16Mi"))
    static let connectionLimit = TypedOption(
        "connection-limit", value: "N", help: "open connections accepted at once (all clients)",
        environment: "OPS_CONNECTION_LIMIT", default: ServerConnectionLimits.defaultConnectionLimit,
        parser: .integer(in: 1...1_000_000))
    static let perAddressConnectionLimit = TypedOption(
        "per-address-connection-limit", value: "N", help: "open connections one client address may hold (0: no limit)",
        environment: "OPS_PER_ADDRESS_CONNECTION_LIMIT",
        default: ServerConnectionLimits.defaultPerAddressConnectionLimit, parser: .integer(in: 0...1_000_000))
    static let idleTimeoutSeconds = TypedOption(
        "idle-timeout-seconds", value: "SECONDS", help: "close a connection silent for this long",
        environment: "OPS_IDLE_TIMEOUT_SECONDS", default: ServerConnectionLimits.defaultIdleConnectionTimeoutSeconds,
        parser: .integer(in: 1...86_400))

    static let spec = CommandSpec(
        "serve", summary: "Run the control-plane daemon (REST API, scheduler, leases)",
        options: [
            host.spec,
            port.spec,
            OptionSpec(
                "database-url", value: "URL", help: "PostgreSQL connection URL (required)",
                environment: "OPS_DATABASE_URL"),
            OptionSpec(
                "admin-token-file", value: "PATH", help: "file with the admin token (or OPS_ADMIN_TOKEN)",
                environment: "OPS_ADMIN_TOKEN_FILE"),
            OptionSpec(
                "join-token-file", value: "PATH", help: "file with the token workers register with (or OPS_JOIN_TOKEN)",
                environment: "OPS_JOIN_TOKEN_FILE"),
            OptionSpec(
                "artifact-dir", value: "DIR", help: "where the control plane stores uploaded artifacts",
                environment: "OPS_ARTIFACT_DIR",
                default: "<state-dir>/artifacts"),
            leaseSeconds.spec,
            heartbeatSeconds.spec,
            maxBodyBytes.spec,
            connectionLimit.spec,
            perAddressConnectionLimit.spec,
            idleTimeoutSeconds.spec,
        ] + TLSOptions.specs + StorageOptions.specs + HistoryOptions.specs,
        discussion: """
            Several `serve` replicas may share one database; they coordinate through it.
            SIGHUP reads the TLS certificate and key again; new connections get the new certificate, the listener \
            stays open and requests in flight finish. Under systemd (NOTIFY_SOCKET) READY=1 is sent once the \
            database is reachable and the API listens.
            """)

    static func run(_ settings: Settings) async throws -> Int32 {
        let configuration = try settings.controlPlaneConfiguration()
        // Before the first line of output: a supervisor that saw it may send SIGHUP.
        let lifecycle = ServeLifecycle(environment: settings.environment)
        Output.note("control plane \(opsVersion): \(summary(configuration))")
        let server = Task {
            try await ControlPlane.run(configuration, onStarted: { lifecycle.started($0) }) { url in
                Output.note("listening on \(url)")
            }
        }
        // A clean stop takes at most ~5 s (in-flight requests); anything longer is a stage that did not listen.
        let signals = TerminationSignals(exitAfterSeconds: 15) { number in
            Output.note("got signal \(number); stopping the control plane")
            lifecycle.stopping()
            server.cancel()
            signal(number, SIG_DFL)
        }
        defer { signals.cancel() }
        do {
            try await server.value
        } catch is CancellationError {
            // Clean stop.
        }
        return 0
    }

    /// What `serve` logs at start. Never shows the tokens (or a password in the database URL).
    static func summary(_ configuration: ControlPlaneConfiguration) -> String {
        "listen \(configuration.host):\(configuration.port), database \(redactPassword(configuration.databaseURL)), "
            + "artifacts \(configuration.artifactDirectory), lease \(configuration.leaseSeconds)s, heartbeat \(configuration.heartbeatSeconds)s, "
            + "max body \(Quantity.formatBytes(Int64(configuration.maxBodyBytes))), storage \(storageSummary(configuration.storage))"
    }

    /// `blob` or `s3 http://host:9000 bucket/prefix (key AKIA...)`: the access key ID only, never the secret.
    static func storageSummary(_ storage: StorageConfiguration) -> String {
        guard let s3 = storage.description.s3 else { return "blob" }
        let key = storage.s3Credentials.map { " (access key \($0.accessKeyID))" } ?? ""
        return "s3 \(s3.endpoint) \(s3.bucket)/\(s3.keyPrefix)\(key)"
    }

    /// `postgresql://user:secret@host/db` → `postgresql://user:***@host/db`.
    static func redactPassword(_ url: String) -> String {
        guard let scheme = url.range(of: "://"), let at = url[scheme.upperBound...].firstIndex(of: "@") else {
            return url
        }
        let credentials = url[scheme.upperBound..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return url }
        return String(url[..<url.index(after: colon)]) + "***" + String(url[at...])
    }
}

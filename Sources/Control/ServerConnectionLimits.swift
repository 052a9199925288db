import HTTPServer

/// How many connections the API accepts and how long an idle one stays open (`opsctl serve --connection-limit`,
/// `--per-address-connection-limit`, `--idle-timeout-seconds`). The defaults are the HTTP server's, named once there.
public struct ServerConnectionLimits: Sendable, Equatable {
    public static let defaultConnectionLimit = HTTPServerConfiguration.defaultConnectionLimit
    public static let defaultPerAddressConnectionLimit = HTTPServerConfiguration.defaultPerAddressConnectionLimit
    public static let defaultIdleConnectionTimeoutSeconds = HTTPServerConfiguration.defaultIdleConnectionTimeoutSeconds

    /// All connections at once (lowered at start to fit the file-descriptor limit).
    public var connectionLimit: Int
    /// Connections one client address may hold; 0 turns the limit off (a load balancer in front).
    public var perAddressConnectionLimit: Int
    /// A connection silent for this long is closed (a running long-poll is not silent).
    public var idleConnectionTimeoutSeconds: Int

    public init(
        connectionLimit: Int = defaultConnectionLimit,
        perAddressConnectionLimit: Int = defaultPerAddressConnectionLimit,
        idleConnectionTimeoutSeconds: Int = defaultIdleConnectionTimeoutSeconds
    ) {
        self.connectionLimit = connectionLimit
        self.perAddressConnectionLimit = perAddressConnectionLimit
        self.idleConnectionTimeoutSeconds = idleConnectionTimeoutSeconds
    }
}

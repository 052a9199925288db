import Foundation

// How an HTTPServer listens and what it accepts.

public struct HTTPServerConfiguration: Sendable {
    /// IPv4 or IPv6 literal to bind; loopback by default.
    public var address: String
    /// 0 picks a free ephemeral port; read it back from `HTTPServer.port`.
    public var port: UInt16
    /// Maximum simultaneous connections; connections over it are refused. An open connection costs a socket and
    /// ~1 KiB in the event loop, not a thread (see HTTPServer), so the default admits a 10,000-connection flood with
    /// room for real clients. `start()` lowers it to fit the file-descriptor limit.
    public var connectionLimit: Int
    /// Connections one client address may hold at once (0: no limit), so one host cannot take them all. The old
    /// thread-per-connection server never allowed more than 1,024 in total, so no test or local cluster (all on
    /// 127.0.0.1) needs more; a load balancer or NAT in front of the API needs it raised or 0.
    public var perAddressConnectionLimit: Int
    /// A connection with no traffic for this many seconds is closed: keep-alive connections between requests and
    /// connections that sent nothing or a partial header alike. A handler that is running (a long-poll) is never
    /// timed out.
    public var idleConnectionTimeoutSeconds: Int
    /// Threads of the epoll event loop that read requests and write responses (libmicrohttpd's thread pool).
    public var eventThreadCount: Int
    /// Every this many seconds each event thread is woken, whether or not traffic woke it (0: never). It bounds a
    /// stall of libmicrohttpd 0.9.75's epoll loop that otherwise left requests unread until their connection's idle
    /// timeout closed it unanswered (`EventThreadWaker`; docs/security.md).
    public var eventThreadWakeIntervalSeconds: Double
    /// Called on the event thread when a request's headers have arrived, before anything else happens to it: lets a
    /// test hold the event loop still while it lines up the next events (`EventThreadWakeTests`). Never set outside
    /// tests.
    var requestHeadersArrivedOnEventThread: (@Sendable (_ path: String) -> Void)? = nil
    /// `eventThreadWakeIntervalSeconds` as the accept loop takes it: a negative or non-finite value means never (0).
    var eventThreadWakeIntervalSecondsInEffect: Double {
        eventThreadWakeIntervalSeconds.isFinite ? max(0, eventThreadWakeIntervalSeconds) : 0
    }
    /// Handlers running at once, each on its own thread (handlers may block: long-polls wait up to 30 s). Requests
    /// over it wait for a free thread; the connections themselves wait in the event loop at no thread's cost.
    public var handlerThreadLimit: Int
    /// The largest request body accepted for `(method, path)`; larger bodies get 413 without being buffered.
    public var maxBodyBytes: @Sendable (_ method: String, _ path: String) -> Int
    /// Bodies larger than this are written to a temporary file instead of memory (`HTTPRequest.bodyFile`).
    public var spoolBodiesLargerThan: Int
    /// Where spooled bodies go.
    public var spoolDirectory: String
    /// Builds the JSON error responses the server produces itself (413, 404 for a missing file, ...).
    public var errorResponse: @Sendable (_ status: Int, _ message: String) -> HTTPResponse
    /// HTTPS with this certificate and key (nil: plain HTTP); `HTTPServer.reloadCertificate` replaces it live.
    public var tls: TLSCredentials? = nil

    public init(
        address: String = "127.0.0.1",
        port: UInt16 = 0,
        connectionLimit: Int = HTTPServerConfiguration.defaultConnectionLimit,
        perAddressConnectionLimit: Int = HTTPServerConfiguration.defaultPerAddressConnectionLimit,
        idleConnectionTimeoutSeconds: Int = HTTPServerConfiguration.defaultIdleConnectionTimeoutSeconds,
        eventThreadCount: Int = HTTPServerConfiguration.defaultEventThreadCount,
        eventThreadWakeIntervalSeconds: Double = HTTPServerConfiguration.defaultEventThreadWakeIntervalSeconds,
        handlerThreadLimit: Int = HTTPServerConfiguration.defaultHandlerThreadLimit,
        maxBodyBytes: @escaping @Sendable (_ method: String, _ path: String) -> Int = { _, _ in 1 << 20 },
        spoolBodiesLargerThan: Int = 8 << 20,
        spoolDirectory: String = NSTemporaryDirectory(),
        errorResponse: @escaping @Sendable (_ status: Int, _ message: String) -> HTTPResponse = {
            HTTPResponse.error(status: $0, message: $1)
        }
    ) {
        self.address = address
        self.port = port
        self.connectionLimit = connectionLimit
        self.perAddressConnectionLimit = perAddressConnectionLimit
        self.idleConnectionTimeoutSeconds = idleConnectionTimeoutSeconds
        self.eventThreadCount = eventThreadCount
        self.eventThreadWakeIntervalSeconds = eventThreadWakeIntervalSeconds
        self.handlerThreadLimit = handlerThreadLimit
        self.maxBodyBytes = maxBodyBytes
        self.spoolBodiesLargerThan = spoolBodiesLargerThan
        self.spoolDirectory = spoolDirectory
        self.errorResponse = errorResponse
    }
}

public enum HTTPServerError: Error, CustomStringConvertible, Sendable, Equatable {
    case invalidAddress(String)
    /// libmicrohttpd could not start (port in use, no permission, ...).
    case couldNotStart(address: String, port: UInt16, reason: String)
    case alreadyStarted
    /// The certificate or key cannot be used (unreadable, mismatched, no TLS in libmicrohttpd).
    case tls(TLSCredentialsError)
    /// `reloadCertificate` on a server that is not running with TLS.
    case notServingTLS
    /// The new daemon of a certificate reload did not start; the server kept the previous certificate.
    case couldNotReload(reason: String)

    public var description: String {
        switch self {
        case .invalidAddress(let a):
            return "invalid listen address \"\(a)\": expected an IPv4 or IPv6 literal such as 127.0.0.1"
        case .couldNotStart(let a, let p, let r):
            return "could not start the HTTP server on \(a):\(p): \(r) (is the port already in use?)"
        case .alreadyStarted: return "the HTTP server is already started"
        case .tls(let error): return error.description
        case .notServingTLS:
            return "the HTTP server is not serving TLS; start it with a certificate and key to reload them"
        case .couldNotReload(let reason):
            return "could not reload the TLS certificate (still serving the previous one): \(reason)"
        }
    }
}

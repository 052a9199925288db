import Foundation

// How an HTTPServer listens and what it accepts.

public struct HTTPServerConfiguration: Sendable {
    /// IPv4 or IPv6 literal to bind; loopback by default.
    public var address: String
    /// 0 picks a free ephemeral port; read it back from `HTTPServer.port`.
    public var port: UInt16
    /// Maximum simultaneous connections. Each connection has its own thread (see HTTPServer), so this is
    /// also the thread limit; connections over the limit are refused.
    public var connectionLimit: Int
    /// Idle keep-alive connections are closed after this many seconds (a handler that is running is never timed out).
    public var idleConnectionTimeoutSeconds: Int
    /// The largest request body accepted for `(method, path)`; larger bodies get 413 without being buffered.
    public var maxBodyBytes: @Sendable (_ method: String, _ path: String) -> Int
    /// Bodies larger than this are written to a temporary file instead of memory (`HTTPRequest.bodyFile`).
    public var spoolBodiesLargerThan: Int
    /// Where spooled bodies go.
    public var spoolDirectory: String
    /// Builds the JSON error responses the server produces itself (413, 404 for a missing file, ...).
    public var errorResponse: @Sendable (_ status: Int, _ message: String) -> HTTPResponse

    public init(
        address: String = "127.0.0.1",
        port: UInt16 = 0,
        connectionLimit: Int = 1024,
        idleConnectionTimeoutSeconds: Int = 120,
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
        self.idleConnectionTimeoutSeconds = idleConnectionTimeoutSeconds
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

    public var description: String {
        switch self {
        case .invalidAddress(let a):
            return "invalid listen address \"\(a)\": expected an IPv4 or IPv6 literal such as 127.0.0.1"
        case .couldNotStart(let a, let p, let r):
            return "could not start the HTTP server on \(a):\(p): \(r) (is the port already in use?)"
        case .alreadyStarted: return "the HTTP server is already started"
        }
    }
}

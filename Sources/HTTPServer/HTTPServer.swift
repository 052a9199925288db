// HTTPServer: the only code that touches libmicrohttpd.
//
// Threading: an epoll event loop on `eventThreadCount` threads (libmicrohttpd's thread pool) reads requests and
// writes responses, so an open connection costs a socket and no thread: 10,000 idle or half-sent connections are
// cheap. Once a request is complete its connection is suspended and the handler runs on one of at most
// `handlerThreadLimit` handler threads (HandlerThreads); a handler may block (long-polls of ~30 s) without stalling
// the event loop or any other connection. Its reply resumes the connection and the event loop sends the response.
// The server this replaced ran a thread per connection capped at 1,024, so 1,024 idle sockets refused everyone.

import CMicroHTTPD
import Foundation

public typealias HTTPHandler = @Sendable (HTTPRequest) -> HTTPResponse
/// A handler written with async/await. It runs as a Task and holds no thread while it awaits.
public typealias AsyncHTTPHandler = @Sendable (HTTPRequest) async -> HTTPResponse

public final class HTTPServer: @unchecked Sendable {
    public let configuration: HTTPServerConfiguration
    private let core: ServerCore
    /// Nil for an async-handler server, whose handlers run as Tasks.
    private let handlerThreads: HandlerThreads?
    private let lock = NSLock()
    private var daemon: OpaquePointer?
    private var retainedCore: Unmanaged<ServerCore>?
    private var boundPort: UInt16 = 0

    public init(configuration: HTTPServerConfiguration = HTTPServerConfiguration(), handler: @escaping HTTPHandler) {
        self.configuration = configuration
        let threads = HandlerThreads(limit: max(1, configuration.handlerThreadLimit))
        self.handlerThreads = threads
        self.core = ServerCore(configuration: configuration) { request, reply in
            threads.run { reply(handler(request)) }
        }
    }

    /// A server whose handler is async (e.g. calls actors); see `AsyncHTTPHandler`.
    public init(
        configuration: HTTPServerConfiguration = HTTPServerConfiguration(),
        asyncHandler: @escaping AsyncHTTPHandler
    ) {
        self.configuration = configuration
        self.handlerThreads = nil
        self.core = ServerCore(configuration: configuration) { request, reply in
            Task { reply(await asyncHandler(request)) }
        }
    }

    /// The port the server listens on (the real one when configured with 0); 0 before `start()`.
    public var port: UInt16 { lock.withLock { boundPort } }

    /// `http://address:port` once started.
    public var baseURL: String {
        let host = configuration.address.contains(":") ? "[\(configuration.address)]" : configuration.address
        return "http://\(host):\(port)"
    }

    /// Handler threads the system refused to start (a thread or memory limit); their requests waited for a
    /// running handler thread. Nonzero explains a request that took as long as the longest handler.
    public var handlerThreadStartFailures: Int { handlerThreads?.failedThreadStarts ?? 0 }

    /// True while `stop` is draining; long-poll handlers may check it to return early.
    public var isStopping: Bool { core.isStopping }

    public func start() throws(HTTPServerError) {
        lock.lock()
        defer { lock.unlock() }
        do {
            guard daemon == nil else { throw .alreadyStarted }
            // A peer closing mid-download must not kill the process (sendfile may raise SIGPIPE).
            signal(SIGPIPE, SIG_IGN)
            core.isStopping = false
            core.acceptSuspension()
            let retained = Unmanaged.passRetained(core)
            let flags = UInt32(
                MHD_USE_EPOLL_INTERNAL_THREAD.rawValue | MHD_ALLOW_SUSPEND_RESUME.rawValue
                    | MHD_USE_ERROR_LOG.rawValue)
            let limits = daemonLimits(configuration, fileDescriptorLimit: FileDescriptorLimit.raiseSoftToHard())
            let started: OpaquePointer? = try withSocketAddress(configuration.address, port: configuration.port) {
                addr, isIPv6 in
                cmhd_start_daemon(
                    flags | (isIPv6 ? UInt32(MHD_USE_IPv6.rawValue) : 0), addr, limits,
                    accessHandler, retained.toOpaque(),
                    requestCompleted, retained.toOpaque())
            }
            guard let started else {
                let reason = String(cString: strerror(errno))
                retained.release()
                throw .couldNotStart(address: configuration.address, port: configuration.port, reason: reason)
            }
            daemon = started
            retainedCore = retained
            boundPort = cmhd_bound_port(started)
        }
    }

    /// Stops accepting connections, waits up to `timeout` seconds for running handlers to finish, then
    /// shuts the daemon down. Requests whose handlers are still running after the timeout are answered 503 (their
    /// handlers finish on their own threads and their responses are discarded); the port is released either way.
    public func stop(timeoutSeconds: Double = 10) {
        let (current, retained) = lock.withLock { () -> (OpaquePointer?, Unmanaged<ServerCore>?) in
            let d = daemon
            let r = retainedCore
            daemon = nil
            retainedCore = nil
            boundPort = 0
            return (d, r)
        }
        guard let current else { return }
        core.isStopping = true
        let listenSocket = MHD_quiesce_daemon(current)
        if listenSocket >= 0 { close(listenSocket) }
        _ = core.waitForIdle(timeoutSeconds: timeoutSeconds)
        // Even when idle: a connection can end (timeout) while suspended, and libmicrohttpd aborts the process when
        // it stops with one still suspended.
        let answered = core.answerSuspended(
            with: configuration.errorResponse(503, "the server is stopping; retry the request (on another replica)"))
        if answered > 0 {
            // Lets the event loop take the resumed connections off its suspended list and send those answers.
            _ = core.waitForIdle(timeoutSeconds: Self.stopAnswerSeconds)
            usleep(Self.resumeSettleMicroseconds)
        }
        MHD_stop_daemon(current)
        retained?.release()
    }

    /// How long `stop` lets the event loop send its 503s to requests whose handlers outlived the timeout.
    static let stopAnswerSeconds = 1.0
    /// 50 ms for the event loop to see a resume whose request had already ended (it never counts as in flight).
    static let resumeSettleMicroseconds: UInt32 = 50_000

    deinit {
        if let daemon {
            MHD_stop_daemon(daemon)
            retainedCore?.release()
        }
    }
}

/// Builds a sockaddr for `address:port` and hands it to `body`.
private func withSocketAddress<T>(
    _ address: String, port: UInt16,
    _ body: (UnsafePointer<sockaddr>, Bool) -> T
) throws(HTTPServerError) -> T {
    var v4 = sockaddr_in()
    if inet_pton(AF_INET, address, &v4.sin_addr) == 1 {
        v4.sin_family = sa_family_t(AF_INET)
        v4.sin_port = port.bigEndian
        return withUnsafePointer(to: &v4) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, false) } }
    }
    var v6 = sockaddr_in6()
    if inet_pton(AF_INET6, address, &v6.sin6_addr) == 1 {
        v6.sin6_family = sa_family_t(AF_INET6)
        v6.sin6_port = port.bigEndian
        return withUnsafePointer(to: &v6) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, true) } }
    }
    throw .invalidAddress(address)
}

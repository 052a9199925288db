// HTTPServer: the only code that touches libmicrohttpd.
//
// Threading: libmicrohttpd runs in thread-per-connection mode (MHD_USE_THREAD_PER_CONNECTION with an
// internal polling thread). A handler runs on its connection's thread and may block (long-polls of ~30 s)
// without stalling other connections; the cost is one thread per open connection, bounded by
// `HTTPServerConfiguration.connectionLimit` (default 1024).

import CMicroHTTPD
import Foundation

public typealias HTTPHandler = @Sendable (HTTPRequest) -> HTTPResponse
/// A handler written with async/await. It runs as a Task while the connection's thread waits for it, so an
/// awaiting long-poll holds no thread of the cooperative pool.
public typealias AsyncHTTPHandler = @Sendable (HTTPRequest) async -> HTTPResponse

public final class HTTPServer: @unchecked Sendable {
    public let configuration: HTTPServerConfiguration
    private let core: ServerCore
    private let lock = NSLock()
    private var daemon: OpaquePointer?
    private var retainedCore: Unmanaged<ServerCore>?
    private var boundPort: UInt16 = 0

    public init(configuration: HTTPServerConfiguration = HTTPServerConfiguration(), handler: @escaping HTTPHandler) {
        self.configuration = configuration
        self.core = ServerCore(configuration: configuration, handler: handler)
    }

    /// A server whose handler is async (e.g. calls actors); see `AsyncHTTPHandler`.
    public convenience init(
        configuration: HTTPServerConfiguration = HTTPServerConfiguration(),
        asyncHandler: @escaping AsyncHTTPHandler
    ) {
        self.init(configuration: configuration) { request in
            let box = ResponseBox()
            let done = DispatchSemaphore(value: 0)
            Task {
                box.response = await asyncHandler(request)
                done.signal()
            }
            done.wait()
            return box.response ?? .error(status: 500, message: "the handler returned no response")
        }
    }

    /// The port the server listens on (the real one when configured with 0); 0 before `start()`.
    public var port: UInt16 { lock.withLock { boundPort } }

    /// `http://address:port` once started.
    public var baseURL: String {
        let host = configuration.address.contains(":") ? "[\(configuration.address)]" : configuration.address
        return "http://\(host):\(port)"
    }

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
            let retained = Unmanaged.passRetained(core)
            let flags = UInt32(
                MHD_USE_THREAD_PER_CONNECTION.rawValue | MHD_USE_INTERNAL_POLLING_THREAD.rawValue
                    | MHD_USE_POLL.rawValue | MHD_USE_ITC.rawValue | MHD_USE_ERROR_LOG.rawValue)
            let started: OpaquePointer? = try withSocketAddress(configuration.address, port: configuration.port) {
                addr, isIPv6 in
                cmhd_start_daemon(
                    flags | (isIPv6 ? UInt32(MHD_USE_IPv6.rawValue) : 0), addr,
                    UInt32(max(1, configuration.connectionLimit)),
                    UInt32(max(0, configuration.idleConnectionTimeoutSeconds)),
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
    /// shuts the daemon down. Handlers still running after the timeout are left to finish on a background
    /// thread (their responses are discarded); the port is released either way.
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
        let drained = core.waitForIdle(timeoutSeconds: timeoutSeconds)
        if drained {
            MHD_stop_daemon(current)
            retained?.release()
        } else {
            let box = UncheckedDaemon(pointer: current, retained: retained)
            Thread.detachNewThread {
                MHD_stop_daemon(box.pointer)
                box.retained?.release()
            }
        }
    }

    deinit {
        if let daemon {
            MHD_stop_daemon(daemon)
            retainedCore?.release()
        }
    }
}

private final class ResponseBox: @unchecked Sendable {
    // Written by the handler task before it signals, read by the connection thread after the wait.
    var response: HTTPResponse?
}

private struct UncheckedDaemon: @unchecked Sendable {
    let pointer: OpaquePointer
    let retained: Unmanaged<ServerCore>?
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

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
import Primitives

public typealias HTTPHandler = @Sendable (HTTPRequest) -> HTTPResponse
/// A handler written with async/await. It runs as a Task and holds no thread while it awaits.
public typealias AsyncHTTPHandler = @Sendable (HTTPRequest) async -> HTTPResponse

public final class HTTPServer: @unchecked Sendable {
    public let configuration: HTTPServerConfiguration
    /// A fresh `ServerCore` per daemon: a certificate reload runs two daemons for a moment, each counting its own
    /// in-flight requests.
    private let makeCore: @Sendable () -> ServerCore
    /// Nil for an async-handler server, whose handlers run as Tasks.
    private let handlerThreads: HandlerThreads?
    private let lock = NSLock()
    private var running: RunningDaemon?
    /// The certificate the running daemon presents (the configured one until a reload).
    private var credentials: TLSCredentials?
    private var boundPort: UInt16 = 0
    private let stopping = Locked(false)

    public init(configuration: HTTPServerConfiguration = HTTPServerConfiguration(), handler: @escaping HTTPHandler) {
        self.configuration = configuration
        let threads = HandlerThreads(limit: max(1, configuration.handlerThreadLimit))
        self.handlerThreads = threads
        self.makeCore = {
            ServerCore(configuration: configuration) { request, reply in
                threads.run { reply(handler(request)) }
            }
        }
    }

    /// A server whose handler is async (e.g. calls actors); see `AsyncHTTPHandler`.
    public init(
        configuration: HTTPServerConfiguration = HTTPServerConfiguration(),
        asyncHandler: @escaping AsyncHTTPHandler
    ) {
        self.configuration = configuration
        self.handlerThreads = nil
        self.makeCore = {
            ServerCore(configuration: configuration) { request, reply in
                Task { reply(await asyncHandler(request)) }
            }
        }
    }

    /// The port the server listens on (the real one when configured with 0); 0 before `start()`.
    public var port: UInt16 { lock.withLock { boundPort } }

    /// `http://address:port` (`https://` with `configuration.tls`) once started.
    public var baseURL: String {
        let host = configuration.address.contains(":") ? "[\(configuration.address)]" : configuration.address
        return "\(configuration.tls == nil ? "http" : "https")://\(host):\(port)"
    }

    /// Handler threads the system refused to start (a thread or memory limit); their requests waited for a
    /// running handler thread. Nonzero explains a request that took as long as the longest handler.
    public var handlerThreadStartFailures: Int { handlerThreads?.failedThreadStarts ?? 0 }

    /// True while `stop` is draining; long-poll handlers may check it to return early.
    public var isStopping: Bool { stopping.current }

    public func start() throws(HTTPServerError) {
        lock.lock()
        defer { lock.unlock() }
        guard running == nil else { throw .alreadyStarted }
        // A peer closing mid-download must not kill the process (sendfile may raise SIGPIPE).
        signal(SIGPIPE, SIG_IGN)
        stopping.withLock { $0 = false }
        if let tls = configuration.tls {
            do throws(TLSCredentialsError) { try tls.checkUsable() } catch { throw .tls(error) }
        }
        let started = try RunningDaemon.start(
            core: makeCore(), configuration: configuration, credentials: configuration.tls, listenSocket: nil)
        running = started
        credentials = configuration.tls
        boundPort = cmhd_bound_port(started.daemon)
    }

    /// Presents `newCredentials` to every connection accepted from now on, without closing the listening socket:
    /// the running daemon is quiesced (it hands the socket back and accepts no more), a new daemon starts on that
    /// socket with the new certificate, and the old one finishes its in-flight requests (up to
    /// `drainTimeoutSeconds`, longer than a 30 s long-poll) before it stops. Connections wait in the kernel's
    /// backlog for the moment between. A pair GnuTLS refuses is refused before anything changes.
    public func reloadCertificate(_ newCredentials: TLSCredentials, drainTimeoutSeconds: Double = 60)
        throws(HTTPServerError)
    {
        do throws(TLSCredentialsError) { try newCredentials.checkUsable() } catch { throw .tls(error) }
        lock.lock()
        guard let current = running, let previous = credentials else {
            lock.unlock()
            throw .notServingTLS
        }
        let listenSocket = MHD_quiesce_daemon(current.daemon)
        guard listenSocket >= 0 else {
            lock.unlock()
            throw .couldNotReload(reason: "libmicrohttpd did not hand back the listening socket (MHD_quiesce_daemon)")
        }
        var failure: HTTPServerError?
        do throws(HTTPServerError) {
            running = try RunningDaemon.start(
                core: makeCore(), configuration: configuration, credentials: newCredentials,
                listenSocket: listenSocket)
            credentials = newCredentials
        } catch {
            failure = error
            // Keep serving with the certificate that worked; only when even that fails is the socket closed.
            running = try? RunningDaemon.start(
                core: makeCore(), configuration: configuration, credentials: previous, listenSocket: listenSocket)
            if running == nil {
                close(listenSocket)
                boundPort = 0
            }
        }
        lock.unlock()
        current.drainAndStop(
            timeoutSeconds: drainTimeoutSeconds,
            refusal: configuration.errorResponse(503, "the server reloaded its certificate; retry the request"))
        if let failure { throw .couldNotReload(reason: failure.description) }
    }

    /// Stops accepting connections, waits up to `timeout` seconds for running handlers to finish, then
    /// shuts the daemon down. Requests whose handlers are still running after the timeout are answered 503 (their
    /// handlers finish on their own threads and their responses are discarded); the port is released either way.
    public func stop(timeoutSeconds: Double = 10) {
        let current = lock.withLock { () -> RunningDaemon? in
            defer {
                running = nil
                boundPort = 0
            }
            return running
        }
        guard let current else { return }
        stopping.withLock { $0 = true }
        current.core.isStopping = true
        let listenSocket = MHD_quiesce_daemon(current.daemon)
        if listenSocket >= 0 { close(listenSocket) }
        current.drainAndStop(
            timeoutSeconds: timeoutSeconds,
            refusal: configuration.errorResponse(
                503, "the server is stopping; retry the request (on another replica)"))
    }

    /// How long `stop` lets the event loop send its 503s to requests whose handlers outlived the timeout.
    static let stopAnswerSeconds = 1.0
    /// 50 ms for the event loop to see a resume whose request had already ended (it never counts as in flight).
    static let resumeSettleMicroseconds: UInt32 = 50_000

    deinit {
        running?.stopNow()
    }
}

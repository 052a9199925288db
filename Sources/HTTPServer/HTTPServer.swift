// HTTPServer: the only code that touches libmicrohttpd.
//
// Threading: one accept thread (AcceptLoop, on the server's own ListeningSocket) hands each connection to an epoll
// event loop on `eventThreadCount` threads (libmicrohttpd's thread pool), which reads requests and
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
    /// Guards `acceptLoop`, `credentials` and `boundPort`, and serializes start, reload and stop. Taken before
    /// `running`'s own lock, never after it.
    private let lock = NSLock()
    /// The daemon new connections go to. The accept thread holds this lock while it hands a connection over, so a
    /// daemon taken out of it (reload, stop) receives no connection afterwards.
    private let running = Locked<RunningDaemon?>(nil)
    /// Daemons a certificate reload is draining: their event threads are woken too (`EventThreadWaker`) until they
    /// leave this list, which is before they stop.
    private let draining = Locked<[RunningDaemon]>([])
    private var acceptLoop: AcceptLoop?
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

    /// What the running daemon holds now, for a test or an operator to see where requests wait: requests whose
    /// headers arrived and that are not answered yet, those of them whose handler runs, and connections
    /// libmicrohttpd refused when they were handed to it (since the daemon started).
    public var connectionCounts: HTTPConnectionCounts {
        guard let daemon = running.current else { return HTTPConnectionCounts() }
        return HTTPConnectionCounts(
            requestsInFlight: daemon.core.requestsInFlight, handlersRunning: daemon.core.handlersRunning,
            refusedAtHandOff: daemon.refusedConnections.current)
    }

    /// Event threads woken by `HTTPServerConfiguration.eventThreadWakeIntervalSeconds` since the running daemon
    /// started (`EventThreadWaker`).
    public var eventThreadWakes: Int { running.current?.eventThreadWakes.current ?? 0 }

    /// Event threads woken of the daemons a certificate reload is draining now (0 when none is).
    var eventThreadWakesOfDrainingDaemons: Int {
        draining.withLock { $0.reduce(0) { $0 + $1.eventThreadWakes.current } }
    }

    /// Counts since `start`, to tell where a request that never reached its handler was lost: accepted by the
    /// accept loop, headers read by libmicrohttpd (`requestsStarted`: since the running daemon started, which a
    /// reload replaces), handed to a handler thread, threads started.
    public var lifetimeCounts: HTTPLifetimeCounts {
        let threads = handlerThreads?.lifetime ?? (dispatched: 0, threadsStarted: 0)
        return HTTPLifetimeCounts(
            connectionsAccepted: lock.withLock { acceptLoop?.accepted.current ?? 0 },
            requestsStarted: running.current?.core.requestsStarted ?? 0,
            handlersDispatched: threads.dispatched, handlerThreadsStarted: threads.threadsStarted)
    }

    /// True while `stop` is draining; long-poll handlers may check it to return early.
    public var isStopping: Bool { stopping.current }

    public func start() throws(HTTPServerError) {
        lock.lock()
        defer { lock.unlock() }
        guard acceptLoop == nil else { throw .alreadyStarted }
        // A peer closing mid-download must not kill the process (sendfile may raise SIGPIPE).
        signal(SIGPIPE, SIG_IGN)
        stopping.withLock { $0 = false }
        if let tls = configuration.tls {
            do throws(TLSCredentialsError) { try tls.checkUsable() } catch { throw .tls(error) }
        }
        let listening = try ListeningSocket.bind(
            address: configuration.address, port: configuration.port,
            backlog: Int32(HTTPServerConfiguration.listenBacklog))
        do throws(HTTPServerError) {
            let started = try RunningDaemon.start(
                core: makeCore(), configuration: configuration, credentials: configuration.tls)
            running.withLock { $0 = started }
            let loop = try AcceptLoop(
                socket: listening, tickIntervalSeconds: configuration.eventThreadWakeIntervalSecondsInEffect,
                tick: { [running, draining] in
                    running.withLock { $0?.wakeEventThreads() }
                    draining.withLock { $0.forEach { $0.wakeEventThreads() } }
                }
            ) { [running] fileDescriptor, address, length in
                // Under the lock on purpose (a short call: libmicrohttpd queues the socket for one of its threads),
                // so that reload and stop know no connection reaches a daemon after they took it out.
                running.withLock { daemon in
                    guard let daemon else {
                        close(fileDescriptor)
                        return
                    }
                    daemon.add(connection: fileDescriptor, address: address, length: length)
                }
            }
            try loop.start()
            acceptLoop = loop
        } catch {
            running.withLock { $0 }?.stopNow()
            running.withLock { $0 = nil }
            close(listening.fileDescriptor)
            throw error
        }
        credentials = configuration.tls
        boundPort = listening.port
    }

    /// Presents `newCredentials` to every connection accepted from now on, without closing the listening socket:
    /// a new daemon starts with the new certificate, new connections go to it, and the old one finishes its
    /// in-flight requests (up to `drainTimeoutSeconds`, longer than a 30 s long-poll) before it stops. A pair
    /// GnuTLS refuses is refused before anything changes.
    public func reloadCertificate(_ newCredentials: TLSCredentials, drainTimeoutSeconds: Double = 60)
        throws(HTTPServerError)
    {
        do throws(TLSCredentialsError) { try newCredentials.checkUsable() } catch { throw .tls(error) }
        lock.lock()
        guard acceptLoop != nil, credentials != nil, let current = running.current else {
            lock.unlock()
            throw .notServingTLS
        }
        let next: RunningDaemon
        do throws(HTTPServerError) {
            next = try RunningDaemon.start(core: makeCore(), configuration: configuration, credentials: newCredentials)
        } catch {
            // The running daemon keeps serving with the certificate that worked.
            lock.unlock()
            throw .couldNotReload(reason: error.description)
        }
        running.withLock { $0 = next }
        credentials = newCredentials
        lock.unlock()
        draining.withLock { $0.append(current) }
        current.drain(
            timeoutSeconds: drainTimeoutSeconds,
            refusal: configuration.errorResponse(503, "the server reloaded its certificate; retry the request"))
        draining.withLock { $0.removeAll { $0 === current } }
        current.stopNow()
    }

    /// Stops accepting connections, waits up to `timeout` seconds for running handlers to finish, then
    /// shuts the daemon down. Requests whose handlers are still running after the timeout are answered 503 (their
    /// handlers finish on their own threads and their responses are discarded); the port is released either way.
    public func stop(timeoutSeconds: Double = 10) {
        let (loop, current) = lock.withLock { () -> (AcceptLoop?, RunningDaemon?) in
            defer {
                acceptLoop = nil
                boundPort = 0
            }
            return (
                acceptLoop,
                running.withLock { daemon in
                    defer { daemon = nil }
                    return daemon
                }
            )
        }
        guard let loop else { return }
        stopping.withLock { $0 = true }
        // The listening socket closes first: new connections are refused while the old ones drain.
        loop.stop()
        guard let current else { return }
        current.core.isStopping = true
        current.drain(
            timeoutSeconds: timeoutSeconds,
            refusal: configuration.errorResponse(
                503, "the server is stopping; retry the request (on another replica)"))
        current.stopNow()
    }

    /// How long `stop` lets the event loop send its 503s to requests whose handlers outlived the timeout.
    static let stopAnswerSeconds = 1.0
    /// 50 ms for the event loop to see a resume whose request had already ended (it never counts as in flight).
    static let resumeSettleMicroseconds: UInt32 = 50_000

    deinit {
        acceptLoop?.stop()
        running.current?.stopNow()
    }
}

/// `HTTPServer.lifetimeCounts`: each count only grows (requests of an async-handler server are not dispatched to
/// threads, so its last two stay 0).
public struct HTTPLifetimeCounts: Sendable, Equatable, CustomStringConvertible {
    public var connectionsAccepted: Int
    public var requestsStarted: Int
    public var handlersDispatched: Int
    public var handlerThreadsStarted: Int

    public init(connectionsAccepted: Int, requestsStarted: Int, handlersDispatched: Int, handlerThreadsStarted: Int) {
        self.connectionsAccepted = connectionsAccepted
        self.requestsStarted = requestsStarted
        self.handlersDispatched = handlersDispatched
        self.handlerThreadsStarted = handlerThreadsStarted
    }

    public var description: String {
        "connections accepted \(connectionsAccepted), requests whose headers arrived \(requestsStarted), "
            + "handlers dispatched \(handlersDispatched), handler threads started \(handlerThreadsStarted)"
    }
}

/// `HTTPServer.connectionCounts`.
public struct HTTPConnectionCounts: Sendable, Equatable, CustomStringConvertible {
    public var requestsInFlight = 0
    public var handlersRunning = 0
    public var refusedAtHandOff = 0

    public init(requestsInFlight: Int = 0, handlersRunning: Int = 0, refusedAtHandOff: Int = 0) {
        self.requestsInFlight = requestsInFlight
        self.handlersRunning = handlersRunning
        self.refusedAtHandOff = refusedAtHandOff
    }

    public var description: String {
        "requests in flight \(requestsInFlight), handlers running \(handlersRunning), "
            + "connections refused at hand-off \(refusedAtHandOff)"
    }
}

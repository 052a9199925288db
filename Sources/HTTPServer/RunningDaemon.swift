// One running libmicrohttpd daemon and the state its callbacks reach. `HTTPServer` hands new connections to one
// at a time; a certificate reload starts the next one, sends new connections there, and retires this one after
// its in-flight requests (docs/deploy.md, "TLS").

import CMicroHTTPD
import Foundation
import Primitives

final class RunningDaemon: @unchecked Sendable { // owns the daemon handle and the C copies of its TLS material
    let daemon: OpaquePointer
    let core: ServerCore
    private let retained: Unmanaged<ServerCore>
    /// The PEM text handed to libmicrohttpd, kept until the daemon stops; the key is zeroed before it is freed.
    private let keyPEM: UnsafeMutablePointer<CChar>?
    private let certificatePEM: UnsafeMutablePointer<CChar>?
    /// Connections `add` handed over and libmicrohttpd refused at once (it closed them).
    let refusedConnections = Locked(0)
    /// Event threads woken by `wakeEventThreads` since the daemon started.
    let eventThreadWakes = Locked(0)

    private init(
        daemon: OpaquePointer, core: ServerCore, retained: Unmanaged<ServerCore>,
        keyPEM: UnsafeMutablePointer<CChar>?, certificatePEM: UnsafeMutablePointer<CChar>?
    ) {
        self.daemon = daemon
        self.core = core
        self.retained = retained
        self.keyPEM = keyPEM
        self.certificatePEM = certificatePEM
    }

    /// Starts a daemon for `core` that listens nowhere (`AcceptLoop` hands it connections); HTTPS with
    /// `credentials`.
    static func start(
        core: ServerCore, configuration: HTTPServerConfiguration, credentials: TLSCredentials?
    ) throws(HTTPServerError) -> RunningDaemon {
        let retained = Unmanaged.passRetained(core)
        let keyPEM = credentials.map { strdup($0.privateKeyPEM) } ?? nil
        let certificatePEM = credentials.map { strdup($0.certificatePEM) } ?? nil
        let flags = UInt32(
            MHD_USE_EPOLL_INTERNAL_THREAD.rawValue | MHD_ALLOW_SUSPEND_RESUME.rawValue | MHD_USE_ERROR_LOG.rawValue)
        let limits = daemonLimits(configuration, fileDescriptorLimit: FileDescriptorLimit.raiseSoftToHard())
        let started = cmhd_start_endpoint_daemon(
            flags, cmhd_endpoint(key_pem: keyPEM, cert_pem: certificatePEM), limits,
            accessHandler, retained.toOpaque(), requestCompleted, retained.toOpaque())
        guard let started else {
            let reason = String(cString: strerror(errno))
            retained.release()
            freePEM(keyPEM, certificatePEM)
            throw .couldNotStart(address: configuration.address, port: configuration.port, reason: reason)
        }
        return RunningDaemon(
            daemon: started, core: core, retained: retained, keyPEM: keyPEM, certificatePEM: certificatePEM)
    }

    /// Waits up to `timeoutSeconds` for in-flight requests and answers handlers still running with `refusal`; the
    /// caller then stops the daemon (`stopNow`, which closes its connections).
    func drain(timeoutSeconds: Double, refusal: HTTPResponse) {
        core.isStopping = true
        _ = core.waitForIdle(timeoutSeconds: timeoutSeconds)
        // Even when idle: a connection can end (timeout) while suspended, and libmicrohttpd aborts the process when
        // it stops with one still suspended.
        let answered = core.answerSuspended(with: refusal)
        if answered > 0 {
            // Lets the event loop take the resumed connections off its suspended list and send those answers.
            _ = core.waitForIdle(timeoutSeconds: HTTPServer.stopAnswerSeconds)
            usleep(HTTPServer.resumeSettleMicroseconds)
        }
    }

    /// Gives libmicrohttpd an accepted connection; it closes the socket itself when it cannot take it (at the
    /// connection limit, or over the per-address limit).
    func add(connection fileDescriptor: Int32, address: UnsafePointer<sockaddr>, length: socklen_t) {
        guard !handOver(fileDescriptor, address, length) else { return }
        refusedConnections.withLock { $0 += 1 }
    }

    /// Wakes each event thread (`EventThreadWaker`); counts the threads woken in `eventThreadWakes`.
    func wakeEventThreads() {
        let woken = EventThreadWaker.wakeEveryThread(
            threadCount: max(1, core.configuration.eventThreadCount), handOver: handOver)
        eventThreadWakes.withLock { $0 += woken }
    }

    /// The one call of MHD_add_connection: true when libmicrohttpd took the socket; it closes it itself otherwise.
    private func handOver(_ fileDescriptor: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Bool {
        MHD_add_connection(daemon, fileDescriptor, address, length) == .YES
    }

    /// Stops the daemon at once (deinit of a server nobody stopped).
    func stopNow() {
        MHD_stop_daemon(daemon)
        retained.release()
        Self.freePEM(keyPEM, certificatePEM)
    }

    private static func freePEM(_ key: UnsafeMutablePointer<CChar>?, _ certificate: UnsafeMutablePointer<CChar>?) {
        if let key {
            memset(key, 0, strlen(key))
            free(key)
        }
        free(certificate)
    }
}

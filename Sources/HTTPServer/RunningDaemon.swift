// One running libmicrohttpd daemon and the state its callbacks reach. `HTTPServer` runs one at a time; a
// certificate reload starts the next one on the same listening socket and retires this one after its in-flight
// requests (docs/deploy.md, "TLS").

import CMicroHTTPD
import Foundation

final class RunningDaemon: @unchecked Sendable { // owns the daemon handle and the C copies of its TLS material
    let daemon: OpaquePointer
    let core: ServerCore
    private let retained: Unmanaged<ServerCore>
    /// The PEM text handed to libmicrohttpd, kept until the daemon stops; the key is zeroed before it is freed.
    private let keyPEM: UnsafeMutablePointer<CChar>?
    private let certificatePEM: UnsafeMutablePointer<CChar>?

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

    /// Starts a daemon for `core`: bound to the configured address, or on `listenSocket` (handed back by a quiesced
    /// daemon); HTTPS with `credentials`.
    static func start(
        core: ServerCore, configuration: HTTPServerConfiguration, credentials: TLSCredentials?,
        listenSocket: Int32?
    ) throws(HTTPServerError) -> RunningDaemon {
        let retained = Unmanaged.passRetained(core)
        let keyPEM = credentials.map { strdup($0.privateKeyPEM) } ?? nil
        let certificatePEM = credentials.map { strdup($0.certificatePEM) } ?? nil
        let flags = UInt32(
            MHD_USE_EPOLL_INTERNAL_THREAD.rawValue | MHD_ALLOW_SUSPEND_RESUME.rawValue | MHD_USE_ERROR_LOG.rawValue)
        let limits = daemonLimits(configuration, fileDescriptorLimit: FileDescriptorLimit.raiseSoftToHard())
        let started: OpaquePointer?
        do throws(HTTPServerError) {
            started = try withSocketAddress(configuration.address, port: configuration.port) { addr, isIPv6 in
                let endpoint = cmhd_endpoint(
                    addr: addr, listen_fd: listenSocket ?? -1, key_pem: keyPEM, cert_pem: certificatePEM)
                return cmhd_start_endpoint_daemon(
                    flags | (isIPv6 ? UInt32(MHD_USE_IPv6.rawValue) : 0), endpoint, limits,
                    accessHandler, retained.toOpaque(), requestCompleted, retained.toOpaque())
            }
        } catch {
            retained.release()
            freePEM(keyPEM, certificatePEM)
            throw error
        }
        guard let started else {
            let reason = String(cString: strerror(errno))
            retained.release()
            freePEM(keyPEM, certificatePEM)
            throw .couldNotStart(address: configuration.address, port: configuration.port, reason: reason)
        }
        return RunningDaemon(
            daemon: started, core: core, retained: retained, keyPEM: keyPEM, certificatePEM: certificatePEM)
    }

    /// Waits up to `timeoutSeconds` for in-flight requests, answers handlers still running with `refusal`, and
    /// stops the daemon (closing its connections; the listening socket too unless it was quiesced away).
    func drainAndStop(timeoutSeconds: Double, refusal: HTTPResponse) {
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
        stopNow()
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

/// Builds a sockaddr for `address:port` and hands it to `body`.
func withSocketAddress<T>(
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

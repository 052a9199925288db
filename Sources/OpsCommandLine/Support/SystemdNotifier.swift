// systemd's readiness protocol (sd_notify(3)) without libsystemd: one datagram of `KEY=VALUE` lines to the unix
// socket named by $NOTIFY_SOCKET. A unit with `Type=notify` counts the service as started at `READY=1`, so units
// ordered after it (workers on the same host) start once the API answers, not when the process was forked.

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

struct SystemdNotifier: Sendable {
    /// A filesystem path, or `@name` for the abstract namespace (systemd's own form of it).
    let socketPath: String

    /// The states the control plane sends.
    static let ready = "READY=1"
    static let stopping = "STOPPING=1"
    static let watchdog = "WATCHDOG=1"
    static let reloading = "RELOADING=1"

    /// Nil when the process was not started by a notify-type unit (no NOTIFY_SOCKET): notifying does nothing then.
    init?(environment: [String: String]) {
        guard let path = environment["NOTIFY_SOCKET"], !path.isEmpty else { return nil }
        socketPath = path
    }

    /// Sends `state` (one or more `KEY=VALUE` lines) as one datagram.
    func send(_ state: String) throws(SystemdNotifyError) {
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw .socket(path: socketPath, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var pathBytes = Array(socketPath.utf8)
        // `@name`: an abstract socket, whose name starts with a NUL byte and is not NUL-terminated.
        let isAbstract = pathBytes.first == UInt8(ascii: "@")
        if isAbstract { pathBytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity else {
            throw .socket(path: socketPath, reason: "longer than the \(capacity - 1) bytes a unix socket path may have")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
        }
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path) ?? 2
        let length = socklen_t(pathOffset + pathBytes.count + (isAbstract ? 0 : 1))
        let payload = Array(state.utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                sendto(descriptor, payload, payload.count, Int32(MSG_NOSIGNAL), socketAddress, length)
            }
        }
        guard sent == payload.count else {
            throw .socket(path: socketPath, reason: String(cString: strerror(errno)))
        }
    }

    /// The watchdog interval systemd asked for (`WatchdogSec=` → WATCHDOG_USEC), when it is meant for this process.
    static func watchdogIntervalSeconds(environment: [String: String], pid: Int32 = getpid()) -> Double? {
        guard let text = environment["WATCHDOG_USEC"], let microseconds = Double(text), microseconds > 0 else {
            return nil
        }
        if let owner = environment["WATCHDOG_PID"], Int32(owner) != pid { return nil }
        return microseconds / 1_000_000
    }
}

enum SystemdNotifyError: Error, CustomStringConvertible, Equatable {
    case socket(path: String, reason: String)

    var description: String {
        switch self {
        case .socket(let path, let reason):
            return "could not notify systemd through NOTIFY_SOCKET=\(path): \(reason)"
        }
    }
}

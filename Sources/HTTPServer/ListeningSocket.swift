// The server's listening socket, owned here rather than by libmicrohttpd.
//
// Why not let libmicrohttpd listen: the only way to make its epoll thread-pool daemon stop accepting (to drain on
// stop, or to hand the socket to the next daemon on a certificate reload) is MHD_quiesce_daemon, and in 0.9.75
// (Debian 12) that call races the daemon's own worker threads: both remove the listening socket from a worker's
// epoll set, and the loser's `epoll_ctl` fails with ENOENT, which libmicrohttpd answers with MHD_PANIC — abort().
// It killed the whole test process once in CI (2026-12-06, "Failed to remove listen FD from epoll set", while a
// test stopped its server). With the socket ours, daemons start with MHD_USE_NO_LISTEN_SOCKET, `AcceptLoop`
// accepts and hands each connection to the current daemon (MHD_add_connection), and stopping or reloading never
// quiesces anything.

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

struct ListeningSocket: Sendable {
    let fileDescriptor: Int32
    /// The real port (the kernel's choice when configured with 0).
    let port: UInt16

    /// Binds `address:port` (IPv4 or IPv6 literal), listens with `backlog`, non-blocking and close-on-exec.
    static func bind(address: String, port: UInt16, backlog: Int32) throws(HTTPServerError) -> ListeningSocket {
        try withSocketAddress(address, port: port) { (addr, isIPv6) throws(HTTPServerError) -> ListeningSocket in
            let family = isIPv6 ? AF_INET6 : AF_INET
            let fd = socket(
                family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw failure(address, port, "socket") }
            do throws(HTTPServerError) {
                // A restarted control plane rebinds its port at once instead of waiting out TIME_WAIT (60 s).
                try setOption(fd, SOL_SOCKET, SO_REUSEADDR, address, port)
                if isIPv6 { try setOption(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, address, port) }
                let length = socklen_t(isIPv6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size)
                guard Glibc.bind(fd, addr, length) == 0 else { throw failure(address, port, "bind") }
                guard listen(fd, backlog) == 0 else { throw failure(address, port, "listen") }
                return ListeningSocket(fileDescriptor: fd, port: try boundPort(fd, address, port))
            } catch {
                close(fd)
                throw error
            }
        }
    }

    private static func setOption(
        _ fd: Int32, _ level: Int32, _ name: Int32, _ address: String, _ port: UInt16
    ) throws(HTTPServerError) {
        var on: Int32 = 1
        guard setsockopt(fd, level, name, &on, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            throw failure(address, port, "setsockopt")
        }
    }

    private static func boundPort(_ fd: Int32, _ address: String, _ port: UInt16) throws(HTTPServerError) -> UInt16 {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let read = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard read == 0 else { throw failure(address, port, "getsockname") }
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
            }
        default:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
            }
        }
    }

    private static func failure(_ address: String, _ port: UInt16, _ call: String) -> HTTPServerError {
        .couldNotStart(address: address, port: port, reason: "\(call): \(String(cString: strerror(errno)))")
    }
}

/// Builds a sockaddr for `address:port` and hands it to `body`.
func withSocketAddress<T>(
    _ address: String, port: UInt16,
    _ body: (UnsafePointer<sockaddr>, Bool) throws(HTTPServerError) -> T
) throws(HTTPServerError) -> T {
    var v4 = sockaddr_in()
    if inet_pton(AF_INET, address, &v4.sin_addr) == 1 {
        v4.sin_family = sa_family_t(AF_INET)
        v4.sin_port = port.bigEndian
        return try withUnsafePointer(to: &v4) { (pointer) throws(HTTPServerError) -> T in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (addr) throws(HTTPServerError) -> T in
                try body(addr, false)
            }
        }
    }
    var v6 = sockaddr_in6()
    if inet_pton(AF_INET6, address, &v6.sin6_addr) == 1 {
        v6.sin6_family = sa_family_t(AF_INET6)
        v6.sin6_port = port.bigEndian
        return try withUnsafePointer(to: &v6) { (pointer) throws(HTTPServerError) -> T in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (addr) throws(HTTPServerError) -> T in
                try body(addr, true)
            }
        }
    }
    throw .invalidAddress(address)
}

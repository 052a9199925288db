// Wakes every event thread of a daemon by handing each a connection that closes at once.
//
// Why: libmicrohttpd 0.9.75's epoll loop (`MHD_epoll`, daemon.c) reads at most 128 events per epoll_wait and calls
// it again while a call returns exactly 128, each time with the timeout computed before the first call: the
// deadline of its longest-idle connection. When a thread's ready connections number exactly a multiple of 128 and
// nothing more happens, that repeated call sleeps until the deadline with the ready requests unread; on waking, the
// thread handles idle timeouts first, and a connection whose request was never read looks idle since it was
// accepted, so it is closed unanswered (30 s later by default). Any event ends the sleep early. A new connection
// is one: `MHD_add_connection` queues it for the thread whose index is the socket's number modulo the thread count
// and signals that thread. So a wake hands each thread one end of a socket pair whose other end is already closed;
// the thread reads end-of-file and closes it, and goes on to the requests it had left waiting. Reproduced and
// fixed in `EventThreadWakeTests`; docs/security.md, "Connection floods".

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

enum EventThreadWaker {
    /// Tries to find a descriptor number with the wanted remainder before giving that thread up for this wake;
    /// numbers in between are taken by other threads' files, so a few tries nearly always suffice.
    static let maximumTriesPerThread = 64

    /// Gives the daemon a connection (`RunningDaemon.handOver`, MHD_add_connection); true when it took it. The daemon
    /// owns the socket either way.
    typealias HandOver = (_ fileDescriptor: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Bool

    /// Hands each of `threadCount` event threads a connection that has already ended, through `handOver`. Returns
    /// how many threads were woken (a thread is skipped when no socket pair or descriptor number was to be had).
    static func wakeEveryThread(threadCount: Int, handOver: HandOver) -> Int {
        precondition(threadCount >= 1, "a daemon has at least one event thread")
        let modulus = Int32(clamping: threadCount)
        return (0..<modulus).reduce(0) { woken, thread in
            woken + (handOverEndedConnection(thread: thread, of: modulus, handOver) ? 1 : 0)
        }
    }

    private static func handOverEndedConnection(thread: Int32, of modulus: Int32, _ handOver: HandOver) -> Bool {
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            return false
        }
        let (ours, peer) = (pair[0], pair[1])
        defer { close(peer) } // after the hand-over: the thread then reads end-of-file at once
        guard let handed = descriptor(duplicating: ours, remainder: thread, modulo: modulus) else {
            close(ours)
            return false
        }
        if handed != ours { close(ours) }
        // An AF_UNIX address: libmicrohttpd counts only IPv4 and IPv6 addresses against the per-address limit.
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                handOver(handed, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
    }

    /// `descriptor` itself when its number has `remainder` modulo `modulus`, else a close-on-exec duplicate whose
    /// number has; nil when none was found within `maximumTriesPerThread`.
    static func descriptor(duplicating descriptor: Int32, remainder: Int32, modulo modulus: Int32) -> Int32? {
        precondition(modulus >= 1 && (0..<modulus).contains(remainder), "a remainder below its modulus")
        if descriptor % modulus == remainder { return descriptor }
        var lowest = descriptor
        for _ in 0..<maximumTriesPerThread {
            let wanted = lowest + (remainder - lowest % modulus + modulus) % modulus
            let duplicate = fcntl(descriptor, F_DUPFD_CLOEXEC, wanted)
            guard duplicate >= 0 else { return nil }
            if duplicate % modulus == remainder { return duplicate }
            close(duplicate)
            lowest = duplicate + 1
        }
        return nil
    }
}

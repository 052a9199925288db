// One thread that accepts connections on the server's `ListeningSocket` and hands each to the current daemon
// (see ListeningSocket for why libmicrohttpd does not accept them itself). accept() is the cheap part of a
// connection — a 10,000-connection flood is accepted in well under a second by one thread; reading, TLS and
// writing stay on the daemon's epoll threads.

import Foundation
import Primitives

#if canImport(Glibc)
    import Glibc
#endif

final class AcceptLoop: @unchecked Sendable { // the descriptors are set once in init; `stop` joins the thread
    /// Takes ownership of an accepted, non-blocking connection (it must close it if it cannot serve it).
    typealias HandOff =
        @Sendable (_ fileDescriptor: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t)
        -> Void

    let socket: ListeningSocket
    private let handOff: HandOff
    /// Called on the loop's thread at most every `tickIntervalNanoseconds`, while connections arrive or not (0:
    /// never): the server wakes its event threads from here (`EventThreadWaker`).
    private let tick: @Sendable () -> Void
    private let tickIntervalNanoseconds: UInt64
    /// Written once by `stop` to wake the thread out of poll().
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let finished = DispatchSemaphore(value: 0)
    private let stopped = Locked(false)
    /// Connections accept() returned since the loop started (diagnostics: a request that never reached a handler
    /// was either never accepted or lost after this point).
    let accepted = Locked(0)

    /// When accept() fails for want of descriptors or memory, the loop waits this long before trying again rather
    /// than spinning on a socket that stays readable; connections wait in the backlog meanwhile.
    static let exhaustedRetryMicroseconds: UInt32 = 10_000
    /// The loop's own thread needs little stack: poll, accept and one call into libmicrohttpd.
    static let stackBytes = 256 * 1024

    init(
        socket: ListeningSocket, tickIntervalSeconds: Double, tick: @escaping @Sendable () -> Void,
        handOff: @escaping HandOff
    ) throws(HTTPServerError) {
        precondition(tickIntervalSeconds >= 0 && tickIntervalSeconds.isFinite, "a tick interval of 0 or more seconds")
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            throw .couldNotStart(
                address: "accept loop", port: socket.port, reason: "pipe2: \(String(cString: strerror(errno)))")
        }
        self.socket = socket
        self.handOff = handOff
        self.tick = tick
        tickIntervalNanoseconds = UInt64(tickIntervalSeconds * 1e9)
        wakeRead = fds[0]
        wakeWrite = fds[1]
        for fd in fds { Self.makeNonBlockingCloseOnExec(fd) }
    }

    /// accept4 and pipe2 are GNU extensions Glibc's Swift module does not export; two fcntl calls do the same.
    private static func makeNonBlockingCloseOnExec(_ fd: Int32) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        _ = fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC)
    }

    func start() throws(HTTPServerError) {
        let started = ThreadStart.detached(stackBytes: Self.stackBytes) { [self] in
            run()
            finished.signal()
        }
        guard started else {
            throw .couldNotStart(
                address: "accept loop", port: socket.port, reason: "the system refused to start a thread")
        }
    }

    /// Stops accepting, waits for the thread, and closes the listening socket; connections still in the backlog
    /// are reset by the kernel. Idempotent.
    func stop() {
        let first = stopped.withLock { wasStopped -> Bool in
            defer { wasStopped = true }
            return !wasStopped
        }
        guard first else { return }
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
        finished.wait()
        close(socket.fileDescriptor)
        close(wakeRead)
        close(wakeWrite)
    }

    private func run() {
        var descriptors = [
            pollfd(fd: socket.fileDescriptor, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
        ]
        var lastTick = DispatchTime.now().uptimeNanoseconds
        while true {
            let ready = poll(&descriptors, nfds_t(descriptors.count), millisecondsUntilTick(after: lastTick))
            if ready < 0 && errno == EINTR { continue }
            if descriptors[1].revents != 0 || ready < 0 { return }
            if ready > 0 { acceptAllPending() }
            let now = DispatchTime.now().uptimeNanoseconds
            if tickIntervalNanoseconds > 0 && now - lastTick >= tickIntervalNanoseconds {
                lastTick = now
                tick()
            }
        }
    }

    /// poll()'s timeout: until the next tick is due (at least 1 ms), or forever without ticks.
    private func millisecondsUntilTick(after lastTick: UInt64) -> Int32 {
        guard tickIntervalNanoseconds > 0 else { return -1 }
        let elapsed = DispatchTime.now().uptimeNanoseconds - lastTick
        let remaining = tickIntervalNanoseconds > elapsed ? tickIntervalNanoseconds - elapsed : 0
        return max(1, Int32(clamping: remaining / 1_000_000))
    }

    /// Accepts until the backlog is empty (the socket is non-blocking), handing each connection off.
    private func acceptAllPending() {
        while true {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let connection = withUnsafeMutablePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    accept(socket.fileDescriptor, $0, &length)
                }
            }
            if connection >= 0 {
                accepted.withLock { $0 += 1 }
                Self.makeNonBlockingCloseOnExec(connection)
                withUnsafePointer(to: &storage) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { handOff(connection, $0, length) }
                }
                continue
            }
            switch errno {
            case EINTR, ECONNABORTED, EPROTO: continue
            case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                usleep(Self.exhaustedRetryMicroseconds)
                return
            default: return // EAGAIN: the backlog is empty
            }
        }
    }
}

import CPostgres
import Foundation
import Primitives

// LISTEN/NOTIFY on a dedicated connection and thread. The thread sleeps in poll() on the
// connection's socket and a wake-up pipe, so waiting costs no CPU. When the connection breaks
// (server restart) it reconnects with backoff, re-LISTENs, and reports `.listening(mayHaveMissed: true)`
// so subscribers re-check the state they were waiting for.

public final class PostgresListener: @unchecked Sendable {
    public enum Event: Sendable, Equatable {
        case notification(channel: String, payload: String)
        /// LISTEN is in effect on every channel. After a reconnect `mayHaveMissed` is true:
        /// notifications sent while disconnected are lost, so re-check whatever you wait for.
        case listening(mayHaveMissed: Bool)
    }

    public let conninfo: String
    private let handler: @Sendable (Event) -> Void
    private let lock = NSCondition()
    private var channels: Set<String>
    private var listened: Set<String> = []
    private var stopping = false
    private var running = false
    private var listening = false
    private var threadDone = false
    private var wakeRead: Int32 = -1
    private var wakeWrite: Int32 = -1

    /// Starts listening on `channels` right away; `handler` is called on the listener's thread.
    public init(conninfo: String, channels: [String] = [], handler: @escaping @Sendable (Event) -> Void) {
        self.conninfo = conninfo
        self.channels = Set(channels)
        self.handler = handler
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) == 0 {
            wakeRead = fds[0]
            wakeWrite = fds[1]
            _ = fcntl(wakeRead, F_SETFL, fcntl(wakeRead, F_GETFL) | O_NONBLOCK)
            _ = fcntl(wakeWrite, F_SETFL, fcntl(wakeWrite, F_GETFL) | O_NONBLOCK)
        }
        running = true
        let thread = Thread { [self] in self.run() }
        thread.name = "postgres-listener"
        thread.start()
    }

    /// A listener whose events arrive as an AsyncStream. Stop the listener to finish the stream.
    public static func stream(conninfo: String, channels: [String]) -> (PostgresListener, AsyncStream<Event>) {
        let (stream, continuation) = AsyncStream<Event>.makeStream(bufferingPolicy: .bufferingNewest(10_000))
        let listener = PostgresListener(conninfo: conninfo, channels: channels) { continuation.yield($0) }
        listener.onStop = { continuation.finish() }
        return (listener, stream)
    }

    private var onStop: (@Sendable () -> Void)?

    deinit { stop() }

    /// Adds channels; they are LISTENed to on the running connection (and after every reconnect).
    public func listen(channels newChannels: [String]) {
        lock.lock()
        channels.formUnion(newChannels)
        lock.unlock()
        wake()
    }

    /// True while LISTEN is in effect on all requested channels.
    public var isListening: Bool {
        lock.lock()
        defer { lock.unlock() }
        return listening && listened.isSuperset(of: channels)
    }

    /// Blocks until LISTEN is in effect (or the timeout passes); returns whether it is.
    @discardableResult
    public func waitUntilListening(timeoutSeconds: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        lock.lock()
        defer { lock.unlock() }
        while !(listening && listened.isSuperset(of: channels)) {
            if !lock.wait(until: deadline) { return false }
        }
        return true
    }

    /// Stops the thread and closes the connection. Idempotent; waits for the thread to finish.
    public func stop() {
        lock.lock()
        if !running {
            lock.unlock()
            return
        }
        stopping = true
        lock.unlock()
        wake()
        lock.lock()
        while !threadDone { lock.wait() }
        running = false
        lock.unlock()
        if wakeRead >= 0 { Foundation.close(wakeRead) }
        if wakeWrite >= 0 { Foundation.close(wakeWrite) }
        wakeRead = -1
        wakeWrite = -1
        onStop?()
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    private func drainWakePipe() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(wakeRead, &buffer, buffer.count) > 0 {}
    }

    private var isStopping: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopping
    }

    /// Sleeps up to `seconds`, waking early on stop().
    private func pause(_ seconds: Double) {
        var pfd = pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)
        _ = poll(&pfd, 1, Int32(seconds * 1000))
        drainWakePipe()
    }

    private func setListening(_ value: Bool, listened newListened: Set<String>) {
        lock.lock()
        listening = value
        listened = newListened
        lock.broadcast()
        lock.unlock()
    }

    private func run() {
        var hadConnection = false
        let backoff = ExponentialBackoff(initialSeconds: 0.05, maximumSeconds: 2)
        var failures = 0
        while !isStopping {
            guard let connection = try? PostgresConnection(conninfo: conninfo, applicationName: "llm-ops-listener")
            else {
                failures += 1
                pause(backoff.delaySeconds(afterFailures: failures))
                continue
            }
            failures = 0
            if serve(connection, afterReconnect: hadConnection) { hadConnection = true }
            connection.close()
            setListening(false, listened: [])
        }
        lock.lock()
        threadDone = true
        lock.broadcast()
        lock.unlock()
    }

    /// LISTENs and delivers notifications until the connection breaks or stop() is called.
    /// Returns whether LISTEN ever took effect.
    private func serve(_ connection: PostgresConnection, afterReconnect: Bool) -> Bool {
        var active = Set<String>()
        func listenToNewChannels() -> Bool {
            lock.lock()
            let wanted = channels
            lock.unlock()
            for channel in wanted.subtracting(active) {
                guard let quoted = try? connection.quoteIdentifier(channel),
                    (try? connection.execute("LISTEN \(quoted)")) != nil
                else { return false }
                active.insert(channel)
            }
            return true
        }
        guard listenToNewChannels() else { return false }
        setListening(true, listened: active)
        handler(.listening(mayHaveMissed: afterReconnect))
        guard let handle = connection.rawHandle else { return true }
        while !isStopping {
            let socket = PQsocket(handle)
            guard socket >= 0 else { return true }
            var fds = [
                pollfd(fd: socket, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
            ]
            // A long timeout only to notice silently dead connections via PQstatus; no CPU while idle.
            let ready = poll(&fds, 2, 30_000)
            if ready < 0 && errno != EINTR { return true }
            if fds[1].revents != 0 {
                drainWakePipe()
                if isStopping { return true }
                guard listenToNewChannels() else { return true }
                setListening(true, listened: active)
            }
            if fds[0].revents != 0 {
                if PQconsumeInput(handle) == 0 { return true }
            }
            while let notice = PQnotifies(handle) {
                let channel = String(cString: notice.pointee.relname)
                let payload = notice.pointee.extra.map { String(cString: $0) } ?? ""
                PQfreemem(notice)
                handler(.notification(channel: channel, payload: payload))
            }
            if PQstatus(handle) != CONNECTION_OK { return true }
        }
        return true
    }
}

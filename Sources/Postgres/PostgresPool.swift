import Foundation
import Primitives

// A small bounded pool of connections, safe to share between threads. Each checkout gets a
// connection for the exclusive use of one closure. Broken connections (server restarted, network
// cut) are noticed on checkout or after a failed statement and replaced, so the pool recovers by
// itself after a PostgreSQL restart.

public final class PostgresPool: @unchecked Sendable {
    public let conninfo: String
    public let maxConnections: Int
    /// How long a checkout waits for a free connection before failing.
    public let checkoutTimeoutSeconds: TimeInterval
    private let applicationName: String

    private let condition = NSCondition()
    private var idle: [PostgresConnection] = []
    private var openCount = 0
    private var closed = false

    public init(conninfo: String, maxConnections: Int = 8, checkoutTimeoutSeconds: TimeInterval = 30,
                applicationName: String = "llm-ops") {
        precondition(maxConnections >= 1, "a pool needs at least one connection")
        self.conninfo = conninfo
        self.maxConnections = maxConnections
        self.checkoutTimeoutSeconds = checkoutTimeoutSeconds
        self.applicationName = applicationName
    }

    deinit { close() }

    /// Closes idle connections; connections in use are closed when returned.
    public func close() {
        condition.lock()
        closed = true
        let toClose = idle
        idle.removeAll()
        openCount -= toClose.count
        condition.broadcast()
        condition.unlock()
        toClose.forEach { $0.close() }
    }

    /// Connections currently open (idle + in use).
    public var openConnections: Int {
        condition.lock(); defer { condition.unlock() }
        return openCount
    }

    /// Runs `body` with a connection of its own. The connection must not escape the closure.
    @discardableResult
    public func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        let connection = try checkout()
        do {
            let value = try body(connection)
            checkin(connection)
            return value
        } catch {
            checkin(connection)
            throw error
        }
    }

    /// Runs `body` in a transaction. Serialization failures and deadlocks (rolled back by the server)
    /// are retried up to `conflictRetries` times, so `body` must not have effects outside the database.
    @discardableResult
    public func transaction<T>(isolation: IsolationLevel? = nil, conflictRetries: Int = 5,
                               _ body: (PostgresConnection) throws -> T) throws -> T {
        var attempt = 0
        while true {
            do {
                return try withConnection { try $0.transaction(isolation: isolation, body) }
            } catch let error as PostgresError where error.isTransientConflict && attempt < conflictRetries {
                attempt += 1
                Thread.sleep(forTimeInterval: Double.random(in: 0.001...0.005) * Double(attempt))
            }
        }
    }

    /// 50 ms, doubling to 1 s: a restarting server is back within a few seconds, and waiting longer than 1 s
    /// between tries would only add to the outage.
    static let reconnectBackoff = ExponentialBackoff(initialSeconds: 0.05, maximumSeconds: 1)

    /// Retries `operation` when the connection is lost (e.g. the server restarts), with backoff,
    /// for up to `timeout` seconds. Only for idempotent operations: a lost COMMIT may have applied.
    /// Throws `CancellationError` instead of retrying once `shouldStop` is true.
    @discardableResult
    public func retryingOnConnectionLoss<T>(timeoutSeconds: TimeInterval = 30, shouldStop: () -> Bool = { false },
                                            _ operation: () throws -> T) throws -> T {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        var failures = 0
        while true {
            do {
                return try operation()
            } catch let error as PostgresError where error.isConnectionLost && Date() < deadline {
                if shouldStop() { throw CancellationError() }
                failures += 1
                Thread.sleep(forTimeInterval: Self.reconnectBackoff.delaySeconds(afterFailures: failures))
            }
        }
    }

    private func checkout() throws -> PostgresConnection {
        let deadline = Date().addingTimeInterval(checkoutTimeoutSeconds)
        condition.lock()
        while true {
            if closed {
                condition.unlock()
                throw PostgresError.connectionFailed(message: "the connection pool is closed")
            }
            if let connection = idle.popLast() {
                condition.unlock()
                if connection.isHealthy { return connection }
                connection.close()
                condition.lock()
                openCount -= 1
                continue
            }
            if openCount < maxConnections {
                openCount += 1
                condition.unlock()
                do {
                    return try PostgresConnection(conninfo: conninfo, applicationName: applicationName)
                } catch {
                    condition.lock()
                    openCount -= 1
                    condition.signal()
                    condition.unlock()
                    throw error
                }
            }
            if !condition.wait(until: deadline) {
                condition.unlock()
                throw PostgresError.connectionFailed(
                    message: "no free connection after \(Int(checkoutTimeoutSeconds))s (pool of \(maxConnections) exhausted)")
            }
        }
    }

    private func checkin(_ connection: PostgresConnection) {
        let reusable = connection.isHealthy
        condition.lock()
        if reusable && !closed {
            idle.append(connection)
        } else {
            openCount -= 1
        }
        condition.signal()
        condition.unlock()
        if !reusable || closed { connection.close() }
    }
}

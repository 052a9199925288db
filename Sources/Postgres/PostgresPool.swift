import Foundation
import Primitives

// A small bounded pool of connections, safe to share between threads. Each checkout gets a
// connection for the exclusive use of one closure. Broken connections (server restarted, network
// cut) are noticed on checkout or after a failed statement and replaced, so the pool recovers by
// itself after a PostgreSQL restart.

public final class PostgresPool: Sendable {
    public let conninfo: String
    public let maxConnections: Int
    /// How long a checkout waits for a free connection before failing.
    public let checkoutTimeoutSeconds: TimeInterval
    /// How long `retryingOnConnectionLoss` keeps trying when not told otherwise. A server that answers
    /// requests sets it short (the control plane: 3 s) so a caller learns of an outage before its own timeout.
    public let connectionLossRetrySeconds: TimeInterval
    private let applicationName: String

    /// Idle connections and the count of open ones; a checkout waits on it for a connection to come back.
    private let state = Guarded(State())
    private struct State {
        var idle: [PostgresConnection] = []
        var openCount = 0
        var closed = false
        /// Checkouts blocked now, and all that ever blocked (`usage`).
        var waiting = 0
        var waitsTotal = 0
    }

    public init(
        conninfo: String, maxConnections: Int = 8, checkoutTimeoutSeconds: TimeInterval = 30,
        connectionLossRetrySeconds: TimeInterval = 30, applicationName: String = "llm-ops"
    ) {
        precondition(maxConnections >= 1, "a pool needs at least one connection")
        precondition(connectionLossRetrySeconds >= 0, "a retry window cannot be negative")
        self.conninfo = conninfo
        self.maxConnections = maxConnections
        self.checkoutTimeoutSeconds = checkoutTimeoutSeconds
        self.connectionLossRetrySeconds = connectionLossRetrySeconds
        self.applicationName = applicationName
    }

    deinit { close() }

    /// Closes idle connections; connections in use are closed when returned.
    public func close() {
        let toClose = state.update { state -> [PostgresConnection] in
            defer { state.idle.removeAll() }
            state.closed = true
            state.openCount -= state.idle.count
            return state.idle
        }
        toClose.forEach { $0.close() }
    }

    /// Connections currently open (idle + in use).
    public var openConnections: Int {
        state.withLock { $0.openCount }
    }

    /// Connections lent, idle and waited for, read under the pool's lock.
    public var usage: PostgresPoolUsage {
        state.withLock { state in
            PostgresPoolUsage(
                maxConnections: maxConnections, inUse: state.openCount - state.idle.count, idle: state.idle.count,
                waiting: state.waiting, waitsTotal: state.waitsTotal)
        }
    }

    /// Runs `body` with a connection of its own. The connection must not escape the closure.
    /// The settings bound in `PostgresSessionSettings` hold for this checkout only.
    @discardableResult
    public func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        let connection = try checkout()
        let settings = PostgresSessionSettings.current
        do {
            try connection.applySessionSettings(settings)
            let value = try body(connection)
            checkin(connection, clearing: settings)
            return value
        } catch {
            checkin(connection, clearing: settings)
            throw error
        }
    }

    /// Runs `body` in a transaction. Serialization failures and deadlocks (rolled back by the server)
    /// are retried up to `conflictRetries` times, so `body` must not have effects outside the database.
    @discardableResult
    public func transaction<T>(
        isolation: IsolationLevel? = nil, conflictRetries: Int = 5,
        _ body: (PostgresConnection) throws -> T
    ) throws -> T {
        try retryingConflicts(conflictRetries: conflictRetries) {
            try withConnection { try $0.transaction(isolation: isolation, body) }
        }
    }

    /// Runs `operation` again when the server rolled it back for a serialization failure or a deadlock, up to
    /// `conflictRetries` times: a transaction (`transaction`), or one statement run outside an explicit
    /// transaction, which the server rolls back the same way. `operation` must not have effects outside the
    /// database.
    public func retryingConflicts<T>(conflictRetries: Int = 5, _ operation: () throws -> T) throws -> T {
        var attempt = 0
        while true {
            do {
                return try operation()
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
    /// for up to `timeoutSeconds` (nil: the pool's `connectionLossRetrySeconds`). Only for idempotent
    /// operations: a lost COMMIT may have applied. Throws `CancellationError` instead of retrying once
    /// `shouldStop` is true.
    @discardableResult
    public func retryingOnConnectionLoss<T>(
        timeoutSeconds: TimeInterval? = nil, shouldStop: () -> Bool = { false },
        _ operation: () throws -> T
    ) throws -> T {
        let deadline = Date().addingTimeInterval(timeoutSeconds ?? connectionLossRetrySeconds)
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

    /// What a checkout found under the lock.
    private enum Checkout {
        case idle(PostgresConnection)
        case mayOpen, closed
    }

    private func checkout() throws -> PostgresConnection {
        let deadline = Date().addingTimeInterval(checkoutTimeoutSeconds)
        while true {
            var waited = false
            let found = state.wait(until: deadline) { state -> Checkout? in
                let found = Self.take(&state, maxConnections: maxConnections)
                // Counted once per blocked checkout, and no longer waiting once it leaves (found or not).
                if found == nil && !waited {
                    waited = true
                    state.waiting += 1
                    state.waitsTotal += 1
                }
                return found
            }
            if waited { state.withLock { $0.waiting -= 1 } }
            switch found {
            case nil:
                throw PostgresError.connectionFailed(
                    message:
                        "no free connection after \(Int(checkoutTimeoutSeconds))s (pool of \(maxConnections) exhausted)"
                )
            case .closed?:
                throw PostgresError.connectionFailed(message: "the connection pool is closed")
            case .idle(let connection)?:
                if connection.isHealthy { return connection }
                connection.close()
                state.update { $0.openCount -= 1 }
            case .mayOpen?:
                do {
                    return try PostgresConnection(conninfo: conninfo, applicationName: applicationName)
                } catch {
                    state.update { $0.openCount -= 1 }
                    throw error
                }
            }
        }
    }

    /// One try of a checkout under the lock: an idle connection, leave to open one, or nil to wait.
    private static func take(_ state: inout State, maxConnections: Int) -> Checkout? {
        if state.closed { return .closed }
        if let connection = state.idle.popLast() { return .idle(connection) }
        guard state.openCount < maxConnections else { return nil }
        state.openCount += 1
        return .mayOpen
    }

    /// Returns `connection` to the pool with `settings` cleared; one that cannot be cleared is closed instead, so
    /// no later checkout inherits them.
    private func checkin(_ connection: PostgresConnection, clearing settings: [String: String]) {
        if !settings.isEmpty && connection.isHealthy {
            do { try connection.applySessionSettings(settings, clearing: true) } catch { connection.close() }
        }
        checkin(connection)
    }

    private func checkin(_ connection: PostgresConnection) {
        let reusable = connection.isHealthy
        let keep = state.update { state -> Bool in
            guard reusable && !state.closed else {
                state.openCount -= 1
                return false
            }
            state.idle.append(connection)
            return true
        }
        if !keep { connection.close() }
    }
}

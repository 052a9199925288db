import CPostgres
import Foundation

// One libpq connection. Not thread-safe: use it from one thread at a time (the pool hands each
// connection to one caller at a time). Sessions run with TimeZone=UTC and ISO dates so timestamps
// parse the same everywhere.

public enum IsolationLevel: String, Sendable {
    case readCommitted = "READ COMMITTED"
    case repeatableRead = "REPEATABLE READ"
    case serializable = "SERIALIZABLE"
}

public final class PostgresConnection {
    private var handle: OpaquePointer?
    public let conninfo: String
    /// Statements sent on this connection, each one round trip (`query`, `executeScriptText`): what a test
    /// counts to hold a hot path to its number of round trips (docs/leases.md).
    public private(set) var statementsSent = 0
    /// Statements prepared on this connection by `query(prepared:)`: SQL text → server-side name.
    private var preparedNames: [String: String] = [:]

    /// Connects; `conninfo` is a libpq keyword string (`host=127.0.0.1 port=5432 dbname=ops`) or a URL
    /// (`postgresql://user@127.0.0.1:5432/ops`).
    public init(conninfo: String, applicationName: String = "llm-ops", connectTimeoutSeconds: Int = 5) throws {
        self.conninfo = conninfo
        let keys = ["dbname", "connect_timeout", "application_name", "client_encoding"]
        let values = [conninfo, String(connectTimeoutSeconds), applicationName, "UTF8"]
        let cKeys = keys.map { strdup($0) }
        let cValues = values.map { strdup($0) }
        defer {
            cKeys.forEach { free($0) }
            cValues.forEach { free($0) }
        }
        var keyPointers: [UnsafePointer<CChar>?] = cKeys.map { UnsafePointer($0) } + [nil]
        var valuePointers: [UnsafePointer<CChar>?] = cValues.map { UnsafePointer($0) } + [nil]
        let conn = keyPointers.withUnsafeMutableBufferPointer { k in
            valuePointers.withUnsafeMutableBufferPointer { v in
                PQconnectdbParams(k.baseAddress, v.baseAddress, 1)
            }
        }
        guard let conn else { throw PostgresError.connectionFailed(message: "out of memory") }
        guard PQstatus(conn) == CONNECTION_OK else {
            let message = PostgresConnection.trimmedMessage(PQerrorMessage(conn))
            PQfinish(conn)
            throw PostgresError.connectionFailed(message: message)
        }
        // Notices ("relation already exists, skipping") are not errors; keep them off stderr.
        PQsetNoticeProcessor(conn, { _, _ in }, nil)
        handle = conn
        try executeScriptText(Self.sessionSettings)
    }

    /// Every session's settings, sent as one script (one round trip). JIT is off: the control plane's statements
    /// run in milliseconds, but where a plan's estimate is large PostgreSQL compiles it first. At 1,000,000 queued
    /// tasks the scheduler's read of the unplaced tasks (`LIMIT` over a lateral join, estimated at 3.1 M rows)
    /// spent 1,262 ms in JIT (inlining 477 ms, optimization 467 ms) to run 3 ms of work, on every pass
    /// (`ControlBench --tasks 1000000 --batch 1 --explain`; docs/leases.md, "JIT off").
    static let sessionSettings = "SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'; SET jit = off"

    deinit { close() }

    /// Closes the connection; further queries fail with `connectionLost`.
    public func close() {
        if let handle { PQfinish(handle) }
        handle = nil
    }

    /// True while the connection looks usable, checked without a round trip: libpq's status, an idle
    /// transaction state, and no unread input. An idle session receives nothing unless the server is
    /// going away (shutdown notice, then EOF), so unread input marks it broken.
    public var isHealthy: Bool {
        guard let handle, PQstatus(handle) == CONNECTION_OK, PQtransactionStatus(handle) == PQTRANS_IDLE else {
            return false
        }
        let fd = PQsocket(handle)
        guard fd >= 0 else { return false }
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&pfd, 1, 0) == 0
    }

    /// The server's process id for this session.
    public var backendPID: Int32 { handle.map { PQbackendPID($0) } ?? 0 }

    var rawHandle: OpaquePointer? { handle }

    // MARK: Queries

    /// Runs one statement with `$1, $2, ...` parameters (nil = NULL) and returns its rows.
    @discardableResult
    public func query(_ sql: String, _ params: [PostgresValue?] = []) throws -> PostgresRows {
        guard let handle, PQstatus(handle) == CONNECTION_OK else {
            throw PostgresError.connectionLost(message: "connection is closed", sql: PostgresError.firstLine(sql))
        }
        statementsSent += 1
        let result = try Self.withWireParameters(params) { types, values in
            PQexecParams(handle, sql, Int32(params.count), types, values, nil, nil, 0)
        }
        return try consume(result, sql: sql)
    }

    /// At most this many statements are prepared per connection (`query(prepared:)`; later ones run unprepared):
    /// preparing is for a few hot statements (the claim at each batch size in use, the completion), not for every
    /// query.
    public static let preparedStatementLimit = 16

    /// `query`, with the statement parsed and planned once per connection (PQprepare on its first use, one more
    /// round trip; then PQexecPrepared): for hot statements whose planning costs more than running them. The
    /// claim's one statement (a dozen CTEs) took 2.9 ms prepared and 12.4 ms planned on every call (pgbench, 2
    /// clients, docs/leases.md). The first call fixes the parameter types (a nil parameter leaves its type to the
    /// statement's casts). Past `preparedStatementLimit` statements on this connection it runs as `query` does.
    @discardableResult
    public func query(prepared sql: String, _ params: [PostgresValue?] = []) throws -> PostgresRows {
        guard let handle, PQstatus(handle) == CONNECTION_OK else {
            throw PostgresError.connectionLost(message: "connection is closed", sql: PostgresError.firstLine(sql))
        }
        let name: String
        if let known = preparedNames[sql] {
            name = known
        } else {
            guard preparedNames.count < Self.preparedStatementLimit else { return try query(sql, params) }
            name = "ops_prepared_\(preparedNames.count + 1)"
            statementsSent += 1
            let types = params.map { $0?.typeOID ?? 0 }
            let prepared = types.withUnsafeBufferPointer {
                PQprepare(handle, name, sql, Int32(types.count), $0.baseAddress)
            }
            _ = try consume(prepared, sql: sql)
            preparedNames[sql] = name
        }
        statementsSent += 1
        let result = try Self.withWireParameters(params) { _, values in
            PQexecPrepared(handle, name, Int32(params.count), values, nil, nil, 0)
        }
        return try consume(result, sql: sql)
    }

    /// Calls `body` with the parameters' type OIDs and NUL-terminated text values (NULL for nil), freed after it.
    private static func withWireParameters(
        _ params: [PostgresValue?],
        _ body: (UnsafePointer<UInt32>?, UnsafePointer<UnsafePointer<CChar>?>?) -> OpaquePointer?
    ) throws -> OpaquePointer? {
        var types = [UInt32]()
        var cValues = [UnsafeMutablePointer<CChar>?]()
        types.reserveCapacity(params.count)
        cValues.reserveCapacity(params.count)
        defer { cValues.forEach { free($0) } }
        for (i, param) in params.enumerated() {
            types.append(param?.typeOID ?? 0)
            guard let param else {
                cValues.append(nil)
                continue
            }
            let text = param.wireText
            if text.utf8.contains(0) {
                throw PostgresError.invalidParameter(
                    index: i + 1, reason: "text contains a NUL byte, which PostgreSQL cannot store")
            }
            cValues.append(strdup(text))
        }
        return types.withUnsafeBufferPointer { typePointer in
            cValues.map { UnsafePointer($0) }.withUnsafeBufferPointer { valuePointer in
                body(typePointer.baseAddress, valuePointer.baseAddress)
            }
        }
    }

    /// Runs a statement and returns the number of affected rows.
    @discardableResult
    public func execute(_ sql: String, _ params: [PostgresValue?] = []) throws -> Int {
        try query(sql, params).affectedRows
    }

    /// The first row, or nil.
    public func queryFirst(_ sql: String, _ params: [PostgresValue?] = []) throws -> PostgresRow? {
        try query(sql, params).first
    }

    /// Exactly one row expected; `noRows` otherwise.
    public func queryOne(_ sql: String, _ params: [PostgresValue?] = []) throws -> PostgresRow {
        guard let row = try query(sql, params).first else {
            throw PostgresError.noRows(sql: PostgresError.firstLine(sql))
        }
        return row
    }

    /// Runs a fixed multi-statement script (schema migrations) with the simple query protocol.
    /// It takes no parameters on purpose: scripts are constants in the code, never built from values.
    public func executeScript(_ sql: StaticString) throws {
        try executeScriptText(sql.description)
    }

    /// `executeScript` for scripts kept as `String` constants (e.g. a migration table). Never pass
    /// text built from user input.
    public func executeScriptText(_ sql: String) throws {
        guard let handle, PQstatus(handle) == CONNECTION_OK else {
            throw PostgresError.connectionLost(message: "connection is closed", sql: PostgresError.firstLine(sql))
        }
        statementsSent += 1
        _ = try consume(PQexec(handle, sql), sql: sql)
        // A script may return several results; PQexec keeps only the last and reports the first error.
    }

    /// `pg_notify(channel, payload)`: delivered to listeners when the surrounding transaction commits.
    public func notify(channel: String, payload: String = "") throws {
        try query("SELECT pg_notify($1, $2)", [.text(channel), .text(payload)])
    }

    /// Quotes an identifier (table, database, channel name) for the few statements that cannot take
    /// parameters (LISTEN, CREATE DATABASE). Values must always go through parameters instead.
    public func quoteIdentifier(_ name: String) throws -> String {
        guard let handle else {
            throw PostgresError.connectionLost(message: "connection is closed", sql: "quote identifier")
        }
        guard let quoted = PQescapeIdentifier(handle, name, name.utf8.count) else {
            throw PostgresError.invalidParameter(
                index: 0,
                reason: "cannot quote identifier \(name): \(PostgresConnection.trimmedMessage(PQerrorMessage(handle)))")
        }
        defer { PQfreemem(quoted) }
        return String(cString: quoted)
    }

    // MARK: Transactions

    /// Runs `body` inside BEGIN/COMMIT; rolls back and rethrows if it throws.
    @discardableResult
    public func transaction<T>(isolation: IsolationLevel? = nil, _ body: (PostgresConnection) throws -> T) throws -> T {
        if let isolation {
            try execute("BEGIN ISOLATION LEVEL \(isolation.rawValue)")
        } else {
            try execute("BEGIN")
        }
        let value: T
        do {
            value = try body(self)
        } catch {
            if PQstatus(handle) == CONNECTION_OK { _ = try? execute("ROLLBACK") }
            throw error
        }
        do {
            try execute("COMMIT")
        } catch {
            if PQstatus(handle) == CONNECTION_OK, let handle, PQtransactionStatus(handle) != PQTRANS_IDLE {
                _ = try? execute("ROLLBACK")
            }
            throw error
        }
        return value
    }

    // MARK: Results

    private func consume(_ result: OpaquePointer?, sql: String) throws -> PostgresRows {
        guard let result else {
            throw lostOrFailed(sql: sql)
        }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        if status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK || status == PGRES_SINGLE_TUPLE {
            let columnCount = Int(PQnfields(result))
            let rowCount = Int(PQntuples(result))
            var columns = [String]()
            columns.reserveCapacity(columnCount)
            for c in 0..<columnCount { columns.append(String(cString: PQfname(result, Int32(c)))) }
            var rows = [[String?]]()
            rows.reserveCapacity(rowCount)
            for r in 0..<rowCount {
                var row = [String?]()
                row.reserveCapacity(columnCount)
                for c in 0..<columnCount {
                    if PQgetisnull(result, Int32(r), Int32(c)) == 1 {
                        row.append(nil)
                    } else {
                        row.append(String(cString: PQgetvalue(result, Int32(r), Int32(c))))
                    }
                }
                rows.append(row)
            }
            let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
            return PostgresRows(columns: columns, values: rows, affectedRows: affected)
        }
        func field(_ code: Character) -> String? {
            guard let p = PQresultErrorField(result, Int32(code.asciiValue!)) else { return nil }
            return String(cString: p)
        }
        let sqlState = field("C") ?? ""
        let message = field("M") ?? PostgresConnection.trimmedMessage(PQresultErrorMessage(result))
        // Admin shutdown / crash recovery / connection exceptions: the session is gone.
        if PQstatus(handle) != CONNECTION_OK || sqlState.hasPrefix("08") || sqlState.hasPrefix("57P") {
            throw PostgresError.connectionLost(
                message: sqlState.isEmpty ? message : "\(sqlState): \(message)",
                sql: PostgresError.firstLine(sql))
        }
        throw PostgresError.server(
            sqlState: sqlState, message: message, detail: field("D"), sql: PostgresError.firstLine(sql))
    }

    private func lostOrFailed(sql: String) -> PostgresError {
        let message = handle.map { PostgresConnection.trimmedMessage(PQerrorMessage($0)) } ?? "connection is closed"
        return .connectionLost(message: message, sql: PostgresError.firstLine(sql))
    }

    static func trimmedMessage(_ p: UnsafePointer<CChar>?) -> String {
        guard let p else { return "unknown error" }
        return String(cString: p).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

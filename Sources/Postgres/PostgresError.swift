// Typed errors of the PostgreSQL wrapper. Every error carries enough context to act on:
// the SQLSTATE and server message, and the first line of the SQL that failed.

public enum PostgresError: Error, CustomStringConvertible, Sendable {
    /// Could not open a connection (server down, wrong port, authentication).
    case connectionFailed(message: String)
    /// The connection broke while (or before) running `sql`; the statement's outcome is unknown
    /// unless it was inside a transaction (then it was rolled back).
    case connectionLost(message: String, sql: String)
    /// The server rejected the statement.
    case server(sqlState: String, message: String, detail: String?, sql: String)
    /// A column value could not be read as the requested Swift type.
    case decoding(column: String, expected: String, found: String)
    /// A column was NULL where a value was required.
    case unexpectedNull(column: String)
    /// No column of that name in the result.
    case noSuchColumn(String, available: [String])
    /// A value could not be bound as a parameter (e.g. a string with a NUL byte).
    case invalidParameter(index: Int, reason: String)
    /// A required row was missing (e.g. `queryOne` found nothing).
    case noRows(sql: String)
    /// The embedded server could not be managed (initdb/start/stop); `log` holds the relevant output.
    case embeddedServer(action: String, message: String, log: String)

    /// The SQLSTATE for server errors (e.g. "23505" unique violation), nil otherwise.
    public var sqlState: String? {
        if case .server(let state, _, _, _) = self { return state }
        return nil
    }

    public var isConnectionLost: Bool {
        switch self {
        case .connectionLost, .connectionFailed: return true
        default: return false
        }
    }

    /// Serialization failure or deadlock: the transaction was rolled back and may simply be retried.
    public var isTransientConflict: Bool { sqlState == "40001" || sqlState == "40P01" }
    public var isUniqueViolation: Bool { sqlState == "23505" }

    /// Text PostgreSQL cannot store: a NUL in a text parameter (refused before sending), or `\u0000` in JSON
    /// cast to jsonb (22P05, untranslatable character).
    public var isUnstorableText: Bool {
        if case .invalidParameter = self { return true }
        return sqlState == "22P05"
    }

    public var description: String {
        switch self {
        case .connectionFailed(let message):
            return "cannot connect to PostgreSQL: \(message) (is the server running and the conninfo right?)"
        case .connectionLost(let message, let sql):
            return "connection to PostgreSQL lost while running `\(sql)`: \(message)"
        case .server(let state, let message, let detail, let sql):
            var text = "PostgreSQL error \(state): \(message) in `\(sql)`"
            if let detail, !detail.isEmpty { text += " (\(detail))" }
            return text
        case .decoding(let column, let expected, let found):
            return "column \"\(column)\": expected \(expected), found \"\(found)\""
        case .unexpectedNull(let column):
            return "column \"\(column)\": expected a value, found NULL"
        case .noSuchColumn(let name, let available):
            return "no column \"\(name)\" in result (columns: \(available.joined(separator: ", ")))"
        case .invalidParameter(let index, let reason):
            return "parameter $\(index): \(reason)"
        case .noRows(let sql):
            return "expected a row from `\(sql)`, got none"
        case .embeddedServer(let action, let message, let log):
            return "embedded PostgreSQL \(action) failed: \(message)" + (log.isEmpty ? "" : "\n--- log ---\n\(log)")
        }
    }

    /// First line of a statement, trimmed, for error messages.
    static func firstLine(_ sql: String) -> String {
        let trimmed = sql.drop(while: { $0 == "\n" || $0 == " " })
        let line = trimmed.prefix(while: { $0 != "\n" })
        return line.count > 120 ? String(line.prefix(117)) + "..." : String(line)
    }
}

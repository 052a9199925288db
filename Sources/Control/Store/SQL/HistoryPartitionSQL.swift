// Statements of the history tables' partitions (migration 17; docs/history.md): which partitions a table has and
// their bounds, and the DDL that creates one week's partition or drops an old one. DDL takes no parameters, so
// partition names and bounds are written into the text; they are built here only from `HistoryTable` (a closed
// set) and whole numbers, and `assertIdentifier` refuses anything else.

/// A table whose rows are history, range-partitioned by UTC week on `partitionKey`.
enum HistoryTable: String, CaseIterable, Sendable {
    case events
    case taskLogs = "task_logs"
    case metrics

    /// Events are filed by their own time; a log line or metric point by its attempt's start (migration 17 says
    /// why: the appends' conflict keys must hold the partition key).
    var partitionKey: String {
        switch self {
        case .events: return "at"
        case .taskLogs, .metrics: return "attempt_started_at"
        }
    }

    /// The partition that takes rows no range covers (created by the migration, never dropped).
    var defaultPartition: String { rawValue + "_default" }
}

enum HistoryPartitionSQL {
    /// The partitions of table $1 (its name as text) with their bounds in seconds since 1970 (NULL: MINVALUE or
    /// MAXVALUE). PostgreSQL keeps a bound only as an expression, so it is read back from its text.
    static let partitions = #"""
        SELECT c.relname AS name, b.bound = 'DEFAULT' AS is_default,
            extract(epoch FROM (regexp_match(b.bound, 'FROM \(''([^'']*)''\)'))[1]::timestamptz)::float8 AS from_seconds,
            extract(epoch FROM (regexp_match(b.bound, 'TO \(''([^'']*)''\)'))[1]::timestamptz)::float8 AS to_seconds
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid,
            LATERAL (SELECT pg_get_expr(c.relpartbound, c.oid) AS bound) b
        WHERE i.inhparent = $1::text::regclass
        ORDER BY c.relname
        """#

    /// The database's clock in seconds since 1970: partitions follow the clock that stamps the rows.
    static let nowSeconds = "SELECT extract(epoch FROM now())::float8 AS now_seconds"

    /// A partition's DDL waits at most this long for its table's lock: attaching and dropping lock out the
    /// inserts of the lease path meanwhile, so a busy table is tried again on the next pass rather than stalled.
    static let lockTimeout = "SET LOCAL lock_timeout = '500ms'"

    /// A week's partition is filled before it is attached: rows the default partition took for that week (passes
    /// missed while the clock moved on) move into it, else the attach would refuse to hide them.
    static func createDetached(_ partition: String, of table: HistoryTable) -> String {
        assertIdentifier(partition)
        return "CREATE TABLE \(partition) (LIKE \(table.rawValue) INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
    }

    /// Moves the default partition's rows of [$1, $2) (seconds since 1970) into `partition`.
    static func moveFromDefault(into partition: String, of table: HistoryTable) -> String {
        assertIdentifier(partition)
        return """
            WITH moved AS (
                DELETE FROM \(table.defaultPartition)
                WHERE \(table.partitionKey) >= to_timestamp($1) AND \(table.partitionKey) < to_timestamp($2)
                RETURNING *)
            INSERT INTO \(partition) SELECT * FROM moved
            """
    }

    /// Attaches `partition` for [fromSeconds, toSeconds): its indexes, keys and foreign keys are the table's.
    static func attach(_ partition: String, to table: HistoryTable, fromSeconds: Int64, toSeconds: Int64) -> String {
        assertIdentifier(partition)
        precondition(fromSeconds < toSeconds)
        return """
            ALTER TABLE \(table.rawValue) ATTACH PARTITION \(partition)
            FOR VALUES FROM (to_timestamp(\(fromSeconds))) TO (to_timestamp(\(toSeconds)))
            """
    }

    static func drop(_ partition: String) -> String {
        assertIdentifier(partition)
        return "DROP TABLE \(partition)"
    }

    /// Deletes at most $2 rows of the default partition older than $1 (seconds since 1970): the default partition
    /// is never dropped, so retention reaches its rows one bounded batch per pass.
    static func deleteExpiredFromDefault(of table: HistoryTable) -> String {
        """
        DELETE FROM \(table.defaultPartition) WHERE ctid = ANY(ARRAY(
            SELECT ctid FROM \(table.defaultPartition) WHERE \(table.partitionKey) < to_timestamp($1) LIMIT $2))
        """
    }

    /// Only lowercase letters, digits and `_`: names that need no quoting and cannot carry SQL.
    private static func assertIdentifier(_ name: String) {
        precondition(
            !name.isEmpty && name.count <= 63
                && name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F },
            "not a partition name: \(name)")
    }
}

import Foundation
import Postgres
import TestSupport
import XCTest

final class PostgresConnectionTests: XCTestCase {
    private var conninfo = ""

    override func setUpWithError() throws {
        conninfo = try TestPostgres.shared().freshDatabase()
    }

    func testRoundTripsEveryParameterType() throws {
        let c = try PostgresConnection(conninfo: conninfo)
        try c.execute(
            """
            CREATE TABLE t (s text, i bigint, d double precision, b boolean, ts timestamptz, by bytea, j jsonb, n text)
            """)
        let date = Date(timeIntervalSince1970: 1_764_000_000.123456)
        let evil = "Robert'); DROP TABLE t; -- \"quoted\" \\ back\\slash ünïcode 🚀"
        try c.execute(
            "INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            [
                .text(evil), .int(-9_000_000_000), .double(0.1), .bool(true), .timestamp(date),
                .bytes([0, 1, 254, 255]), .json(#"{"a": [1, "x'y"]}"#), nil,
            ])
        let row = try c.queryOne("SELECT * FROM t")
        XCTAssertEqual(try row.string("s"), evil)
        XCTAssertEqual(try row.int64("i"), -9_000_000_000)
        XCTAssertEqual(try row.double("d"), 0.1)
        XCTAssertEqual(try row.bool("b"), true)
        XCTAssertEqual(try row.date("ts").timeIntervalSince1970, date.timeIntervalSince1970, accuracy: 0.000_001)
        XCTAssertEqual(try row.bytes("by"), [0, 1, 254, 255])
        XCTAssertEqual(try row.json("j"), #"{"a": [1, "x'y"]}"#)
        XCTAssertNil(try row.optionalString("n"))
        XCTAssertEqual(
            try c.queryOne("SELECT count(*) AS n FROM t").int("n"), 1, "the injection-looking text must not run")
        // The same string used in a WHERE clause matches only itself.
        XCTAssertEqual(try c.query("SELECT 1 FROM t WHERE s = $1", [.text(evil)]).count, 1)
        XCTAssertEqual(try c.query("SELECT 1 FROM t WHERE s = $1", [.text("' OR '1'='1")]).count, 0)
    }

    /// Every session runs in UTC with ISO dates and without JIT: at 1,000,000 queued tasks the scheduler's read
    /// of the unplaced tasks compiled for 1.26 s to run 3 ms (docs/leases.md, "JIT off").
    func testSessionsRunInUTCWithISODatesAndWithoutJIT() throws {
        let c = try PostgresConnection(conninfo: conninfo)
        XCTAssertEqual(try c.queryOne("SHOW TimeZone").string("TimeZone"), "UTC")
        XCTAssertEqual(try c.queryOne("SHOW DateStyle").string("DateStyle"), "ISO, YMD")
        XCTAssertEqual(try c.queryOne("SHOW jit").string("jit"), "off")
        // Even with every cost above the threshold, no plan is compiled.
        try c.execute("SET jit_above_cost = 0")
        let plan = try c.query("EXPLAIN ANALYZE SELECT sum(x) FROM generate_series(1, 1000) x")
        let lines = try plan.map { try $0.string("QUERY PLAN") }
        XCTAssertFalse(lines.contains { $0.contains("JIT") }, lines.joined(separator: "\n"))
    }

    func testTimestampsAroundEpochAndNegative() throws {
        let c = try PostgresConnection(conninfo: conninfo)
        for seconds in [0.0, -1.5, 951_782_400.25, 4_102_444_800.999999, -2_208_988_800] {
            let d = Date(timeIntervalSince1970: seconds)
            let back = try c.queryOne(
                "SELECT $1::timestamptz AS v, extract(epoch FROM $1::timestamptz)::float8 AS e", [.timestamp(d)])
            XCTAssertEqual(try back.date("v").timeIntervalSince1970, seconds, accuracy: 0.000_001)
            XCTAssertEqual(try back.double("e"), seconds, accuracy: 0.000_001)
        }
    }

    func testArrayParametersWithQuotesAndNulls() throws {
        let c = try PostgresConnection(conninfo: conninfo)
        let texts: [String?] = ["a,b", "c\"d", "e\\f", nil, "{g}", ""]
        let rows = try c.query(
            "SELECT x FROM unnest($1::text[]) WITH ORDINALITY AS u(x, n) ORDER BY n", [.textArray(texts)])
        XCTAssertEqual(try rows.map { try $0.optionalString("x") }, texts)
        let sum = try c.queryOne("SELECT sum(x)::bigint AS s FROM unnest($1::bigint[]) x", [.intArray([1, 2, 3, -10])])
        XCTAssertEqual(try sum.int64("s"), -4)
    }

    func testTypedErrorsNameColumnAndStatement() throws {
        let c = try PostgresConnection(conninfo: conninfo)
        let row = try c.queryOne("SELECT 'abc' AS word, NULL::int AS nothing")
        XCTAssertThrowsError(try row.int64("word")) { error in
            XCTAssertTrue("\(error)".contains("\"word\""), "\(error)")
        }
        XCTAssertThrowsError(try row.int64("nothing")) { error in
            guard case PostgresError.unexpectedNull(let column) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(column, "nothing")
        }
        XCTAssertThrowsError(try row.string("missing")) { error in
            guard case PostgresError.noSuchColumn(let column, let available) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(column, "missing")
            XCTAssertEqual(available, ["word", "nothing"])
        }
        XCTAssertThrowsError(try c.query("SELECT * FROM no_such_table\nWHERE x = 1")) { error in
            guard case PostgresError.server(let state, _, _, let sql) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(state, "42P01")
            XCTAssertEqual(sql, "SELECT * FROM no_such_table")
        }
        XCTAssertThrowsError(try c.query("SELECT $1::text", [.text("nul\u{0}byte")])) { error in
            guard case PostgresError.invalidParameter(let index, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(index, 1)
        }
        // The connection is still usable after errors.
        XCTAssertEqual(try c.queryOne("SELECT 2 AS two").int("two"), 2)
    }

    func testTransactionCommitsOrRollsBack() throws {
        let c = try PostgresConnection(conninfo: conninfo)
        try c.execute("CREATE TABLE accounts (name text PRIMARY KEY, balance bigint NOT NULL CHECK (balance >= 0))")
        try c.execute("INSERT INTO accounts VALUES ('a', 10), ('b', 0)")
        struct Abort: Error {}
        XCTAssertThrowsError(
            try c.transaction { tx in
                try tx.execute("UPDATE accounts SET balance = balance - 5 WHERE name = 'a'")
                try tx.execute("UPDATE accounts SET balance = balance + 5 WHERE name = 'b'")
                throw Abort()
            })
        XCTAssertThrowsError(
            try c.transaction(isolation: .serializable) { tx in
                try tx.execute("UPDATE accounts SET balance = balance + 20 WHERE name = 'b'")
                try tx.execute("UPDATE accounts SET balance = balance - 20 WHERE name = 'a'") // violates CHECK
            })
        let balances = try c.query("SELECT name, balance FROM accounts ORDER BY name").map { try $0.int64("balance") }
        XCTAssertEqual(balances, [10, 0])
        try c.transaction { tx in
            try tx.execute("UPDATE accounts SET balance = balance - 4 WHERE name = 'a'")
            try tx.execute("UPDATE accounts SET balance = balance + 4 WHERE name = 'b'")
        }
        XCTAssertEqual(
            try c.query("SELECT balance FROM accounts ORDER BY name").map { try $0.int64("balance") }, [6, 4])
    }

    func testPoolIsBoundedAndSharedAcrossThreads() throws {
        let pool = PostgresPool(conninfo: conninfo, maxConnections: 3)
        defer { pool.close() }
        try pool.withConnection { try $0.execute("CREATE TABLE hits (n int)") }
        DispatchQueue.concurrentPerform(iterations: 12) { i in
            for _ in 0..<20 {
                do {
                    try pool.transaction { try $0.execute("INSERT INTO hits VALUES ($1)", [.int(Int64(i))]) }
                } catch {
                    XCTFail("\(error)")
                }
            }
        }
        XCTAssertLessThanOrEqual(pool.openConnections, 3)
        XCTAssertEqual(try pool.withConnection { try $0.queryOne("SELECT count(*) AS n FROM hits").int("n") }, 240)
        let backends = try pool.withConnection {
            try $0.queryOne(
                "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'llm-ops'"
            ).int("n")
        }
        XCTAssertLessThanOrEqual(backends, 3)
    }

    func testNotifyReachesListener() throws {
        let received = Mailbox<PostgresListener.Event>()
        let listener = PostgresListener(conninfo: conninfo, channels: ["jobs"]) { received.put($0) }
        defer { listener.stop() }
        XCTAssertTrue(listener.waitUntilListening(timeoutSeconds: 10))
        let c = try PostgresConnection(conninfo: conninfo)
        try c.notify(channel: "jobs", payload: "it's \"42\"")
        try c.notify(channel: "other", payload: "not for us")
        try c.transaction { tx in try tx.notify(channel: "jobs", payload: "after commit") }
        XCTAssertThrowsError(
            try c.transaction { tx in
                try tx.notify(channel: "jobs", payload: "rolled back")
                throw PostgresError.noRows(sql: "abort")
            })
        try c.notify(channel: "jobs", payload: "last")
        try waitUntil("three notifications") {
            received.items.filter { if case .notification = $0 { true } else { false } }.count >= 3
        }
        let notifications = received.items.compactMap { event -> String? in
            if case .notification(let channel, let payload) = event { return "\(channel):\(payload)" }
            return nil
        }
        XCTAssertEqual(notifications, ["jobs:it's \"42\"", "jobs:after commit", "jobs:last"])
        XCTAssertEqual(received.items.first, .listening(mayHaveMissed: false))
        // Channels can be added while running.
        listener.listen(channels: ["other"])
        XCTAssertTrue(listener.waitUntilListening(timeoutSeconds: 10))
        try c.notify(channel: "other", payload: "now for us")
        try waitUntil("notification on the added channel") {
            received.items.contains(.notification(channel: "other", payload: "now for us"))
        }
    }
}

extension PostgresConnectionTests {
    func testListenerAsAsyncStream() async throws {
        let (listener, events) = PostgresListener.stream(conninfo: conninfo, channels: ["stream"])
        XCTAssertTrue(listener.waitUntilListening(timeoutSeconds: 10))
        let c = try PostgresConnection(conninfo: conninfo)
        for i in 1...3 { try c.notify(channel: "stream", payload: "n\(i)") }
        var payloads: [String] = []
        for await event in events {
            if case .notification(_, let payload) = event { payloads.append(payload) }
            if payloads.count == 3 { break }
        }
        XCTAssertEqual(payloads, ["n1", "n2", "n3"])
        listener.stop()
    }

    func testPoolRetriesSerializationFailures() throws {
        let pool = PostgresPool(conninfo: conninfo, maxConnections: 4)
        defer { pool.close() }
        try pool.withConnection { try $0.execute("CREATE TABLE counter (n int)") }
        try pool.withConnection { try $0.execute("INSERT INTO counter VALUES (0)") }
        let errors = Mailbox<String>()
        let group = DispatchGroup()
        for _ in 0..<4 {
            group.enter()
            Thread {
                defer { group.leave() }
                for _ in 0..<25 {
                    do {
                        try pool.transaction(isolation: .serializable, conflictRetries: 100) { tx in
                            let n = try tx.queryOne("SELECT n FROM counter").int("n")
                            try tx.execute("UPDATE counter SET n = $1", [.int(Int64(n + 1))])
                        }
                    } catch {
                        errors.put("\(error)")
                    }
                }
            }.start()
        }
        group.wait()
        XCTAssertEqual(errors.items, [])
        XCTAssertEqual(
            try pool.withConnection { try $0.queryOne("SELECT n FROM counter").int("n") }, 100,
            "lost updates are impossible: conflicting transactions were rolled back and retried")
    }
}

/// A thread-safe list for collecting callback results in tests.
final class Mailbox<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [T] = []
    func put(_ item: T) {
        lock.lock()
        storage.append(item)
        lock.unlock()
    }
    var items: [T] {
        lock.lock()
        defer { lock.unlock() }
        return storage
    }
}

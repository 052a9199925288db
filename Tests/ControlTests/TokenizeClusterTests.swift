import APITypes
import Checksum
import DataShards
import Foundation
import Gzip
import Postgres
import TestSupport
import XCTest
import Zstd

/// A tokenize job end to end on a real local cluster: `opsctl serve` and two `opsctl worker` processes on a
/// throwaway PostgreSQL. Several hundred mixed input files (.txt, .jsonl, .jsonl.zst, .gz); the tokenizer is
/// trained first (its own job); one worker is SIGKILLed while it holds a task. The shards must hold exactly the
/// tokens of tokenizing the inputs directly with the library, each shard exactly once, in the database and
/// on disk, with nothing half written left behind.
final class TokenizeClusterTests: OpsctlClusterTestCase {
    override class var directoryPrefix: String { "tokenize-cluster-" }

    // MARK: Inputs

    /// ~300 files of a few documents each, in four formats and nested directories; deterministic.
    private func writeInputs() throws -> [String] {
        let words = [
            "the", "model", "token", "shard", "data", "pipeline", "cluster", "worker", "Hello", "world", "über",
            "naïve", "日本語", "テキスト", "emoji🙂", "x = f(y) + 1;", "    indented", "1234", "3.14159", "don't", "it's",
            "\t", "\n", "  ", "<|endoftext|>",
        ]
        var state: UInt64 = 42
        func next(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
        // About one document in five repeats an earlier one, sometimes with other whitespace or in decomposed
        // Unicode (NFD): the same normalized text, so de-duplication must drop it.
        var earlier: [String] = []
        func text() -> String {
            if !earlier.isEmpty && next(5) == 0 {
                let original = earlier[next(earlier.count)]
                switch next(3) {
                case 0: return original
                case 1: return "  " + original.replacingOccurrences(of: " ", with: " \t ") + "\n"
                default: return original.decomposedStringWithCanonicalMapping
                }
            }
            let fresh = (0..<(5 + next(60))).map { _ in words[next(words.count)] }.joined(separator: " ")
            earlier.append(fresh)
            return fresh
        }
        func jsonLine(_ s: String) throws -> String {
            String(decoding: try JSONSerialization.data(withJSONObject: ["text": s, "id": next(1000)]), as: UTF8.self)
        }
        var paths: [String] = []
        for i in 0..<300 {
            let directory = root.path + "/inputs/part\(i % 7)" + (i % 3 == 0 ? "/nested" : "")
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let base = directory + "/file\(String(format: "%03d", i))"
            let path: String
            let bytes: [UInt8]
            switch i % 5 {
            case 0:
                path = base + ".txt"
                bytes = Array(text().utf8)
            case 1:
                path = base + ".jsonl"
                bytes = Array(try (0..<(1 + next(6))).map { _ in try jsonLine(text()) }.joined(separator: "\n").utf8)
            case 2:
                path = base + ".jsonl.zst"
                bytes = try Zstd.compress(
                    Array(try (0..<(1 + next(6))).map { _ in try jsonLine(text()) + "\n" }.joined().utf8))
            case 3:
                path = base + ".jsonl.gz"
                bytes = try Gzip.compress(
                    Array(try (0..<(1 + next(6))).map { _ in try jsonLine(text()) + "\n" }.joined().utf8))
            default:
                path = base + ".txt.gz"
                bytes = try Gzip.compress(Array(text().utf8))
            }
            XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
            paths.append(path)
        }
        return paths.sorted()
    }

    // MARK: The test

    func testTokenizeJobOnTwoWorkersSurvivesAKilledWorkerAndMatchesDirectTokenization() throws {
        let inputs = try writeInputs()
        let conninfo = try TestPostgres.shared().freshDatabase()
        let pool = PostgresPool(conninfo: conninfo, maxConnections: 2)
        self.pool = pool
        let port = try FreePort.next()
        let server = "http://127.0.0.1:\(port)"
        let admin = "admin-\(UUID().uuidString)"
        let join = "join-\(UUID().uuidString)"
        let common = [
            "OPS_STATE_DIR": root.path + "/state", "OPS_ADMIN_TOKEN": admin, "OPS_JOIN_TOKEN": join,
            "OPS_SERVER": server, "OPS_TOKEN": admin,
        ]
        try processes.start(
            "serve",
            [
                "serve", "--database-url", conninfo, "--port", "\(port)", "--lease-seconds", "3",
                "--heartbeat-seconds", "1",
            ], environment: common)
        try waitForControlPlane(environment: common)
        for name in ["w1", "w2"] { try startWorker(name, environment: common) }
        try waitUntil("two workers registered", timeoutSeconds: 60, intervalSeconds: 0.2) {
            (try? pool.withConnection {
                try $0.queryOne("SELECT count(*) AS n FROM workers WHERE state = 'alive'").int("n")
            }) == 2
        }

        let location = root.path + "/out"
        let manifest = root.path + "/tokenize.yaml"
        try """
        apiVersion: llmops/v1
        kind: Job
        metadata: {name: tok-mixed}
        spec:
          type: tokenize
          resources: {cpu: 1, memory: 256Mi}
          retry: {maxAttempts: 5, backoffSeconds: 0.2, maxBackoffSeconds: 1}
          tokenize:
            inputs: ["\(root.path)/inputs/**/*"]
            output: {dataset: mixed, location: \(location)}
            tokenizer: {train: {vocabularySize: 600, sampleBytes: 200KB, splitPattern: llama3}}
            filesPerTask: 4
            dedup: true
        """.write(toFile: manifest, atomically: true, encoding: .utf8)
        let applied = try processes.run(["apply", "-f", manifest], environment: common)
        XCTAssertEqual(applied.status, 0, applied.output)

        // Kill w1 (SIGKILL) while it holds a tokenize task, once the job is well under way.
        func sqlInt(_ sql: String) throws -> Int { try pool.withConnection { try $0.queryOne(sql).int("n") } }
        var killedHolding: [Int64] = []
        try waitUntil("w1 holds a tokenize task mid-job", timeoutSeconds: 240, intervalSeconds: 0.01) {
            let done = try sqlInt(
                "SELECT count(*) AS n FROM tasks t JOIN jobs j ON j.id = t.job_id WHERE j.name = 'tok-mixed' AND t.state = 'succeeded'"
            )
            guard done >= 10 else { return false }
            let holding = try pool.withConnection { c in
                try c.query(
                    """
                    SELECT a.id FROM task_attempts a JOIN workers w ON w.id = a.worker_id JOIN tasks t ON t.id = a.task_id
                    JOIN jobs j ON j.id = t.job_id WHERE w.name = 'w1' AND a.state = 'active' AND j.name = 'tok-mixed'
                    """
                ).map { try $0.int64("id") }
            }
            guard !holding.isEmpty else { return false }
            self.processes["w1"].kill9()
            killedHolding = holding
            return true
        }
        _ = processes["w1"].waitForExit(timeoutSeconds: 10)
        let stillActive = try pool.withConnection { c in
            try c.query(
                "SELECT id FROM task_attempts WHERE id = ANY($1) AND state = 'active'", [.intArray(killedHolding)]
            ).map { try $0.int64("id") }
        }

        try waitUntil("the tokenize job finishes", timeoutSeconds: 300, intervalSeconds: 0.2) {
            let state = try pool.withConnection {
                try $0.queryOne("SELECT state FROM jobs WHERE name = 'tok-mixed'").string("state")
            }
            return ["succeeded", "failed", "cancelled"].contains(state)
        }
        let states = try pool.withConnection { c in
            try c.query("SELECT name, state FROM jobs ORDER BY name").map {
                "\(try $0.string("name"))=\(try $0.string("state"))"
            }
        }
        XCTAssertEqual(states, ["tok-mixed=succeeded", "tok-mixed-dedup=succeeded", "tok-mixed-tokenizer=succeeded"])

        // The attempts the kill interrupted expired and were redone elsewhere.
        if !stillActive.isEmpty {
            let expired = try pool.withConnection { c in
                try c.query("SELECT state FROM task_attempts WHERE id = ANY($1)", [.intArray(stillActive)]).map {
                    try $0.string("state")
                }
            }
            // A completion the worker sent just before SIGKILL may still be applied by the control plane (the
            // request had arrived); every other interrupted attempt expires and its task is redone elsewhere.
            XCTAssertTrue(Set(expired).isSubset(of: ["expired", "succeeded"]), "\(expired)")
        }
        XCTAssertGreaterThan(
            try sqlInt(
                """
                SELECT count(*) AS n FROM tasks t JOIN task_attempts a ON a.task_id = t.id JOIN workers w ON w.id = a.worker_id
                WHERE w.name = 'w2' AND a.state = 'succeeded'
                """), 0)

        // The database: one dataset, every shard exactly once, facts equal to the files.
        let tokenizer = try Tokenizer.load(path: location + "/mixed/tokenizer.json")
        let eot = tokenizer.id(of: "<|endoftext|>")!
        let taskCount = (inputs.count + 3) / 4
        XCTAssertEqual(try sqlInt("SELECT count(*) AS n FROM datasets WHERE name = 'mixed'"), 1)
        XCTAssertEqual(try sqlInt("SELECT count(*) AS n FROM shards"), taskCount)
        XCTAssertEqual(try sqlInt("SELECT count(DISTINCT shard_index) AS n FROM shards"), taskCount)
        let metadata = try pool.withConnection {
            try $0.queryOne("SELECT metadata::text AS m FROM datasets").string("m")
        }
        XCTAssertTrue(metadata.contains(tokenizer.hash), metadata)
        struct Row {
            var index: Int
            var location: String
            var sha: String
            var bytes: Int64
            var tokens: Int64
            var documents: Int64
        }
        let rows = try pool.withConnection { c in
            try c.query(
                "SELECT shard_index, location, sha256, bytes, tokens, documents FROM shards ORDER BY shard_index"
            ).map {
                Row(
                    index: try $0.int("shard_index"), location: try $0.string("location"), sha: try $0.string("sha256"),
                    bytes: try $0.int64("bytes"), tokens: try $0.int64("tokens"), documents: try $0.int64("documents"))
            }
        }
        XCTAssertEqual(rows.map(\.index), Array(0..<taskCount))
        let artifact = try pool.withConnection {
            try $0.queryOne("SELECT sha256 FROM artifacts WHERE kind = 'tokenizer'").string("sha256")
        }
        XCTAssertEqual(artifact, tokenizer.hash)

        // The disk: exactly the shards, the index and the tokenizer; no temporaries.
        let directory = location + "/mixed"
        let listing = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        let expected =
            ([".dedup", ".shards", "index.json", "tokenizer.json"]
            + (0..<taskCount).flatMap {
                ["shard-\(String(format: "%05d", $0)).bin", "shard-\(String(format: "%05d", $0)).idx"]
            }).sorted()
        XCTAssertEqual(listing, expected)
        let index = try DatasetIndex.load(fromDirectory: directory)
        XCTAssertEqual(index.tokenizerHash, tokenizer.hash)
        XCTAssertEqual(index.shards.map(\.binSHA256), rows.map(\.sha))

        // Tokens: the shards in order hold exactly the documents of the inputs (sorted, as planned), tokenized directly.
        // With dedup, only the first occurrence of each normalized text (NFC, whitespace runs → one space, trimmed).
        func normalized(_ text: String) -> String {
            text.precomposedStringWithCanonicalMapping
                .split(whereSeparator: { $0.unicodeScalars.allSatisfy(\.properties.isWhitespace) }).joined(
                    separator: " ")
        }
        var direct: [[UInt32]] = []
        var seen = Set<String>()
        var duplicates = 0
        let encoder = tokenizer.makeEncoder()
        for path in inputs {
            let reader = try DocumentReader(path: path, options: InputOptions())
            while let document = try reader.next() {
                guard seen.insert(normalized(document.text)).inserted else {
                    duplicates += 1
                    continue
                }
                direct.append(encoder.encode(document.text, matchAddedTokens: false) + [eot])
            }
        }
        XCTAssertGreaterThan(duplicates, 50, "the inputs hold duplicates")
        let reported = try pool.withConnection { c in
            try c.query(
                "SELECT (t.result -> 'input' ->> 'duplicatesDropped')::int AS n FROM tasks t JOIN jobs j ON j.id = t.job_id WHERE j.name = 'tok-mixed'"
            )
            .map { try $0.int("n") }.reduce(0, +)
        }
        XCTAssertEqual(reported, duplicates, "the tasks report the duplicates they dropped")
        var fromShards: [[UInt32]] = []
        for row in rows {
            XCTAssertEqual(row.sha, try SHA256.hex(ofFileAt: row.location))
            let reader = try ShardReader(prefix: String(row.location.dropLast(4)))
            XCTAssertEqual(Int64(reader.documentCount), row.documents)
            XCTAssertEqual(reader.tokenCount, row.tokens)
            XCTAssertEqual(
                row.bytes,
                (try FileManager.default.attributesOfItem(atPath: row.location)[.size] as? NSNumber)?.int64Value)
            for d in 0..<reader.documentCount { fromShards.append(try reader.tokens(ofDocument: d)) }
        }
        XCTAssertEqual(fromShards.count, direct.count)
        XCTAssertTrue(fromShards == direct, "shard tokens differ from direct tokenization")
        XCTAssertGreaterThan(direct.count, 500)

        // What an operator sees.
        let datasets = try processes.run(["get", "datasets"], environment: common)
        XCTAssertEqual(datasets.status, 0, datasets.output)
        XCTAssertTrue(
            datasets.output.contains("mixed") && datasets.output.contains("ready")
                && datasets.output.contains(" \(taskCount) "),
            datasets.output)
        let shards = try processes.run(["get", "shards", "mixed", "-o", "json"], environment: common)
        XCTAssertEqual(shards.status, 0, shards.output)
        let views = try WireCoding.decode([ShardView].self, from: Data(shards.output.utf8))
        XCTAssertEqual(views.map(\.sha256), rows.map(\.sha))
        XCTAssertEqual(views.map(\.documents), rows.map { Optional($0.documents) })
        finished = true
    }
}

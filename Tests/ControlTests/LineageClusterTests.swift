import APITypes
import Checksum
import Foundation
import HTTPClient
import Postgres
import TestSupport
import XCTest

/// Lineage and batch replay (issue 20; docs/lineage.md) on a real cluster: `opsctl serve` on a throwaway
/// PostgreSQL and an `opsctl worker` process with a private directory and the control plane's blob store. A
/// tokenize job (trained tokenizer, exact dedup, one chunk per file) makes a dataset by name; a train job (two
/// micro-batches a step, checkpoints every 5 steps) trains on it; an eval job measures its checkpoint. Then
/// `opsctl lineage` answers for the checkpoint, the dataset and the eval from the recorded rows (the input files'
/// SHA-256 as computed here, every dropped duplicate with its keeper), the `lineage_edges` view holds the same
/// edges, and `opsctl replay` recomputes steps' batches whose checksums equal what the trainer reported at those
/// steps, naming each document's file and line, whose text starts with the decoded excerpt.
final class LineageClusterTests: OpsctlClusterTestCase {
    override class var directoryPrefix: String { "lineage-cluster-" }

    /// Seven distinct documents in twelve lines over four files; five repeats, within a file and across files.
    static let files: [(name: String, lines: [String])] = [
        ("a.jsonl", ["a", "b", "c", "a"]), ("b.jsonl", ["b", "d", "e"]), ("c.jsonl", ["c", "d", "f"]),
        ("d.jsonl", ["a", "g"]),
    ]

    static func text(_ key: String) -> String {
        (0..<40).map { "\(key)word\($0 % 7) def f\($0)(x): return x + \($0)" }.joined(separator: " ")
    }

    private func write(_ name: String, _ body: String) throws -> String {
        let path = root.path + "/\(name).yaml"
        try body.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testLineageOfCheckpointDatasetAndEvalAndReplayedBatchesMatchTheRun() throws {
        let inputs = root.path + "/laptop/inputs"
        try FileManager.default.createDirectory(atPath: inputs, withIntermediateDirectories: true)
        var lineTexts: [String: String] = [:] // "path:line" → text
        for file in Self.files {
            let lines = try file.lines.map {
                String(decoding: try JSONSerialization.data(withJSONObject: ["text": Self.text($0)]), as: UTF8.self)
            }
            for (i, key) in file.lines.enumerated() { lineTexts["\(inputs)/\(file.name):\(i + 1)"] = Self.text(key) }
            try (lines.joined(separator: "\n") + "\n").write(
                toFile: inputs + "/" + file.name, atomically: true, encoding: .utf8)
        }
        let conninfo = try TestPostgres.shared().freshDatabase()
        let pool = PostgresPool(conninfo: conninfo, maxConnections: 2)
        self.pool = pool
        let port = try FreePort.next()
        let admin = "admin-\(UUID().uuidString)"
        let env = [
            "OPS_ADMIN_TOKEN": admin, "OPS_JOIN_TOKEN": "join-\(UUID().uuidString)",
            "OPS_SERVER": "http://127.0.0.1:\(port)", "OPS_TOKEN": admin, "OPS_STATE_DIR": root.path + "/state",
        ]
        try processes.start(
            "serve",
            [
                "serve", "--database-url", conninfo, "--port", "\(port)", "--lease-seconds", "5", "--heartbeat-seconds",
                "1",
            ],
            environment: env)
        try waitForControlPlane(environment: env)
        try startWorker(
            "w1", maxTasks: 1, workDirectory: root.path + "/w1/work", arguments: ["--artifact-store", "control-plane"],
            environment: env.merging(["OPS_STATE_DIR": root.path + "/w1/state"]) { _, new in new })
        func waitForJob(_ name: String) throws -> String {
            var state = ""
            try waitUntil("job \(name) finishes", timeoutSeconds: 300, intervalSeconds: 0.2) {
                state = try pool.withConnection {
                    try $0.queryFirst("SELECT state FROM jobs WHERE name = $1", [.text(name)])?.string("state") ?? ""
                }
                return ["succeeded", "failed", "cancelled"].contains(state)
            }
            return state
        }
        func opsctl(_ arguments: [String]) throws -> (status: Int32, output: String) {
            try processes.run(arguments, environment: env)
        }

        let tokenize = try write(
            "tokenize",
            """
            apiVersion: llmops/v1
            kind: Job
            metadata: {name: lin-tok}
            spec:
              type: tokenize
              resources: {cpu: 1, memory: 256Mi}
              tokenize:
                inputs: ["\(inputs)/*.jsonl"]
                output: {dataset: lin}
                tokenizer: {train: {vocabularySize: 300}}
                filesPerTask: 1
                dedup: true
            """)
        XCTAssertEqual(try opsctl(["apply", "-f", tokenize]).status, 0)
        XCTAssertEqual(try waitForJob("lin-tok"), "succeeded")
        let train = try write(
            "train",
            """
            apiVersion: llmops/v1
            kind: Job
            metadata: {name: lin-train}
            spec:
              type: train
              resources: {cpu: 1, memory: 512Mi}
              train:
                model: {vocabularySize: 300, contextLength: 16, layers: 1, heads: 2, width: 16}
                data: [{dataset: lin, weight: 1}]
                batchSize: 4
                sequenceLength: 16
                gradientAccumulation: 2
                steps: 12
                seed: 77
                checkpointEvery: 5
                logEvery: 5
                threads: 1
            ---
            apiVersion: llmops/v1
            kind: Job
            metadata: {name: lin-eval}
            spec:
              type: eval
              after: [lin-train]
              resources: {cpu: 1, memory: 512Mi}
              eval:
                checkpoint: {job: lin-train}
                data: [{dataset: lin}]
                sequenceLength: 16
                maxTokens: 256
            """)
        let applied = try opsctl(["apply", "-f", train])
        XCTAssertEqual(applied.status, 0, applied.output)
        XCTAssertEqual(try waitForJob("lin-train"), "succeeded")
        XCTAssertEqual(try waitForJob("lin-eval"), "succeeded")

        // The dataset's lineage: four shards, each with its input file (checksums as computed here), the trained
        // tokenizer, the job that wrote it, and the five dropped duplicates with their keepers.
        let datasetJSON = try opsctl(["lineage", "dataset", "lin", "-o", "json"])
        XCTAssertEqual(datasetJSON.status, 0, datasetJSON.output)
        let graph = try WireCoding.decode(LineageGraph.self, from: Data(datasetJSON.output.utf8))
        let children = graph.nodes.filter { $0.depth == 1 }
        XCTAssertEqual(children.filter { $0.kind == .shard }.map(\.id).sorted(), ["lin/0", "lin/1", "lin/2", "lin/3"])
        XCTAssertEqual(children.filter { $0.kind == .tokenizer }.count, 1)
        XCTAssertEqual(children.filter { $0.kind == .job }.map(\.id), ["lin-tok"])
        let expectedInputs = try Set(Self.files.map { try SHA256.hex(ofFileAt: inputs + "/" + $0.name) })
        XCTAssertEqual(Set(graph.nodes.filter { $0.kind == .input }.map(\.id)), expectedInputs)
        let dropped = children.filter { $0.kind == .document }
        XCTAssertEqual(dropped.count, 5, datasetJSON.output)
        XCTAssertTrue(dropped.allSatisfy { $0.relation == "dropped-exact-duplicate" })
        // a.jsonl:4 repeats a.jsonl:1 (same chunk: file and line); b.jsonl:1 repeats shard 0's "b".
        let inChunk = try XCTUnwrap(dropped.first { $0.id.hasSuffix("/a.jsonl:4") }, datasetJSON.output)
        XCTAssertEqual(inChunk.detail["keeperFile"]?.stringValue, inputs + "/a.jsonl")
        XCTAssertEqual(inChunk.detail["keeperLine"]?.intValue, 1)
        let acrossChunks = try XCTUnwrap(dropped.first { $0.id.hasSuffix("/b.jsonl:1") }, datasetJSON.output)
        XCTAssertEqual(acrossChunks.detail["keeperShard"]?.intValue, 0)
        // The analysts' view holds the same edges.
        let viewCount = try pool.withConnection {
            try $0.queryOne(
                "SELECT count(*)::int AS n FROM lineage_edges WHERE to_kind = 'dataset' AND to_id = 'lin' AND from_kind = 'document'"
            ).int("n")
        }
        XCTAssertEqual(viewCount, 5)

        // The final checkpoint's lineage, as the indented tree: the run (seed, stream state) → the dataset → …
        let checkpoint = try opsctl(["lineage", "checkpoint", "lin-train"])
        XCTAssertEqual(checkpoint.status, 0, checkpoint.output)
        print(checkpoint.output)
        XCTAssertTrue(checkpoint.output.hasPrefix("checkpoint lin-train@12\n"), checkpoint.output)
        for expected in [
            "└─ job lin-train  [produced]", "seed 77", "\"position\":", "dataset lin  [trained-on]", "weight ",
            "shard lin/0  [part-of]", "[read-into]", "tokenizer ", "[dropped-exact-duplicate]",
        ] {
            XCTAssertTrue(checkpoint.output.contains(expected), "\(expected) in:\n\(checkpoint.output)")
        }
        let eval = try opsctl(["lineage", "eval", "lin-eval"])
        XCTAssertEqual(eval.status, 0, eval.output)
        XCTAssertTrue(eval.output.contains("checkpoint lin-train@12  [evaluated-by]"), eval.output)
        XCTAssertTrue(eval.output.contains("dataset lin  [evaluated-on]"), eval.output)

        // The dashboard draws the same trees: the train job's page (its newest checkpoint's) and the dataset's.
        let jobPage = try dashboardPage("/jobs/lin-train", port: port, token: admin)
        XCTAssertTrue(jobPage.contains("Lineage of checkpoint lin-train@12"), jobPage)
        XCTAssertTrue(
            jobPage.contains(
                "<span class=\"relation\">trained-on</span> <span class=\"kind\">dataset</span> <code>lin</code>"),
            jobPage)
        let datasetPage = try dashboardPage("/datasets/lin", port: port, token: admin)
        XCTAssertTrue(datasetPage.contains("Lineage of dataset lin"), datasetPage)
        XCTAssertTrue(
            datasetPage.contains(
                "<span class=\"relation\">part-of</span> <span class=\"kind\">shard</span> <code>lin/0</code>"),
            datasetPage)

        // Replays: from the start, from checkpoint @5's stream state, from @10's; the checksums are the run's.
        for (step, from) in [(1, nil), (7, "lin-train@5"), (12, "lin-train@10")] as [(Int, String?)] {
            let replayed = try opsctl(["replay", "lin-train", "--step", "\(step)", "-o", "json"])
            XCTAssertEqual(replayed.status, 0, replayed.output)
            let batch = try WireCoding.decode(ReplayedBatch.self, from: Data(replayed.output.utf8))
            XCTAssertEqual(batch.fromCheckpoint, from)
            XCTAssertNotNil(batch.recordedChecksum, "the trainer reported step \(step)")
            XCTAssertEqual(batch.replayedChecksum, batch.recordedChecksum, "step \(step)")
            XCTAssertEqual(batch.samples.count, 8, "2 micro-batches of 4")
            for piece in batch.samples.flatMap(\.pieces) {
                let file = try XCTUnwrap(piece.file)
                let line = try XCTUnwrap(piece.line)
                let text = try XCTUnwrap(lineTexts["\(file):\(line)"], "\(file):\(line) is an input line")
                // The decoded piece is that line's text from the piece's offset on (up to the end-of-text token).
                let decoded = piece.excerpt.components(separatedBy: "<|endoftext|>")[0]
                let core = decoded.hasSuffix("…") ? String(decoded.dropLast()) : decoded
                guard !core.isEmpty else { continue } // a piece of only the end-of-text token
                XCTAssertTrue(text.contains(core), "\(piece.excerpt) is not in \(file):\(line)")
                if piece.tokenOffset == 0 { XCTAssertTrue(text.hasPrefix(core), "\(piece.excerpt) starts the line") }
            }
        }
        let text = try opsctl(["replay", "lin-train", "--step", "3"])
        XCTAssertEqual(text.status, 0, text.output)
        XCTAssertTrue(text.output.contains("= what the run trained on"), text.output)
        XCTAssertTrue(text.output.contains(inputs + "/"), text.output)

        // Unknown job, step, rank and node: clear errors, nothing else.
        for (arguments, message) in [
            (["replay", "nosuch", "--step", "1"], "no job named nosuch"),
            (["replay", "lin-train", "--step", "13"], "query parameter step: job lin-train has recorded steps 1...12"),
            (
                ["replay", "lin-train", "--step", "1", "--rank", "1"],
                "query parameter rank: job lin-train has ranks 0...0"
            ),
            (["replay", "lin-eval", "--step", "1"], "job lin-eval is of type eval"),
            (["replay", "lin-train"], "--step N is required"),
            (["lineage", "dataset", "nosuch"], "no dataset nosuch is recorded"),
            (["lineage", "checkpoint", "lin-train@99"], "no checkpoint lin-train@99 is recorded"),
            (["lineage", "checkpoint", "lin-eval"], "job lin-eval has no checkpoint"),
        ] {
            let result = try opsctl(arguments)
            XCTAssertNotEqual(result.status, 0, arguments.joined(separator: " "))
            XCTAssertTrue(result.output.contains(message), "\(arguments): \(result.output)")
        }
        finished = true
    }

    /// A dashboard page's HTML, signed in with `token` through the login form (docs/dashboard.md).
    private func dashboardPage(_ path: String, port: Int, token: String) throws -> String {
        let client = HTTPClient()
        let login = try client.send(
            HTTPClientRequest(
                method: "POST", url: "http://127.0.0.1:\(port)/login",
                headers: ["Content-Type": "application/x-www-form-urlencoded"], body: Data("token=\(token)".utf8)))
        XCTAssertEqual(login.status, 303, login.text)
        let cookie = try XCTUnwrap(
            login.headers.first { $0.name.lowercased() == "set-cookie" }?.value.split(separator: ";").first)
        let page = try client.send(
            HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)", headers: ["Cookie": String(cookie)]))
        XCTAssertEqual(page.status, 200, page.text)
        return page.text
    }
}

import APITypes
import Checksum
import DataShards
import Foundation
import Postgres
import TestSupport
import XCTest

/// Datasets between nodes that share no disk (issue 14), on a real local cluster: PostgreSQL, `opsctl serve`
/// and two `opsctl worker` processes, each with its own state and work directory and the control plane's blob
/// store as artifact store. `opsctl apply` uploads the tokenize job's local inputs and tokenizer (a second job
/// over the same files uploads nothing), the tokenize tasks upload their shards into a dataset with no
/// location, and a `verify` job on the OTHER worker reads the dataset by name, fetching every file from the
/// blob store into its shard cache; the cached bytes hash to the registered rows.
final class DatasetsByNameClusterTests: OpsctlClusterTestCase {
    override class var directoryPrefix: String { "datasets-by-name-" }

    /// Six small input files (txt and jsonl) and a tokenizer trained on them, on the "submitting machine".
    private func writeInputsAndTokenizer() throws -> String {
        let directory = root.path + "/laptop/inputs"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var trainer = try BPETrainer(vocabularySize: 300, specialTokens: ["<|endoftext|>"], splitPattern: .llama3)
        for i in 0..<6 {
            let text = (0..<40).map { "def f\($0 * i)(x): return x + \(i) # python docs line \($0)" }.joined(
                separator: "\n")
            trainer.add(text)
            if i % 2 == 0 {
                try text.write(toFile: directory + "/doc\(i).txt", atomically: true, encoding: .utf8)
            } else {
                let line = String(
                    decoding: try JSONSerialization.data(withJSONObject: ["text": text]), as: UTF8.self)
                try (line + "\n" + line + "\n").write(
                    toFile: directory + "/doc\(i).jsonl", atomically: true, encoding: .utf8)
            }
        }
        try trainer.train().save(to: root.path + "/laptop/tokenizer.json")
        return directory
    }

    private func tokenizeManifest(_ name: String, dataset: String, inputs: String, tokenizer: String) -> String {
        """
        apiVersion: llmops/v1
        kind: Job
        metadata: {name: \(name)}
        spec:
          type: tokenize
          resources: {cpu: 1, memory: 256Mi}
          retry: {maxAttempts: 3, backoffSeconds: 0.2, maxBackoffSeconds: 1}
          tokenize:
            inputs: ["\(inputs)/*.txt", "\(inputs)/*.jsonl"]
            output: {dataset: \(dataset)}
            tokenizer: \(tokenizer)
            filesPerTask: 2
        """
    }

    func testTokenizeUploadsInputsOnceAndAnotherWorkerVerifiesTheDatasetByName() throws {
        let inputs = try writeInputsAndTokenizer()
        let plane = try startControlPlane()
        let (pool, common) = (plane.pool, plane.common)
        func startWorker(_ name: String) throws {
            try self.startWorker(
                name, workDirectory: root.path + "/\(name)/work", arguments: ["--artifact-store", "control-plane"],
                environment: plane.node(name))
        }
        func aliveWorkers() throws -> [String] {
            try pool.withConnection {
                try $0.query("SELECT name FROM workers WHERE state = 'alive' ORDER BY name").map {
                    try $0.string("name")
                }
            }
        }

        // The writer: w1 alone tokenizes.
        try startWorker("w1")
        try waitUntil("w1 registered", timeoutSeconds: 60, intervalSeconds: 0.2) { try aliveWorkers() == ["w1"] }
        try tokenizeManifest(
            "tok-docs", dataset: "pydocs", inputs: inputs, tokenizer: "{path: \(root.path)/laptop/tokenizer.json}"
        ).write(
            toFile: root.path + "/tok.yaml", atomically: true, encoding: .utf8)
        let first = try processes.run(["apply", "-f", root.path + "/tok.yaml"], environment: common)
        XCTAssertEqual(first.status, 0, first.output)
        // Six inputs and the tokenizer, none stored before.
        XCTAssertTrue(first.output.contains("inputs: 7 file(s) uploaded"), first.output)
        XCTAssertEqual(try waitForJob("tok-docs"), "succeeded", logs())

        // The same inputs again, with the tokenizer pydocs was made with: every file is already stored, not a
        // byte is sent, and the worker fetches the tokenizer by the dataset's record.
        try tokenizeManifest("tok-docs-again", dataset: "pydocs-again", inputs: inputs, tokenizer: "{dataset: pydocs}")
            .write(
                toFile: root.path + "/again.yaml", atomically: true, encoding: .utf8)
        let second = try processes.run(["apply", "-f", root.path + "/again.yaml"], environment: common)
        XCTAssertEqual(second.status, 0, second.output)
        XCTAssertTrue(
            second.output.contains("inputs: 0 file(s) uploaded (0 bytes), 6 already stored"), second.output)
        XCTAssertEqual(try waitForJob("tok-docs-again"), "succeeded", logs())

        // The rows: three shards with blob locations for both files, and the dataset located by name.
        let rows = try pool.withConnection { c in
            try c.query(
                """
                SELECT s.shard_index, s.location, s.sha256, s.idx_location, s.idx_sha256, d.location AS dataset
                FROM shards s JOIN datasets d ON d.id = s.dataset_id WHERE d.name = 'pydocs' ORDER BY s.shard_index
                """
            ).map {
                (
                    location: try $0.string("location"), sha: try $0.string("sha256"),
                    idxLocation: try $0.string("idx_location"), idxSHA: try $0.string("idx_sha256"),
                    dataset: try $0.string("dataset")
                )
            }
        }
        XCTAssertEqual(rows.count, 3)
        for row in rows {
            XCTAssertEqual(row.dataset, "cp://datasets/pydocs")
            XCTAssertEqual(row.location, "cp://blobs/" + row.sha)
            XCTAssertEqual(row.idxLocation, "cp://blobs/" + row.idxSHA)
        }
        // Same inputs and tokenizer (by dataset): the second dataset has the same shard bytes and tokenizer.
        let againSHAs = try pool.withConnection { c in
            try c.query(
                "SELECT s.sha256 FROM shards s JOIN datasets d ON d.id = s.dataset_id WHERE d.name = 'pydocs-again' ORDER BY s.shard_index"
            ).map { try $0.string("sha256") }
        }
        XCTAssertEqual(againSHAs, rows.map(\.sha))
        let tokenizers = try pool.withConnection { c in
            try c.query("SELECT metadata->>'tokenizer' AS t FROM datasets ORDER BY name").map { try $0.string("t") }
        }
        let tokenizerSHA = try SHA256.hex(ofFileAt: root.path + "/laptop/tokenizer.json")
        XCTAssertEqual(tokenizers, ["cp://blobs/" + tokenizerSHA, "cp://blobs/" + tokenizerSHA])

        // The reader: w1 leaves, w2 (which wrote nothing) verifies the dataset by name.
        _ = processes["w1"].terminate(timeoutSeconds: 10)
        try startWorker("w2")
        try waitUntil("only w2 alive", timeoutSeconds: 60, intervalSeconds: 0.2) { try aliveWorkers() == ["w2"] }
        try """
        apiVersion: llmops/v1
        kind: Job
        metadata: {name: verify-docs}
        spec:
          type: verify
          resources: {cpu: 1, memory: 256Mi}
          verify: {dataset: pydocs, shardsPerTask: 1}
        """.write(toFile: root.path + "/verify.yaml", atomically: true, encoding: .utf8)
        let verify = try processes.run(["apply", "-f", root.path + "/verify.yaml"], environment: common)
        XCTAssertEqual(verify.status, 0, verify.output)
        XCTAssertEqual(try waitForJob("verify-docs"), "succeeded", logs())
        let checked = try pool.withConnection { c in
            try c.query(
                """
                SELECT (t.result->>'checked')::int AS n FROM tasks t JOIN jobs j ON j.id = t.job_id
                WHERE j.name = 'verify-docs'
                """
            ).map { try $0.int("n") }
        }
        XCTAssertEqual(checked.reduce(0, +), 3)

        // w2's shard cache holds every file, and the bytes hash to the registered rows.
        let cache = root.path + "/w2/work/shard-cache"
        let cached = try FileManager.default.contentsOfDirectory(atPath: cache).filter { !$0.hasPrefix(".") }
        let cachedSHAs = Set(try cached.map { try SHA256.hex(ofFileAt: cache + "/" + $0) })
        XCTAssertEqual(cachedSHAs, Set(rows.flatMap { [$0.sha, $0.idxSHA] }))
        // Its heartbeat reports the shards under the dataset's location (data locality).
        try waitUntil("w2 reports its cached shards", timeoutSeconds: 30, intervalSeconds: 0.2) {
            let reported = try pool.withConnection {
                try $0.queryOne(
                    "SELECT coalesce(array_to_json(cached_shards)::text, '[]') AS s FROM workers WHERE name = 'w2'"
                ).string("s")
            }
            return rows.allSatisfy { reported.contains("cp://datasets/pydocs/\($0.sha).bin") }
        }
        // Nothing of the dataset was written under the reader's or the control plane's state besides blobs.
        XCTAssertFalse(FileManager.default.fileExists(atPath: root.path + "/w2/state/artifacts/pydocs"))
        finished = true
    }

    private func logs() -> String {
        ["serve", "w1", "w2"].compactMap { name in
            (try? String(contentsOfFile: root.path + "/\(name).log", encoding: .utf8)).map {
                "--- \(name)\n" + $0.suffix(3000)
            }
        }.joined(separator: "\n")
    }
}

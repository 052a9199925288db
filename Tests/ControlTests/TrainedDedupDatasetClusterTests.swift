import APITypes
import Checksum
import Foundation
import Postgres
import TestSupport
import XCTest

@testable import Control

/// A tokenize job that trains its tokenizer and de-duplicates, into a dataset with no location, on nodes that
/// share nothing but the network: PostgreSQL, `opsctl serve`, two `opsctl worker` processes with private
/// directories and the control plane's blob store as artifact store. The trained tokenizer.json travels as the
/// `-tokenizer` job's artifact, the scan's hash files through the `-dedup` job's exchange; the dataset holds each
/// distinct document once although duplicates sit in chunks of different tasks, records the trained tokenizer,
/// and a second job tokenizes with `tokenizer: {dataset:}`. Every blob left besides the uploaded inputs is one
/// the garbage collector sees as referenced.
final class TrainedDedupDatasetClusterTests: OpsctlClusterTestCase {
    override class var directoryPrefix: String { "trained-dedup-" }

    /// Seven distinct documents (a to g) in twelve lines over four files, with repeats inside a file and across
    /// files (one differing only in whitespace, which the normalization folds).
    static let distinctDocuments = 7
    static let files: [(name: String, lines: [String])] = [
        ("a.jsonl", ["a", "b", "c", "a"]), ("b.jsonl", ["b", "d", "e"]), ("c.jsonl", ["c", "d ", "f"]),
        ("d.jsonl", ["a", "g"]),
    ]

    static func text(_ key: String) -> String {
        let base = key.trimmingCharacters(in: .whitespaces)
        let words = (0..<30).map { "\(base)word\($0 % 7) def f\($0)(x): return x + \($0)" }.joined(separator: " ")
        // "d " is "d" with a doubled space inside: the same document after normalization.
        return key.hasSuffix(" ") ? words.replacingOccurrences(of: " return", with: "  return") : words
    }

    private func writeInputs() throws -> String {
        let directory = root.path + "/laptop/inputs"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for file in Self.files {
            let lines = try file.lines.map {
                String(decoding: try JSONSerialization.data(withJSONObject: ["text": Self.text($0)]), as: UTF8.self)
            }
            try (lines.joined(separator: "\n") + "\n").write(
                toFile: directory + "/" + file.name, atomically: true, encoding: .utf8)
        }
        return directory
    }

    private func manifest(_ name: String, dataset: String, inputs: String, tokenizer: String, dedup: Bool) -> String {
        """
        apiVersion: llmops/v1
        kind: Job
        metadata: {name: \(name)}
        spec:
          type: tokenize
          resources: {cpu: 1, memory: 256Mi}
          retry: {maxAttempts: 3, backoffSeconds: 0.2, maxBackoffSeconds: 1}
          tokenize:
            inputs: ["\(inputs)/*.jsonl"]
            output: {dataset: \(dataset)}
            tokenizer: \(tokenizer)
            filesPerTask: 1
            dedup: \(dedup)
        """
    }

    func testTrainedTokenizerAndDedupWithNoLocationOverTheNetwork() throws {
        let inputs = try writeInputs()
        let plane = try startControlPlane()
        let (pool, common) = (plane.pool, plane.common)
        for name in ["w1", "w2"] {
            try startWorker(
                name, maxTasks: 1, workDirectory: root.path + "/\(name)/work",
                arguments: ["--artifact-store", "control-plane"], environment: plane.node(name))
        }
        try waitUntil("both workers registered", timeoutSeconds: 60, intervalSeconds: 0.2) {
            try pool.withConnection {
                try $0.queryOne("SELECT count(*)::int AS n FROM workers WHERE state = 'alive'").int("n")
            } == 2
        }
        func shards(_ dataset: String) throws -> [(documents: Int, sha: String, idxSHA: String)] {
            try pool.withConnection { c in
                try c.query(
                    """
                    SELECT s.documents::int AS n, s.sha256, s.idx_sha256 FROM shards s
                    JOIN datasets d ON d.id = s.dataset_id WHERE d.name = $1 ORDER BY s.shard_index
                    """, [.text(dataset)]
                ).map { (try $0.int("n"), try $0.string("sha256"), try $0.string("idx_sha256")) }
            }
        }
        func recordedTokenizer(_ dataset: String) throws -> (location: String, sha: String) {
            try pool.withConnection {
                let row = try $0.queryOne(
                    "SELECT metadata->>'tokenizer' AS t, metadata->>'tokenizerSHA256' AS s FROM datasets WHERE name = $1",
                    [.text(dataset)])
                return (try row.string("t"), try row.string("s"))
            }
        }

        try manifest("tok-dd", dataset: "dd", inputs: inputs, tokenizer: "{train: {vocabularySize: 300}}", dedup: true)
            .write(toFile: root.path + "/tok.yaml", atomically: true, encoding: .utf8)
        let first = try processes.run(["apply", "-f", root.path + "/tok.yaml"], environment: common)
        XCTAssertEqual(first.status, 0, first.output)
        XCTAssertEqual(try waitForJob("tok-dd"), "succeeded", logs())

        // Four chunks (one per task), seven distinct documents of twelve.
        let written = try shards("dd")
        XCTAssertEqual(written.count, 4)
        XCTAssertEqual(written.map(\.documents).reduce(0, +), Self.distinctDocuments, logs())
        XCTAssertEqual(written.map(\.documents), [3, 2, 1, 1], "first occurrences in dataset order are kept")
        // The scan published one hash file per chunk in its job's exchange.
        let hashFiles = try pool.withConnection { c in
            try c.query(
                """
                SELECT e.name, e.sha256 FROM training_exchange e JOIN jobs j ON j.id = e.job_id
                WHERE j.name = 'tok-dd-dedup' ORDER BY e.name
                """
            ).map { (name: try $0.string("name"), sha: try $0.string("sha256")) }
        }
        XCTAssertEqual(hashFiles.map(\.name), (0..<4).map { TokenizeTaskSpec.shardName(index: $0) + ".hashes" })
        // The dataset records the trained tokenizer: the train job's artifact.
        let artifact = try pool.withConnection {
            let row = try $0.queryOne(
                """
                SELECT a.location, a.sha256 FROM artifacts a JOIN jobs j ON j.id = a.job_id
                WHERE j.name = 'tok-dd-tokenizer' AND a.kind = 'tokenizer'
                """)
            return (location: try row.string("location"), sha: try row.string("sha256"))
        }
        XCTAssertEqual(artifact.location, "cp://blobs/" + artifact.sha)
        let recorded = try recordedTokenizer("dd")
        XCTAssertEqual(recorded.location, artifact.location)
        XCTAssertEqual(recorded.sha, artifact.sha)

        // A second job with the tokenizer dd was made with, no dedup: every line is a document.
        try manifest("tok-again", dataset: "dd-again", inputs: inputs, tokenizer: "{dataset: dd}", dedup: false)
            .write(toFile: root.path + "/again.yaml", atomically: true, encoding: .utf8)
        let second = try processes.run(["apply", "-f", root.path + "/again.yaml"], environment: common)
        XCTAssertEqual(second.status, 0, second.output)
        XCTAssertEqual(try waitForJob("tok-again"), "succeeded", logs())
        let again = try shards("dd-again")
        XCTAssertEqual(again.map(\.documents).reduce(0, +), Self.files.map(\.lines.count).reduce(0, +))
        XCTAssertEqual(try recordedTokenizer("dd-again").sha, artifact.sha)

        // Every blob in the control plane's store is an uploaded input (referenced only while a task waits for it)
        // or referenced by a row: the collector keeps the tokenizer, the hash files and the shards.
        let inputSHAs = Set(try Self.files.map { try SHA256.hex(ofFileAt: inputs + "/" + $0.name) })
        let stored = try blobsOnDisk(root.path + "/control")
        XCTAssertTrue(stored.contains(artifact.sha))
        XCTAssertTrue(Set(hashFiles.map(\.sha)).isSubset(of: stored))
        let created = stored.subtracting(inputSHAs)
        let referenced = try pool.withConnection {
            try $0.query(BlobReferenceSQL.referencedAmong, [.textArray(created.sorted())])
                .map { try $0.string("sha256") }
        }
        XCTAssertEqual(Set(referenced), created)
        finished = true
    }

    /// The checksums of the blob files under `directory` (`…/blobs/<aa>/<sha256>`).
    private func blobsOnDisk(_ directory: String) throws -> Set<String> {
        var found = Set<String>()
        let enumerator = FileManager.default.enumerator(atPath: directory)
        while let path = enumerator?.nextObject() as? String {
            let parts = path.split(separator: "/")
            guard parts.count >= 3, parts[parts.count - 3] == "blobs", parts.last?.count == 64 else { continue }
            found.insert(String(parts.last!))
        }
        return found
    }

    private func logs() -> String {
        ["serve", "w1", "w2"].compactMap { name in
            (try? String(contentsOfFile: root.path + "/\(name).log", encoding: .utf8)).map {
                "--- \(name)\n" + $0.suffix(3000)
            }
        }.joined(separator: "\n")
    }
}

import DataShards
import Foundation
import Postgres
import TestSupport
import XCTest

@testable import Control

/// `stream` and `verify` jobs on a real local cluster: `opsctl serve` + 2 `opsctl worker` processes and a
/// throwaway PostgreSQL. The materialized mixture is read back and compared with the library's own stream;
/// corrupt shards are found, named and marked bad in the database.
final class StreamClusterTests: XCTestCase {
    private var cluster: ProcessCluster!
    private var server = ""

    override func setUp() async throws {
        cluster = try ProcessCluster()
        let port = try FreePort.next()
        server = "http://127.0.0.1:\(port)"
        let serve = try cluster.startServe(port: port, leaseSeconds: 10, heartbeatSeconds: 0.5)
        try await waitUntilReady(RawHTTP(baseURL: server), process: serve)
        // One task at a time per worker, so the tasks of a job spread over both.
        _ = try cluster.startWorker(name: "node-a", server: server, maxTasks: 1, pollWait: 1)
        _ = try cluster.startWorker(name: "node-b", server: server, maxTasks: 1, pollWait: 1)
        let cluster = self.cluster!
        try waitUntil("both workers registered", timeoutSeconds: 60) {
            (try? cluster.count("SELECT count(*) AS n FROM workers")) == 2
        }
    }

    override func tearDown() {
        if let cluster, (testRun?.totalFailureCount ?? 0) > 0 { print(cluster.logs()) }
        cluster?.shutdown()
        cluster = nil
    }

    private func apply(_ name: String, _ yaml: String, timeoutSeconds: Double = 120) throws -> CommandResult {
        let path = try cluster.writeManifest(name + ".yaml", yaml)
        return try cluster.run(
            ["apply", "-f", path, "--wait", "--timeout", String(Int(timeoutSeconds))], server: server,
            timeoutSeconds: timeoutSeconds + 10)
    }

    private func shardStates(_ dataset: String) throws -> [Int: (state: String, reason: String?)] {
        try cluster.sql { c in
            var states: [Int: (String, String?)] = [:]
            for row in try c.query(
                "SELECT s.shard_index, s.state, s.bad_reason FROM shards s JOIN datasets d ON d.id = s.dataset_id WHERE d.name = $1",
                [.text(dataset)])
            {
                states[try row.int("shard_index")] = (try row.string("state"), try row.optionalString("bad_reason"))
            }
            return states
        }
    }

    // MARK: Materialize

    func testStreamJobOnTwoWorkersWritesTheLibrarysStream() throws {
        let data = cluster.directory.path + "/data"
        let webIndex = try StreamTestData.makeDataset(
            directory: data + "/web", name: "web", shards: 3, documentsPerShard: 40, seed: 1)
        try StreamTestData.makeDataset(
            directory: data + "/code", name: "code", shards: 2, documentsPerShard: 30, seed: 2)
        try StreamTestData.register(webIndex, directory: data + "/web", databaseURL: cluster.databaseURL)

        let apply = try apply(
            "mix",
            """
            apiVersion: llmops/v1
            kind: Job
            metadata: {name: mix}
            spec:
              type: stream
              resources: {cpu: 500m, memory: 64Mi}
              stream:
                inputs:
                  - {dataset: web, weight: 0.7}
                  - {location: \(data)/code, weight: 0.3}
                sequenceLength: 32
                seed: 7
                samples: 500
                samplesPerShard: 50
                shuffleWindow: 16
                output: {dataset: mix, location: \(data)}
            """)
        XCTAssertEqual(apply.status, 0, "apply --wait failed:\n\(apply.stdout)\n\(apply.stderr)")
        XCTAssertEqual(
            try cluster.count(
                "SELECT count(*) AS n FROM tasks t JOIN jobs j ON j.id = t.job_id WHERE j.name = 'mix' AND t.state = 'succeeded'"
            ), 10)
        let workers = try cluster.count(
            """
            SELECT count(DISTINCT a.worker_id) AS n FROM task_attempts a JOIN tasks t ON t.id = a.task_id JOIN jobs j ON j.id = t.job_id
            WHERE j.name = 'mix' AND a.state = 'succeeded'
            """)
        // Which worker takes which task is timing-dependent: both may, one idle worker is not an error.
        XCTAssertGreaterThanOrEqual(workers, 1, "the ten tasks ran on the cluster's workers")

        // The output dataset: ten shards of the exactly-once writer, recorded with provenance.
        let out = data + "/mix"
        let index = try DatasetIndex.load(fromDirectory: out)
        XCTAssertEqual(index.shards.map(\.name), (0..<10).map { String(format: "mix-%05d", $0) })
        XCTAssertTrue(ShardVerifier.verifyDataset(index, inDirectory: out).isEmpty)
        let provenance = try XCTUnwrap(index.provenance)
        XCTAssertEqual(provenance.inputs.map(\.dataset), ["web", "code"])
        XCTAssertEqual(provenance.inputs.map { ($0.weight * 1000).rounded() }, [700, 300])
        XCTAssertEqual(provenance.inputs.map(\.location), [data + "/web", data + "/code"])
        XCTAssertEqual(provenance.seed, 7)
        XCTAssertEqual(provenance.sampleTokens, 33)

        // Same samples in the same order as the library's stream over the same mixture.
        let stream = try TokenStream(
            StreamConfiguration(
                sources: [
                    try StreamSource.directory(data + "/web", weight: 0.7),
                    try StreamSource.directory(data + "/code", weight: 0.3),
                ],
                sequenceLength: 32, batchSize: 1, seed: 7, shuffleWindow: 16))
        var expected: [Int32] = []
        var ids: [SampleID] = []
        try stream.read(globalPositions: 0, count: 500, into: &expected, ids: &ids)
        var written: [Int32] = []
        for shard in index.shards {
            let reader = try ShardReader(prefix: out + "/" + shard.name)
            XCTAssertEqual(reader.sequenceLengths, Array(repeating: 33, count: reader.sequenceCount))
            for i in 0..<reader.sequenceCount { written += try reader.tokens(ofDocument: i).map { Int32($0) } }
        }
        XCTAssertEqual(written.count, 500 * 33)
        XCTAssertTrue(written == expected, "the materialized samples differ from the library's stream")

        // No stray temporaries; the tasks' results carry the shard facts.
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: out).contains { $0.hasPrefix(".") })
        let results = try cluster.sql { c in
            try c.query(
                "SELECT t.result::text AS r FROM tasks t JOIN jobs j ON j.id = t.job_id WHERE j.name = 'mix' ORDER BY t.task_index"
            )
            .map { try $0.string("r") }
        }
        XCTAssertEqual(results.count, 10)
        XCTAssertTrue(results.allSatisfy { $0.contains("datasetShard") }, "\(results)")

        // PostgreSQL: the new dataset (made by the job, with its provenance) and each shard once, as on disk.
        let (location, metadata, madeBy) = try cluster.sql { c in
            let row = try c.queryOne(
                "SELECT d.location, d.metadata::text AS m, j.name AS job FROM datasets d JOIN jobs j ON j.id = d.job_id WHERE d.name = 'mix'"
            )
            return (try row.string("location"), try row.string("m"), try row.string("job"))
        }
        XCTAssertEqual(location, out)
        XCTAssertEqual(madeBy, "mix")
        let recorded = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(metadata.utf8)) as? [String: Any])
        let recordedProvenance = try XCTUnwrap(recorded["provenance"] as? [String: Any], metadata)
        XCTAssertEqual(recordedProvenance["seed"] as? Int, 7, metadata)
        XCTAssertEqual(
            (recordedProvenance["inputs"] as? [[String: Any]])?.compactMap { $0["dataset"] as? String },
            ["web", "code"], metadata)
        let shardRows = try cluster.sql { c in
            try c.query(
                "SELECT s.shard_index, s.sha256, s.location FROM shards s JOIN datasets d ON d.id = s.dataset_id WHERE d.name = 'mix' ORDER BY s.shard_index"
            )
            .map { "\(try $0.int("shard_index")) \(try $0.string("sha256")) \(try $0.string("location"))" }
        }
        XCTAssertEqual(
            shardRows,
            index.shards.enumerated().map { "\($0.offset) \($0.element.binSHA256) \(out)/\($0.element.binFile)" })
        let listed = try cluster.run(["get", "shards", "mix"], server: server)
        XCTAssertEqual(listed.status, 0, listed.stderr)
        XCTAssertEqual(
            listed.stdout.split(separator: "\n").filter { $0.contains("mix-0000") && $0.contains(" ok ") }.count, 10,
            listed.stdout)
    }

    // MARK: Corrupt shards

    func testVerifyAndStreamJobsFindCorruptShardsAndMarkThemBad() throws {
        let data = cluster.directory.path + "/data"
        let audited = try StreamTestData.makeDataset(
            directory: data + "/audited", name: "audited", shards: 5, documentsPerShard: 10, seed: 3)
        let read = try StreamTestData.makeDataset(
            directory: data + "/read", name: "read", shards: 3, documentsPerShard: 10, seed: 4)
        try StreamTestData.register(audited, directory: data + "/audited", databaseURL: cluster.databaseURL)
        try StreamTestData.register(read, directory: data + "/read", databaseURL: cluster.databaseURL)
        try StreamTestData.flipByte(in: data + "/audited/audited-00003.bin")
        try StreamTestData.flipByte(in: data + "/read/read-00001.bin")

        // verify: split over tasks, finds exactly the flipped shard, fails naming it, marks it bad.
        let verify = try apply(
            "audit",
            """
            apiVersion: llmops/v1
            kind: Job
            metadata: {name: audit}
            spec:
              type: verify
              resources: {cpu: 500m, memory: 64Mi}
              verify: {dataset: audited, shardsPerTask: 2}
            """)
        XCTAssertNotEqual(verify.status, 0, "a verify job that finds a bad shard fails:\n\(verify.stdout)")
        XCTAssertEqual(
            try cluster.count(
                "SELECT count(*) AS n FROM tasks t JOIN jobs j ON j.id = t.job_id WHERE j.name = 'audit'"), 3)
        XCTAssertEqual(
            try cluster.count(
                "SELECT count(*) AS n FROM tasks t JOIN jobs j ON j.id = t.job_id WHERE j.name = 'audit' AND t.state = 'succeeded'"
            ), 2)
        let states = try shardStates("audited")
        XCTAssertEqual(states.filter { $0.value.state == "bad" }.map(\.key), [3], "\(states)")
        XCTAssertTrue(states[3]?.reason?.contains("audited-00003.bin") ?? false, "\(String(describing: states[3]))")
        let errors = try cluster.sql { c in
            try c.query(
                "SELECT coalesce(t.error, '') AS e FROM tasks t JOIN jobs j ON j.id = t.job_id WHERE j.name = 'audit' AND t.state = 'failed'"
            )
            .map { try $0.string("e") }
        }
        XCTAssertEqual(errors.count, 1)
        XCTAssertTrue(errors[0].contains("audited-00003"), errors[0])
        XCTAssertEqual(
            try cluster.count(
                "SELECT count(*) AS n FROM task_attempts a JOIN tasks t ON t.id = a.task_id JOIN jobs j ON j.id = t.job_id WHERE j.name = 'audit' AND t.state = 'failed'"
            ), 1,
            "a corrupt shard is not retried")

        // A stream over a corrupt input: the task stops at the shard, names it, and the shard is marked bad.
        let stream = try apply(
            "mix2",
            """
            apiVersion: llmops/v1
            kind: Job
            metadata: {name: mix2}
            spec:
              type: stream
              resources: {cpu: 500m, memory: 64Mi}
              stream:
                inputs: [{dataset: read}]
                sequenceLength: 16
                samples: 200
                samplesPerShard: 1000
                output: {dataset: mix2, location: \(data)}
            """)
        XCTAssertNotEqual(stream.status, 0, stream.stdout)
        let streamError = try cluster.sql { c in
            try c.queryOne(
                "SELECT coalesce(t.error, '') AS e FROM tasks t JOIN jobs j ON j.id = t.job_id WHERE j.name = 'mix2'"
            ).string("e")
        }
        XCTAssertTrue(streamError.contains("read-00001"), streamError)
        XCTAssertEqual(try shardStates("read").filter { $0.value.state == "bad" }.map(\.key), [1])
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: data + "/mix2/mix2-00000.bin"),
            "nothing is written from a corrupt shard")

        // Shown by opsctl, and a new stream over the dataset is refused at submission, naming the field.
        let shards = try cluster.run(["get", "shards", "read"], server: server)
        XCTAssertEqual(shards.status, 0, shards.stderr)
        let row = try XCTUnwrap(
            shards.stdout.split(separator: "\n").first { $0.contains("read-00001.bin") }, shards.stdout)
        XCTAssertTrue(row.contains("bad"), shards.stdout)
        let refused = try apply(
            "mix3",
            """
            apiVersion: llmops/v1
            kind: Job
            metadata: {name: mix3}
            spec:
              type: stream
              stream: {inputs: [{dataset: read}], sequenceLength: 16, samples: 10, output: {dataset: mix3, location: \(data)}}
            """, timeoutSeconds: 30)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(
            (refused.stdout + refused.stderr).contains("spec.stream.inputs[0].dataset"), refused.stdout + refused.stderr
        )
        XCTAssertTrue((refused.stdout + refused.stderr).contains("marked bad"), refused.stdout + refused.stderr)
        let unknown = try apply(
            "mix4",
            """
            apiVersion: llmops/v1
            kind: Job
            metadata: {name: mix4}
            spec:
              type: stream
              stream: {inputs: [{dataset: nope}], sequenceLength: 16, samples: 10, output: {dataset: mix4, location: \(data)}}
            """, timeoutSeconds: 30)
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(
            (unknown.stdout + unknown.stderr).contains("spec.stream.inputs[0].dataset"), unknown.stdout + unknown.stderr
        )
        XCTAssertTrue(
            (unknown.stdout + unknown.stderr).contains("no dataset named \"nope\""), unknown.stdout + unknown.stderr)
        XCTAssertEqual(
            try cluster.count("SELECT count(*) AS n FROM jobs WHERE name IN ('mix3', 'mix4')"), 0,
            "nothing is submitted")
    }
}

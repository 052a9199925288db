// Data locality end to end: a worker's shard cache (filled by a task that read a remote dataset) is
// reported in its heartbeats, and the scheduler places the next reader of that dataset on it. Real
// PostgreSQL, a real HTTP server holding the dataset, worker daemons speaking the real protocol.

import APITypes
import ClusterModel
import DataShards
import Foundation
import HTTPServer
import Postgres
import TestSupport
import Workers
import XCTest

@testable import Control

final class DataLocalityTests: XCTestCase {
    func testTheNextReaderOfARemoteDatasetIsPlacedOnTheWorkerCachingItsShards() async throws {
        let cluster = try InProcessCluster()
        let data = cluster.directory.path + "/served"
        let cachedIndex = try StreamTestData.makeDataset(
            directory: data + "/web", name: "web", shards: 3, documentsPerShard: 20, seed: 7)
        try StreamTestData.makeDataset(
            directory: data + "/code", name: "code", shards: 2, documentsPerShard: 20, seed: 8)
        let server = HTTPServer(configuration: HTTPServerConfiguration(address: "127.0.0.1", port: 0)) { request in
            let parts = request.path.split(separator: "/").map(String.init)
            guard parts.count == 3, parts[0] == "data", !parts[1].hasPrefix("."), !parts[2].hasPrefix("."),
                FileManager.default.fileExists(atPath: "\(data)/\(parts[1])/\(parts[2])")
            else {
                return .error(status: 404, message: "no such file")
            }
            return .file(path: "\(data)/\(parts[1])/\(parts[2])")
        }
        try server.start()
        defer { server.stop() }
        let web = server.baseURL + "/data/web"
        let code = server.baseURL + "/data/code"
        let pool = PostgresPool(conninfo: cluster.database, maxConnections: 1)
        defer { pool.close() }
        let workers = WorkerStore(pool: pool)

        // Worker a registers first: with nothing cached anywhere, the scheduler's default choice.
        cluster.startWorker(name: "a", maxTasks: 1, labels: ["node": "a"], registry: .standard())
        try await waitUntil("worker a is registered", timeoutSeconds: 20) {
            try await cluster.admin.workers().count == 1
        }
        cluster.startWorker(name: "b", maxTasks: 1, labels: ["node": "b"], registry: .standard())
        try await waitUntil("worker b is registered", timeoutSeconds: 20) {
            try await cluster.admin.workers().count == 2
        }
        let ids = Dictionary(uniqueKeysWithValues: try await cluster.admin.workers().map { ($0.name, $0.id) })
        let a = try XCTUnwrap(ids["a"])
        let b = try XCTUnwrap(ids["b"])

        func verify(_ name: String, _ location: String, onNode node: String? = nil) async throws -> String? {
            var spec: [String: AnyJSON] = [
                "type": "verify", "resources": ["cpu": 1, "memory": "64Mi"],
                "verify": ["location": .string(location)],
            ]
            if let node { spec["nodeSelector"] = ["node": .string(node)] }
            _ = try await cluster.admin.submit([
                [
                    "apiVersion": "llmops/v1", "kind": "Job", "metadata": ["name": .string(name)],
                    "spec": .object(spec),
                ]
            ])
            do {
                try await waitUntil("job \(name) succeeds", timeoutSeconds: 60) {
                    try await cluster.admin.job(name).state == .succeeded
                }
            } catch {
                let job = try await cluster.admin.job(name)
                XCTFail(
                    "\(name): \(job.state), pending: \(job.pendingReason ?? "-"), tasks: \(try await cluster.admin.tasks(job: name))"
                )
                throw error
            }
            return try await cluster.admin.tasks(job: name).first?.attempts.last?.workerName
        }

        // b reads the web dataset (pinned there by its selector); its cache now holds the shards and its
        // heartbeats say so.
        let ranOn1 = try await verify("fill-b", web, onNode: "b")
        XCTAssertEqual(ranOn1, "b")
        let webShards = cachedIndex.shards.map { web + "/" + $0.binFile }
        try waitUntil("b reports the cached web shards", timeoutSeconds: 20) {
            Set(try workers.cachedShards(of: b)) == Set(webShards)
        }
        XCTAssertEqual(try workers.cachedShards(of: a), [])
        let jobs = try pool.withConnection { c in
            try c.query("SELECT array_to_json(reads_locations)::text AS r FROM jobs WHERE name = 'fill-b'").map {
                try $0.string("r")
            }
        }
        XCTAssertEqual(jobs, ["[\"\(web)\"]"], "the job records the remote dataset it reads")

        // A reader of a dataset nobody caches goes to the default choice, a ...
        let ranOn2 = try await verify("code-reader", code)
        XCTAssertEqual(ranOn2, "a")
        // ... and a reader of the web dataset goes to b, which holds its shards.
        let ranOn3 = try await verify("web-reader", web)
        XCTAssertEqual(ranOn3, "b")
        try waitUntil("a reports the cached code shards", timeoutSeconds: 20) {
            try workers.cachedShards(of: a).count == 2
        }
        let ranOn4 = try await verify("code-again", code)
        XCTAssertEqual(ranOn4, "a")
        let ranOn5 = try await verify("web-again", web)
        XCTAssertEqual(ranOn5, "b")
        await cluster.shutdown()
    }
}

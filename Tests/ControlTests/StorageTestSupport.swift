import APIClient
import APITypes
import Control
import Foundation
import ObjectStore
import Postgres
import TestSupport

/// One moto server for the storage tests of this process (starting one takes ~1 s); its setup script is the
/// ObjectStore tests' fixture.
enum StorageMoto {
    static let bucket = "llmops-storage"
    static let setupScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../ObjectStoreTests/Fixtures/moto_setup.py").standardized.path
    nonisolated(unsafe) private static var shared: MotoServer?

    static func server() throws -> MotoServer {
        if let shared { return shared }
        let started = try MotoServer(bucket: bucket, setupScript: setupScript)
        shared = started
        return started
    }

    static func credentials(secret: String? = nil) throws -> S3Credentials {
        let server = try server()
        return S3Credentials(accessKeyID: server.accessKeyID, secretAccessKey: secret ?? server.secretAccessKey)
    }

    static func description(prefix: String) throws -> S3StorageDescription {
        S3StorageDescription(endpoint: try server().endpoint, region: "us-east-1", bucket: bucket, keyPrefix: prefix)
    }

    static func store() throws -> S3ObjectStore {
        let server = try server()
        return S3ObjectStore(
            configuration: try S3Configuration(
                endpoint: server.endpoint, bucket: bucket, credentials: try credentials(),
                retry: S3RetryPolicy(maxAttempts: 4, backoff: .init(initialSeconds: 0.01, maximumSeconds: 0.05))))
    }
}

/// A control plane with a chosen storage configuration on a fresh database (InProcessCluster has the default).
final class StoragePlane: @unchecked Sendable {
    let directory: TemporaryDirectory
    let plane: ControlPlane
    let pool: PostgresPool
    let admin: OpsClient

    init(storage: StorageConfiguration) throws {
        let database = try TestPostgres.shared().freshDatabase()
        directory = try TemporaryDirectory.make()
        var configuration = ControlPlaneConfiguration(
            databaseURL: database, adminToken: Secret("admin"), joinToken: Secret("join"),
            artifactDirectory: directory.path + "/artifacts")
        configuration.storage = storage
        plane = ControlPlane(configuration: configuration, log: { _ in })
        try plane.start()
        pool = PostgresPool(conninfo: database, maxConnections: 2)
        admin = OpsClient(baseURL: plane.baseURL, token: "admin", transport: CurlTransport(), timeoutSeconds: 30)
    }

    /// Registers an artifact row naming `sha256` (of a fresh job), as a finished upload would.
    func reference(_ sha256: String, name: String) throws {
        let store = ControlStore(pool: pool)
        let job = try store.jobs.submit(NewJob(name: "holder-\(name)", type: "train"))
        try store.artifacts.register(
            NewArtifact(
                job: job.id, name: name, kind: "checkpoint", location: "somewhere/\(sha256)", sha256: sha256, bytes: 1))
    }

    /// Registers a shard row naming `sha256`.
    func referenceShard(_ sha256: String) throws {
        let dataset = try DatasetStore(pool: pool).register(
            name: "web", location: "cp://datasets/web", format: "tokens-u16")
        try ShardStore(pool: pool).add(
            dataset: dataset.id, shard: NewShard(index: 0, location: "cp://blobs/\(sha256)", sha256: sha256, bytes: 1))
    }

    func shutdown() {
        pool.close()
        plane.stop()
        directory.remove()
    }
}

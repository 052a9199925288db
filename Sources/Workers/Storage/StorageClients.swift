// The one place a process turns the cluster's storage description (`GET /v1/storage`) into its clients: the
// worker daemon at start, `opsctl` and the executors of other engineers call these, never the stores' inits.

import APIClient
import APITypes
import Foundation
import HTTPClient
import ObjectStore

public enum StorageClientsError: Error, CustomStringConvertible, Sendable {
    case description(url: String, reason: String)
    case credentials(bucket: String, reason: String)
    case configuration(reason: String)

    public var description: String {
        switch self {
        case .description(let url, let reason):
            return "cannot ask the control plane \(url) which storage backend the cluster uses: \(reason)"
        case .credentials(let bucket, let reason):
            return
                "the cluster stores blobs in S3 bucket \"\(bucket)\" and this process has no credentials for it: \(reason)"
        case .configuration(let reason): return "the cluster's S3 storage cannot be used: \(reason)"
        }
    }
}

public enum StorageClients {
    /// Asks the control plane which backend the cluster uses (`GET /v1/storage`, worker or admin token).
    public static func describe(baseURL: String, token: BearerToken, client: HTTPClient = HTTPClient()) throws
        -> StorageDescription
    {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        let url = base + APIRoute.storage.path()
        let response: HTTPClientResponse
        do {
            response = try client.send(
                HTTPClientRequest(
                    url: url, headers: token.value.map { ["Authorization": "Bearer \($0)"] } ?? [:], timeoutSeconds: 30)
            )
        } catch {
            throw StorageClientsError.description(url: url, reason: "\(error)")
        }
        // A control plane from before the route (opsctl < issue 14) has only its blob store.
        if response.status == 404 { return StorageDescription(backend: .blob) }
        guard response.isSuccess else {
            throw StorageClientsError.description(url: url, reason: "HTTP \(response.status)")
        }
        do { return try WireCoding.decode(StorageDescription.self, from: response.body) } catch {
            throw StorageClientsError.description(url: url, reason: WireCoding.describe(error))
        }
    }

    /// The artifact store of the cluster's backend: `ControlPlaneArtifactStore` for `blob`, `S3ArtifactStore`
    /// for `s3`. `credentials` are this process's own S3 keys; nil resolves them from the environment or the
    /// shared credentials file (`S3Credentials.resolve`), and only when the backend is `s3`.
    public static func artifactStore(
        for storage: StorageDescription, controlPlaneURL: String, token: BearerToken, credentials: S3Credentials? = nil,
        cacheDirectory: URL, log: (@Sendable (String) -> Void)? = nil, client: HTTPClient = HTTPClient()
    ) throws -> any ArtifactStore {
        switch storage.backend {
        case .blob:
            return ControlPlaneArtifactStore(
                baseURL: controlPlaneURL, token: token, cacheDirectory: cacheDirectory, client: client)
        case .s3:
            guard let s3 = storage.s3 else {
                throw StorageClientsError.configuration(reason: "the description names backend s3 without a bucket")
            }
            return S3ArtifactStore(
                store: try objectStore(s3, credentials: credentials, log: log), description: s3,
                cacheDirectory: cacheDirectory)
        }
    }

    /// The client of the cluster's bucket, with this process's credentials.
    public static func objectStore(
        _ s3: S3StorageDescription, credentials: S3Credentials? = nil, log: (@Sendable (String) -> Void)? = nil
    ) throws -> S3ObjectStore {
        let keys: S3Credentials
        if let credentials {
            keys = credentials
        } else {
            do throws(ObjectStoreError) { keys = try S3Credentials.resolve() } catch {
                throw StorageClientsError.credentials(bucket: s3.bucket, reason: error.description)
            }
        }
        do {
            return S3ObjectStore(
                configuration: try S3Configuration(
                    endpoint: s3.endpoint, region: s3.region, bucket: s3.bucket, credentials: keys),
                log: log)
        } catch {
            throw StorageClientsError.configuration(reason: error.description)
        }
    }
}

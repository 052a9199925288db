// Reads byte ranges of `s3://bucket/key` shard files for the stream's `CachedRemoteShardLocator`: a dataset
// stored in a bucket is fetched into the worker's shard cache like an http(s) one. One S3 client per bucket
// (datasets may live in other buckets than the cluster's), all with this node's own credentials.

import DataShards
import Foundation
import ObjectStore
import Primitives

public final class S3ShardFetcher: ShardFetcher {
    public let endpoint: String
    public let region: String
    private let credentials: S3Credentials
    private let retry: S3RetryPolicy
    private let stores = Locked<[String: S3ObjectStore]>([:])

    /// `endpoint` is `scheme://host[:port]` of the S3-compatible server; credentials are this node's own
    /// (`S3Credentials.resolve()`).
    public init(endpoint: String, region: String, credentials: S3Credentials, retry: S3RetryPolicy = S3RetryPolicy()) {
        self.endpoint = endpoint
        self.region = region
        self.credentials = credentials
        self.retry = retry
    }

    public func contentLength(of url: String) throws(FetchError) -> Int64 {
        let (store, key) = try resolve(url)
        do { return try store.head(key: key).sizeBytes } catch { throw Self.fetchError(url, error) }
    }

    public func fetch(_ url: String, byteRange: Range<Int64>) throws(FetchError) -> [UInt8] {
        guard !byteRange.isEmpty else { return [] }
        let (store, key) = try resolve(url)
        let data: Data
        do {
            data = try store.get(
                key: key, range: byteRange.lowerBound...(byteRange.upperBound - 1), expectedSHA256: nil)
        } catch {
            throw Self.fetchError(url, error)
        }
        guard data.count == byteRange.count else {
            throw FetchError(url: url, reason: "short read: \(data.count) of \(byteRange.count) bytes", retryable: true)
        }
        return [UInt8](data)
    }

    private func resolve(_ url: String) throws(FetchError) -> (S3ObjectStore, String) {
        let parsed: S3URL
        do { parsed = try S3URL(url) } catch { throw FetchError(url: url, reason: "\(error)", retryable: false) }
        if let store = stores.withLock({ $0[parsed.bucket] }) { return (store, parsed.key) }
        let configuration: S3Configuration
        do {
            configuration = try S3Configuration(
                endpoint: endpoint, region: region, bucket: parsed.bucket, credentials: credentials, retry: retry)
        } catch {
            throw FetchError(url: url, reason: error.description, retryable: false)
        }
        let store = S3ObjectStore(configuration: configuration)
        stores.withLock { $0[parsed.bucket] = store }
        return (store, parsed.key)
    }

    /// The store already retried 5xx and connection failures with backoff; what is left is worth the stream's
    /// own bounded retry only when it may be transient.
    private static func fetchError(_ url: String, _ error: ObjectStoreError) -> FetchError {
        switch error {
        case .unreachable, .unexpectedStatus, .checksumMismatch, .invalidResponse:
            return FetchError(url: url, reason: error.description, retryable: true)
        case .accessDenied, .noSuchKey, .noSuchBucket, .localFile, .missingCredentials:
            return FetchError(url: url, reason: error.description, retryable: false)
        }
    }
}

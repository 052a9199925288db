// `opsctl serve --storage blob|s3`: the cluster's blob backend and its garbage collection, resolved into
// `StorageConfiguration`. The control plane's own S3 keys come from its environment or credentials file
// (`S3Credentials.resolve`), never from a flag, and are never logged.

import APITypes
import Control
import Foundation
import ObjectStore

enum StorageOptions {
    static let backend = TypedOption(
        "storage", value: "BACKEND", help: "where the cluster keeps blobs: blob (this control plane) or s3",
        environment: "OPS_STORAGE", default: StorageBackendKind.blob, parser: .choice(expected: "blob or s3"))
    static let s3Endpoint = TypedOption(
        "s3-endpoint", value: "URL", help: "S3-compatible endpoint, scheme://host[:port] (with --storage s3)",
        environment: "OPS_S3_ENDPOINT", default: "https://s3.amazonaws.com", parser: .text)
    static let s3Region = TypedOption(
        "s3-region", value: "REGION", help: "region of the bucket (part of every signature)",
        environment: "OPS_S3_REGION", default: "us-east-1", parser: .text)
    static let s3Bucket = OptionSpec(
        "s3-bucket", value: "BUCKET", help: "bucket of the cluster's blobs (required with --storage s3)",
        environment: "OPS_S3_BUCKET")
    static let s3Prefix = TypedOption(
        "s3-prefix", value: "PREFIX", help: "key prefix: blobs are PREFIX/blobs/<sha256>", environment: "OPS_S3_PREFIX",
        default: "", parser: .text, defaultDescription: "none")
    static let graceSeconds = TypedOption(
        "blob-gc-grace", value: "SECONDS",
        help: "unreferenced blobs younger than this are kept (their row may not be written yet)",
        environment: "OPS_BLOB_GC_GRACE", default: 3600.0, parser: .seconds)
    static let intervalSeconds = TypedOption(
        "blob-gc-interval", value: "SECONDS", help: "how often unreferenced blobs are collected (0 = only on request)",
        environment: "OPS_BLOB_GC_INTERVAL", default: 600.0, parser: .seconds)

    static let specs = [
        backend.spec, s3Endpoint.spec, s3Region.spec, s3Bucket, s3Prefix.spec, graceSeconds.spec, intervalSeconds.spec,
    ]
}

extension Settings {
    /// `serve`'s storage flags; with `--storage s3` the bucket is required, the endpoint must parse and this
    /// process must have credentials (checked now, not at the first garbage collection).
    func storageConfiguration() throws(SettingsError) -> StorageConfiguration {
        let grace = try value(StorageOptions.graceSeconds)
        let interval = try value(StorageOptions.intervalSeconds)
        switch try value(StorageOptions.backend) {
        case .blob:
            return StorageConfiguration(garbageGraceSeconds: grace, garbageIntervalSeconds: interval)
        case .s3:
            guard let bucket = string("s3-bucket") else {
                throw SettingsError("--storage s3: no bucket; pass --s3-bucket NAME or set OPS_S3_BUCKET")
            }
            var prefix = try value(StorageOptions.s3Prefix)
            while prefix.hasPrefix("/") { prefix.removeFirst() }
            while prefix.hasSuffix("/") { prefix.removeLast() }
            let s3 = S3StorageDescription(
                endpoint: try value(StorageOptions.s3Endpoint), region: try value(StorageOptions.s3Region),
                bucket: bucket, keyPrefix: prefix)
            let credentials: S3Credentials
            do { credentials = try S3Credentials.resolve(environment) } catch {
                throw SettingsError("--storage s3 (bucket \(bucket)): \(error.description)")
            }
            do {
                _ = try S3Configuration(
                    endpoint: s3.endpoint, region: s3.region, bucket: s3.bucket, credentials: credentials)
            } catch {
                throw SettingsError("--storage s3: \(error.description)")
            }
            return StorageConfiguration(
                description: StorageDescription(backend: .s3, s3: s3), s3Credentials: credentials,
                garbageGraceSeconds: grace, garbageIntervalSeconds: interval)
        }
    }
}

// Shard fetch throughput from the cluster's two backends over loopback, each against plain `curl` of the same
// object in the same run (issue 14 asks for a ratio of at least 0.8):
//
//   swift run -c release StorageBench [size-MiB, default 256] [repetitions, default 3]
//   (scripts/bench-storage.sh runs it)
//
// Blob store (the control plane's `GET /v1/blobs/{sha}`): a verified whole fetch (`ControlPlaneArtifactStore`
// `.localPath`: download + SHA-256) and a ranged fetch as the stream does it (`CachedRemoteShardLocator`, 8 MiB
// ranges into the shard cache), against `curl` of the whole blob. S3 (moto): a verified whole fetch
// (`S3ArtifactStore.localPath`) and the same ranged fetch through `S3ShardFetcher`, against `curl --aws-sigv4`.
// The best of the repetitions counts; every fetch starts from an empty cache.

import APIClient
import APITypes
import BenchmarkSupport
import Checksum
import Control
import DataShards
import Foundation
import HTTPClient
import ObjectStore
import TestSupport
import Workers

let transfer = TransferBench()
let sizeMiB = transfer.sizeMiB
let sizeBytes = transfer.sizeBytes

func curl(_ arguments: [String]) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["curl"] + arguments
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "curl \(arguments) failed"])
    }
}

/// One curl process fetching the object in the stream's 8 MiB ranges (`--next` per range, one connection), each
/// range appended to `target`: the anchor of a ranged fetch.
func curlRanges(_ perRequest: [String], url: String, target: String) throws {
    try? FileManager.default.removeItem(atPath: target)
    var arguments: [String] = []
    var offset = 0
    let chunk = 8 << 20
    while offset < sizeBytes {
        if !arguments.isEmpty { arguments.append("--next") }
        arguments +=
            perRequest + ["-r", "\(offset)-\(min(sizeBytes, offset + chunk) - 1)", "--append", "-o", target, url]
        offset += chunk
    }
    try curl(arguments)
}

func mbps(_ seconds: Double) -> Double { Double(sizeBytes) / seconds / 1e6 }

func anchor(_ name: String, _ seconds: Double) {
    print("  " + name.padding(toLength: 62, withPad: " ", startingAt: 0) + String(format: "%8.1f MB/s", mbps(seconds)))
}

func report(_ name: String, _ seconds: Double, anchor: Double) {
    print(
        "  " + name.padding(toLength: 62, withPad: " ", startingAt: 0)
            + String(format: "%8.1f MB/s  ratio %.2f", mbps(seconds), anchor / seconds))
}

/// The stream's way: 8 MiB ranges (FetchRetry's default chunk) into a fresh shard cache.
func rangedFetch(baseURL: String, file: String, fetcher: any ShardFetcher, cacheDirectory: String) throws {
    try? FileManager.default.removeItem(atPath: cacheDirectory)
    let cache = try ShardCache(directory: cacheDirectory, capacityBytes: Int64(sizeBytes) * 2)
    let locator = CachedRemoteShardLocator(baseURL: baseURL, fetcher: fetcher, cache: cache)
    let path = try locator.localPath(for: file, expectedBytes: Int64(sizeBytes))
    locator.release(localPath: path)
}

func main() throws {
    let directory = try TemporaryDirectory.make(prefix: "storage-bench-")
    defer { directory.remove() }
    let source = directory.path + "/object.bin"
    var bytes = transfer.object()
    try Data(bytes).write(to: URL(fileURLWithPath: source))
    let sha = SHA256.hex(of: bytes)
    bytes = []
    let target = directory.path + "/curl.bin"
    let cacheDirectory = directory.path + "/cache"
    let emptyCache: () -> Void = { try? FileManager.default.removeItem(atPath: cacheDirectory) }
    print("StorageBench: \(sizeMiB) MiB object, best of \(transfer.repetitions), loopback")

    // Blob store.
    let postgres = try TestPostgres()
    defer { postgres.destroy() }
    let plane = ControlPlane(
        configuration: ControlPlaneConfiguration(
            databaseURL: try postgres.freshDatabase(named: "bench"), adminToken: Secret("admin"),
            joinToken: Secret("join"), artifactDirectory: directory.path + "/artifacts"), log: { _ in })
    try plane.start()
    defer { plane.stop() }
    let blobs = ControlPlaneArtifactStore(
        baseURL: plane.baseURL, token: BearerToken("admin"), cacheDirectory: URL(fileURLWithPath: cacheDirectory))
    let record = try blobs.store(file: URL(fileURLWithPath: source), name: "object")
    let blobURL = plane.baseURL + APIRoute.getBlob.path(sha)
    let curlBlob = try transfer.best {
        try curl(["-sS", "--fail", "-o", target, "-H", "Authorization: Bearer admin", blobURL])
    }
    let blobWhole = try transfer.best(reset: emptyCache) { _ = try blobs.localPath(for: record.location) }
    let blobRanged = try transfer.best {
        try rangedFetch(
            baseURL: plane.baseURL + "/v1/blobs", file: sha,
            fetcher: HTTPShardFetcher(client: HTTPClient(bearerToken: "admin")), cacheDirectory: cacheDirectory)
    }
    let curlBlobRanges = try transfer.best {
        try curlRanges(["-sS", "--fail", "-H", "Authorization: Bearer admin"], url: blobURL, target: target)
    }
    print("blob store (GET /v1/blobs/{sha})")
    anchor("curl, whole", curlBlob)
    report("ControlPlaneArtifactStore.localPath, SHA-256 verified", blobWhole, anchor: curlBlob)
    anchor("curl, 8 MiB ranges", curlBlobRanges)
    report("CachedRemoteShardLocator + HTTPShardFetcher, 8 MiB ranges", blobRanged, anchor: curlBlobRanges)

    // S3 (moto).
    let server = try MotoServer(bucket: "bench", setupScript: TransferBench.motoSetupScript)
    defer { server.stop() }
    let credentials = S3Credentials(accessKeyID: server.accessKeyID, secretAccessKey: server.secretAccessKey)
    let description = S3StorageDescription(
        endpoint: server.endpoint, region: "us-east-1", bucket: "bench", keyPrefix: "bench")
    let s3 = try StorageClients.artifactStore(
        for: StorageDescription(backend: .s3, s3: description), controlPlaneURL: plane.baseURL,
        token: BearerToken("admin"), credentials: credentials, cacheDirectory: URL(fileURLWithPath: cacheDirectory))
    let s3Record = try s3.store(file: URL(fileURLWithPath: source), name: "object", kind: nil, metadata: nil)
    // curl signs with an empty-payload hash but does not send it; S3 (and moto) need the header for GETs.
    let s3Signing = [
        "-sS", "--fail", "--aws-sigv4", "aws:amz:us-east-1:s3", "-H",
        "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "--user", "\(server.accessKeyID):\(server.secretAccessKey)",
    ]
    let s3URL = "\(server.endpoint)/bench/\(description.blobKey(sha))"
    let curlS3 = try transfer.best { try curl(s3Signing + ["-o", target, s3URL]) }
    let s3Whole = try transfer.best(reset: emptyCache) { _ = try s3.localPath(for: s3Record.location) }
    let s3Ranged = try transfer.best {
        try rangedFetch(
            baseURL: "s3://bench/bench/blobs", file: sha,
            fetcher: S3ShardFetcher(endpoint: server.endpoint, region: "us-east-1", credentials: credentials),
            cacheDirectory: cacheDirectory)
    }
    let curlS3Ranges = try transfer.best { try curlRanges(s3Signing, url: s3URL, target: target) }
    print("s3 (moto)")
    anchor("curl --aws-sigv4, whole", curlS3)
    report("S3ArtifactStore.localPath, SHA-256 verified", s3Whole, anchor: curlS3)
    anchor("curl --aws-sigv4, 8 MiB ranges", curlS3Ranges)
    report("CachedRemoteShardLocator + S3ShardFetcher, 8 MiB ranges", s3Ranged, anchor: curlS3Ranges)

    let hashAlone = try transfer.best { _ = try SHA256.hex(ofFileAt: source) }
    anchor("SHA-256 of the file alone (libcrypto EVP)", hashAlone)
}

try main()

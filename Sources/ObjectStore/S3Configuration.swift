import Foundation

/// Where an S3-compatible store is and how to talk to it. Path-style addressing (`ENDPOINT/BUCKET/KEY`) works
/// with AWS and with every self-hosted server (MinIO, Ceph, moto), unlike virtual-host style which needs DNS.
public struct S3Configuration: Sendable {
    /// S3 refuses multipart parts below 5 MiB (except the last).
    public static let minimumPartSizeBytes = 5 << 20

    /// `scheme://host[:port]` without a path, e.g. `http://127.0.0.1:9000` or `https://s3.eu-west-1.amazonaws.com`.
    public let endpoint: String
    public let region: String
    public let bucket: String
    public let credentials: S3Credentials
    /// Files larger than this go up in parts of this size: 64 MiB keeps a 10,000-part upload (S3's limit) able to
    /// hold 625 GiB while each part, held in memory once, stays small.
    public var partSizeBytes: Int
    public var retry: S3RetryPolicy
    /// Whole-request limit for one attempt; a 64 MiB part at 1 MB/s still fits in 600 s.
    public var timeoutSeconds: Double
    /// `Host` as curl sends it (the port omitted when it is the scheme's default): it is signed.
    let hostHeader: String

    public init(
        endpoint: String, region: String = "us-east-1", bucket: String, credentials: S3Credentials,
        partSizeBytes: Int = 64 << 20, retry: S3RetryPolicy = S3RetryPolicy(),
        timeoutSeconds: Double = 600
    ) throws(S3ConfigurationError) {
        guard let components = URLComponents(string: endpoint), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty,
            components.path.isEmpty || components.path == "/", components.query == nil
        else {
            throw .invalidEndpoint(endpoint)
        }
        let defaultPort = scheme == "https" ? 443 : 80
        let hostText = host.contains(":") ? "[\(host)]" : host
        self.hostHeader = components.port.map { $0 == defaultPort ? hostText : "\(hostText):\($0)" } ?? hostText
        self.endpoint = "\(scheme)://\(self.hostHeader)"
        guard S3URL.isValidBucketName(bucket) else { throw .invalidBucket(bucket) }
        self.bucket = bucket
        guard partSizeBytes >= Self.minimumPartSizeBytes else { throw .partSizeTooSmall(partSizeBytes) }
        self.partSizeBytes = partSizeBytes
        (self.region, self.credentials, self.retry, self.timeoutSeconds) = (region, credentials, retry, timeoutSeconds)
    }
}

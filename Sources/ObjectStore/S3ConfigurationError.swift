/// A configuration that cannot work, refused before any request is sent.
public enum S3ConfigurationError: Error, CustomStringConvertible, Sendable, Equatable {
    case invalidEndpoint(String)
    case invalidBucket(String)
    case partSizeTooSmall(Int)

    public var description: String {
        switch self {
        case .invalidEndpoint(let endpoint):
            return "object-store endpoint \"\(endpoint)\" is not http(s)://HOST[:PORT] without a path"
        case .invalidBucket(let bucket):
            return "\"\(bucket)\" is not a bucket name: 3-63 lower-case letters, digits, '-' or '.'"
        case .partSizeTooSmall(let bytes):
            return
                "multipart part size \(bytes) bytes is below S3's minimum of \(S3Configuration.minimumPartSizeBytes) (5 MiB)"
        }
    }
}

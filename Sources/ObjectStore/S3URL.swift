/// An `s3://bucket/key` URL, parsed strictly: a malformed one is an error naming what was expected rather than
/// an object somewhere unexpected.
public struct S3URL: Sendable, Hashable, CustomStringConvertible {
    public let bucket: String
    /// The object key (may contain `/`); never empty.
    public let key: String

    public init(bucket: String, key: String) throws(S3URLError) {
        guard Self.isValidBucketName(bucket) else { throw .invalidBucket("s3://\(bucket)/\(key)", bucket: bucket) }
        guard !key.isEmpty else { throw .missingKey("s3://\(bucket)/") }
        guard key.utf8.count <= 1024 else { throw .keyTooLong("s3://\(bucket)/\(key.prefix(32))...") }
        self.bucket = bucket
        self.key = key
    }

    public init(_ text: String) throws(S3URLError) {
        let scheme = "s3://"
        guard text.hasPrefix(scheme) else { throw .notS3(text) }
        let rest = text.dropFirst(scheme.count)
        guard let slash = rest.firstIndex(of: "/") else { throw .missingKey(text) }
        guard !rest.contains("?"), !rest.contains("#") else { throw .queryOrFragment(text) }
        try self.init(bucket: String(rest[..<slash]), key: String(rest[rest.index(after: slash)...]))
    }

    public var description: String { "s3://\(bucket)/\(key)" }

    /// S3's rules: 3–63 characters of lower-case letters, digits, `-` and `.`, starting and ending with a letter
    /// or digit.
    static func isValidBucketName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (3...63).contains(bytes.count) else { return false }
        let isAlphanumeric: (UInt8) -> Bool = {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
        }
        guard isAlphanumeric(bytes.first!), isAlphanumeric(bytes.last!) else { return false }
        return bytes.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }
    }
}

public enum S3URLError: Error, CustomStringConvertible, Sendable, Equatable {
    case notS3(String)
    case missingKey(String)
    case invalidBucket(String, bucket: String)
    case queryOrFragment(String)
    case keyTooLong(String)

    public var description: String {
        let expected = "expected s3://BUCKET/KEY"
        switch self {
        case .notS3(let url): return "\"\(url)\" is not an object-store URL: \(expected)"
        case .missingKey(let url): return "\"\(url)\" names no object: \(expected) with a non-empty KEY"
        case .invalidBucket(let url, let bucket):
            return
                "\"\(url)\": \"\(bucket)\" is not a bucket name: \(expected) where BUCKET is 3-63 lower-case letters, digits, '-' or '.'"
        case .queryOrFragment(let url):
            return "\"\(url)\" has a query or fragment: \(expected) with nothing after the key"
        case .keyTooLong(let url): return "\"\(url)\": the key is longer than S3's 1024 bytes"
        }
    }
}

import HTTPClient

/// Why an object-store call failed. Every message names the bucket (and key) and says what to do; none
/// contains a credential.
public enum ObjectStoreError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The server refused the credentials or the permission (HTTP 403: InvalidAccessKeyId,
    /// SignatureDoesNotMatch, AccessDenied, ...).
    case accessDenied(bucket: String, key: String?, operation: ObjectStoreOperation, code: String, accessKeyID: String)
    case noSuchKey(bucket: String, key: String)
    case noSuchBucket(bucket: String, operation: ObjectStoreOperation)
    /// A status the client has no meaning for (or a retryable one after the retry budget ran out).
    case unexpectedStatus(
        bucket: String, key: String?, operation: ObjectStoreOperation, status: Int, code: String, message: String)
    /// No response after every attempt (connection refused, timed out, reset).
    case unreachable(
        bucket: String, key: String?, operation: ObjectStoreOperation, attempts: Int, cause: HTTPClientError)
    /// The downloaded bytes do not hash to what was expected, on every attempt.
    case checksumMismatch(bucket: String, key: String, expected: String, actual: String)
    /// The server answered 2xx with a body the client cannot read.
    case invalidResponse(bucket: String, operation: ObjectStoreOperation, detail: String)
    /// A local file could not be read or written.
    case localFile(path: String, detail: String)
    /// No credentials where the configuration said to look.
    case missingCredentials(detail: String)

    public var description: String {
        switch self {
        case .accessDenied(let bucket, let key, let operation, let code, let accessKeyID):
            return
                "the object store refused \(operation.rawValue) on bucket \"\(bucket)\"\(Self.keyPart(key)) (\(code)) for access key "
                + "\(accessKeyID): check the secret key and that this key is granted \(operation.permission) on the bucket"
        case .noSuchKey(let bucket, let key):
            return "no object \"\(key)\" in bucket \"\(bucket)\" (was it uploaded, or deleted?)"
        case .noSuchBucket(let bucket, let operation):
            return
                "\(operation.rawValue) failed: bucket \"\(bucket)\" does not exist at this endpoint (create it, or fix the bucket name)"
        case .unexpectedStatus(let bucket, let key, let operation, let status, let code, let message):
            return
                "\(operation.rawValue) on bucket \"\(bucket)\"\(Self.keyPart(key)) failed with HTTP \(status) \(code): \(message)"
        case .unreachable(let bucket, let key, let operation, let attempts, let cause):
            return
                "\(operation.rawValue) on bucket \"\(bucket)\"\(Self.keyPart(key)) got no response after \(attempts) attempt(s): "
                + "\(cause) (is the endpoint right and the server up?)"
        case .checksumMismatch(let bucket, let key, let expected, let actual):
            return
                "object \"\(key)\" in bucket \"\(bucket)\" has SHA-256 \(actual), expected \(expected): the stored object is "
                + "corrupt or was overwritten; upload it again"
        case .invalidResponse(let bucket, let operation, let detail):
            return "\(operation.rawValue) on bucket \"\(bucket)\": unreadable response: \(detail)"
        case .localFile(let path, let detail):
            return "\(path): \(detail)"
        case .missingCredentials(let detail):
            return "no object-store credentials: \(detail)"
        }
    }

    private static func keyPart(_ key: String?) -> String { key.map { " key \"\($0)\"" } ?? "" }
}

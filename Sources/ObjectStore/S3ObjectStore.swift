// The S3-compatible ObjectStore over HTTPClient (libcurl), signed with Signature V4. Every object it writes
// carries its SHA-256 as user metadata (`x-amz-meta-sha256`), so a later whole-object download is verified
// without the reader being told the checksum.

import Checksum
import Foundation
import HTTPClient

public final class S3ObjectStore: ObjectStore {
    /// The user-metadata header holding the object's SHA-256 (S3 returns it on GET and HEAD).
    static let sha256MetadataHeader = "x-amz-meta-sha256"
    /// A download whose bytes do not match the checksum is fetched once more before giving up: a corrupted
    /// transfer is transient, a corrupted object is not.
    static let checksumAttempts = 2

    public let configuration: S3Configuration
    let signer: SigV4Signer
    let client: HTTPClient
    /// Told about each retry (operation, bucket, cause, delay); never given credentials.
    let log: (@Sendable (String) -> Void)?

    public init(configuration: S3Configuration, log: (@Sendable (String) -> Void)? = nil) {
        self.configuration = configuration
        self.signer = SigV4Signer(credentials: configuration.credentials, region: configuration.region)
        self.client = HTTPClient(maxIdleConnections: 8)
        self.log = log
    }

    @discardableResult
    public func put(key: String, fromFile path: String) throws(ObjectStoreError) -> ObjectInfo {
        let size = try Self.fileSize(path)
        if size > Int64(configuration.partSizeBytes) {
            return try putMultipart(key: key, fromFile: path, sizeBytes: size)
        }
        let sha256 = try Self.fileSHA256(path)
        let response = try perform(
            S3Request(
                operation: .putObject, method: "PUT", key: key,
                headers: [Self.sha256MetadataHeader: sha256], body: .file(path: path, sha256: sha256)))
        return ObjectInfo(key: key, sizeBytes: size, etag: Self.etag(response), sha256: sha256)
    }

    @discardableResult
    public func put(key: String, data: Data) throws(ObjectStoreError) -> ObjectInfo {
        let sha256 = SHA256.hex(of: data)
        let response = try perform(
            S3Request(
                operation: .putObject, method: "PUT", key: key,
                headers: [Self.sha256MetadataHeader: sha256], body: .data(data)))
        return ObjectInfo(key: key, sizeBytes: Int64(data.count), etag: Self.etag(response), sha256: sha256)
    }

    public func get(key: String, toFile path: String, range: ClosedRange<Int64>?, expectedSHA256: String?)
        throws(ObjectStoreError)
    {
        // Written beside the target and renamed once verified: a failed download leaves no file at `path`.
        let partial = "\(path).partial-\(getpid())"
        defer { unlink(partial) }
        for attempt in 1...Self.checksumAttempts {
            let response = try perform(
                S3Request(
                    operation: .getObject, method: "GET", key: key,
                    headers: Self.rangeHeader(range), downloadPath: partial))
            try checkRangeAnswered(range, response: response)
            guard let expected = Self.expectedChecksum(range: range, given: expectedSHA256, response: response) else {
                break
            }
            let actual = try Self.fileSHA256(partial)
            if actual == expected { break }
            if attempt == Self.checksumAttempts {
                throw .checksumMismatch(bucket: configuration.bucket, key: key, expected: expected, actual: actual)
            }
            log?("getObject of \"\(key)\" in bucket \"\(configuration.bucket)\": SHA-256 mismatch, fetching again")
        }
        guard rename(partial, path) == 0 else {
            throw .localFile(
                path: path, detail: "cannot move the download into place: \(String(cString: strerror(errno)))")
        }
    }

    public func get(key: String, range: ClosedRange<Int64>?, expectedSHA256: String?) throws(ObjectStoreError) -> Data {
        var lastMismatch: ObjectStoreError?
        for _ in 1...Self.checksumAttempts {
            let response = try perform(
                S3Request(operation: .getObject, method: "GET", key: key, headers: Self.rangeHeader(range)))
            try checkRangeAnswered(range, response: response)
            guard let expected = Self.expectedChecksum(range: range, given: expectedSHA256, response: response) else {
                return response.body
            }
            let actual = SHA256.hex(of: response.body)
            if actual == expected { return response.body }
            lastMismatch = .checksumMismatch(bucket: configuration.bucket, key: key, expected: expected, actual: actual)
        }
        throw lastMismatch!
    }

    public func head(key: String) throws(ObjectStoreError) -> ObjectInfo {
        let response = try perform(S3Request(operation: .headObject, method: "HEAD", key: key))
        guard let length = response.header("Content-Length").flatMap({ Int64($0) }) else {
            throw .invalidResponse(
                bucket: configuration.bucket, operation: .headObject, detail: "no Content-Length for \"\(key)\"")
        }
        return ObjectInfo(
            key: key, sizeBytes: length, etag: Self.etag(response), sha256: response.header(Self.sha256MetadataHeader),
            lastModified: response.header("Last-Modified").flatMap(S3Timestamps.httpDate))
    }

    public func list(prefix: String) throws(ObjectStoreError) -> [ObjectInfo] {
        var objects: [ObjectInfo] = []
        var continuation: String?
        repeat {
            var query = [(name: "list-type", value: "2"), (name: "prefix", value: prefix)]
            if let continuation { query.append((name: "continuation-token", value: continuation)) }
            let xml = try perform(S3Request(operation: .listObjects, method: "GET", key: nil, query: query)).text
            for entry in S3XML.elements("Contents", in: xml) {
                guard let key = S3XML.value("Key", in: entry),
                    let size = S3XML.value("Size", in: entry).flatMap({ Int64($0) })
                else {
                    throw .invalidResponse(
                        bucket: configuration.bucket, operation: .listObjects,
                        detail: "a <Contents> without Key or Size")
                }
                objects.append(
                    ObjectInfo(
                        key: key, sizeBytes: size, etag: Self.unquoted(S3XML.value("ETag", in: entry) ?? ""),
                        lastModified: S3XML.value("LastModified", in: entry).flatMap(S3Timestamps.iso8601)))
            }
            continuation =
                S3XML.value("IsTruncated", in: xml) == "true" ? S3XML.value("NextContinuationToken", in: xml) : nil
        } while continuation != nil
        return objects
    }

    public func delete(key: String) throws(ObjectStoreError) {
        _ = try perform(S3Request(operation: .deleteObject, method: "DELETE", key: key))
    }

    // MARK: Helpers

    /// A server that ignores `Range` answers 200 with the whole object: never hand that over as the slice.
    private func checkRangeAnswered(_ range: ClosedRange<Int64>?, response: HTTPClientResponse) throws(ObjectStoreError)
    {
        guard range != nil, response.status != 206 else { return }
        throw .invalidResponse(
            bucket: configuration.bucket, operation: .getObject,
            detail: "asked for a byte range, got HTTP \(response.status) instead of 206 Partial Content")
    }

    /// The checksum a download must match: only whole objects have one (a range is a slice of it).
    private static func expectedChecksum(range: ClosedRange<Int64>?, given: String?, response: HTTPClientResponse)
        -> String?
    {
        guard range == nil else { return nil }
        return given ?? response.header(sha256MetadataHeader)
    }

    private static func rangeHeader(_ range: ClosedRange<Int64>?) -> [String: String] {
        range.map { ["range": "bytes=\($0.lowerBound)-\($0.upperBound)"] } ?? [:]
    }

    static func etag(_ response: HTTPClientResponse) -> String { unquoted(response.header("ETag") ?? "") }

    static func unquoted(_ etag: String) -> String { etag.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }

    static func fileSize(_ path: String) throws(ObjectStoreError) -> Int64 {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw .localFile(path: path, detail: "cannot read the file to upload: \(String(cString: strerror(errno)))")
        }
        return Int64(info.st_size)
    }

    static func fileSHA256(_ path: String) throws(ObjectStoreError) -> String {
        do {
            return try SHA256.hex(ofFileAt: path)
        } catch {
            throw .localFile(path: path, detail: error.description)
        }
    }
}

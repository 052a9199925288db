// AWS Signature Version 4 for S3, computed in Swift rather than by libcurl's CURLOPT_AWS_SIGV4: that option
// would need a new field through HTTPClient's transfer (being reworked in parallel), hashes only in-memory
// bodies, and would hide the canonical request from tests. Here the signer is a pure function of the request
// and the clock, checked against AWS's published example, and HTTPClient stays unchanged.
// Reference: https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html

import Checksum
import Foundation

/// The parts of a request that are signed.
struct SignableRequest: Sendable {
    var method: String
    /// `host[:port]` exactly as the client sends it in `Host` (curl omits the default port).
    var host: String
    /// The unencoded path, e.g. `/bucket/dir/key name`.
    var path: String
    /// Unencoded query parameters; S3 sub-resources without a value (`?uploads`) have value "".
    var query: [(name: String, value: String)]
    /// Extra headers to sign and send (lower-case names), e.g. `range`, `x-amz-meta-sha256`.
    var headers: [String: String]
    /// Lower-case hex SHA-256 of the body (of the empty string when there is none).
    var payloadSHA256: String

    /// Path and query as they go on the wire, encoded exactly as they were signed.
    var encodedPathAndQuery: String {
        let query = SigV4Signer.canonicalQuery(query)
        return SigV4Signer.uriEncode(path, keepSlash: true) + (query.isEmpty ? "" : "?" + query)
    }
}

struct SigV4Signer: Sendable {
    static let emptyPayloadSHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    let credentials: S3Credentials
    let region: String
    let service: String

    init(credentials: S3Credentials, region: String, service: String = "s3") {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// Every header to send: the request's own plus `x-amz-date`, `x-amz-content-sha256`, the session token if
    /// any, and `authorization`.
    func signedHeaders(for request: SignableRequest, at date: Date) -> [String: String] {
        let (amzDate, dateStamp) = Self.timestamps(date)
        var headers = request.headers
        headers["x-amz-date"] = amzDate
        headers["x-amz-content-sha256"] = request.payloadSHA256
        if let token = credentials.sessionToken { headers["x-amz-security-token"] = token }
        var canonicalHeaders = headers
        canonicalHeaders["host"] = request.host
        let names = canonicalHeaders.keys.sorted()
        let signedNames = names.joined(separator: ";")
        let canonicalRequest = [
            request.method,
            Self.uriEncode(request.path, keepSlash: true),
            Self.canonicalQuery(request.query),
            names.map { "\($0):\(canonicalHeaders[$0]!.trimmingCharacters(in: .whitespaces))\n" }.joined(),
            signedNames,
            request.payloadSHA256,
        ].joined(separator: "\n")
        let scope = "\(dateStamp)/\(region)/\(service)/aws4_request"
        let stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, SHA256.hex(of: Array(canonicalRequest.utf8))].joined(
            separator: "\n")
        let signature = Self.hex(
            HMACSHA256.authenticationCode(key: signingKey(dateStamp: dateStamp), message: stringToSign))
        headers["authorization"] =
            "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), "
            + "SignedHeaders=\(signedNames), Signature=\(signature)"
        return headers
    }

    private func signingKey(dateStamp: String) -> [UInt8] {
        let dateKey = HMACSHA256.authenticationCode(
            key: Array("AWS4\(credentials.secretAccessKey)".utf8), message: dateStamp)
        let regionKey = HMACSHA256.authenticationCode(key: dateKey, message: region)
        let serviceKey = HMACSHA256.authenticationCode(key: regionKey, message: service)
        return HMACSHA256.authenticationCode(key: serviceKey, message: "aws4_request")
    }

    /// `20130524T000000Z` and `20130524`, in UTC.
    static func timestamps(_ date: Date) -> (amzDate: String, dateStamp: String) {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let dateStamp = String(
            format: "%04d%02d%02d", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday))
        return (
            dateStamp + String(format: "T%02d%02d%02dZ", Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec)),
            dateStamp
        )
    }

    /// Sorted `name=value` pairs, both URI-encoded (slashes too).
    static func canonicalQuery(_ query: [(name: String, value: String)]) -> String {
        let encoded: [(name: String, value: String)] = query.map { item in
            (name: uriEncode(item.name, keepSlash: false), value: uriEncode(item.value, keepSlash: false))
        }
        let sorted = encoded.sorted { lhs, rhs in lhs.name == rhs.name ? lhs.value < rhs.value : lhs.name < rhs.name }
        return sorted.map { item in item.name + "=" + item.value }.joined(separator: "&")
    }

    /// RFC 3986 encoding as SigV4 defines it: every byte but `A-Z a-z 0-9 - . _ ~` (and `/` in paths) as `%XY`.
    static func uriEncode(_ text: String, keepSlash: Bool) -> String {
        var out = ""
        for byte in text.utf8 {
            if unreservedBytes.contains(byte) || (keepSlash && byte == UInt8(ascii: "/")) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }

    private static let unreservedBytes = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~".utf8)

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0xf)]] }, as: UTF8.self)
    }
}

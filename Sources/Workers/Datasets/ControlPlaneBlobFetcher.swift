// Byte ranges of `cp://blobs/<sha256>` locations: ranged `GET /v1/blobs/{sha256}` with the worker's token (the
// control plane serves a blob as a file, answering `Range` with 206 and `Content-Range`). Network errors, 5xx,
// 408 and 429 are retryable for `FetchRetry`; other 4xx (an unknown blob, a refused token) are not.

import APIClient
import APITypes
import DataShards
import Foundation
import HTTPClient

public struct ControlPlaneBlobFetcher: ShardFetcher {
    public static let scheme = "cp://blobs/"

    public let baseURL: String
    public let token: BearerToken
    public let client: HTTPClient
    public let timeoutSeconds: Double

    public init(baseURL: String, token: BearerToken, client: HTTPClient = HTTPClient(), timeoutSeconds: Double = 300) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.token = token
        self.client = client
        self.timeoutSeconds = timeoutSeconds
    }

    /// The blob's URL on the control plane; a location that is not `cp://blobs/<sha256>` is refused.
    func url(of location: String) throws(FetchError) -> String {
        let sha = String(location.dropFirst(Self.scheme.count))
        guard location.hasPrefix(Self.scheme), sha.utf8.count == 64,
            sha.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) })
        else {
            throw FetchError(url: location, reason: "expected cp://blobs/<64 lower-case hex digits>", retryable: false)
        }
        return baseURL + APIRoute.getBlob.path(sha)
    }

    private func get(_ location: String, range: ClosedRange<Int64>) throws(FetchError) -> HTTPClientResponse {
        var headers = ["Range": "bytes=\(range.lowerBound)-\(range.upperBound)"]
        if let value = token.value { headers["Authorization"] = "Bearer \(value)" }
        let request = HTTPClientRequest(
            method: "GET", url: try url(of: location), headers: headers, timeoutSeconds: timeoutSeconds)
        let response: HTTPClientResponse
        do { response = try client.send(request) } catch {
            throw FetchError(url: location, reason: error.description, retryable: error.isTransient)
        }
        guard response.isSuccess else {
            let retryable = response.status >= 500 || response.status == 429 || response.status == 408
            throw FetchError(
                url: location, reason: "HTTP \(response.status) \(response.text.prefix(200))", retryable: retryable)
        }
        return response
    }

    public func contentLength(of location: String) throws(FetchError) -> Int64 {
        let response = try get(location, range: 0...0)
        guard response.status == 206 else { return Int64(response.body.count) }
        guard let header = response.header("Content-Range"), let slash = header.lastIndex(of: "/"),
            let total = Int64(header[header.index(after: slash)...].trimmingCharacters(in: .whitespaces))
        else {
            throw FetchError(url: location, reason: "206 without a usable Content-Range header", retryable: false)
        }
        return total
    }

    public func fetch(_ location: String, byteRange: Range<Int64>) throws(FetchError) -> [UInt8] {
        guard !byteRange.isEmpty else { return [] }
        let response = try get(location, range: byteRange.lowerBound...(byteRange.upperBound - 1))
        guard response.status == 206 else {
            throw FetchError(
                url: location, reason: "expected 206 for a range request, got \(response.status)", retryable: false)
        }
        guard response.body.count == byteRange.count else {
            throw FetchError(
                url: location, reason: "range \(byteRange) returned \(response.body.count) bytes", retryable: true)
        }
        return [UInt8](response.body)
    }
}

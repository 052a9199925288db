// Remote shards over HTTP(S) through the libcurl-backed `HTTPClient`: byte ranges with `Range` requests
// (a server must answer 206, or 200 with the whole file for a range that starts at 0), transient
// network errors and 5xx marked retryable for `FetchRetry`, 4xx not.
import Foundation
import HTTPClient

public struct HTTPShardFetcher: ShardFetcher {
    public let client: HTTPClient
    public let timeoutSeconds: Double

    public init(client: HTTPClient = HTTPClient(), timeoutSeconds: Double = 300) {
        self.client = client
        self.timeoutSeconds = timeoutSeconds
    }

    private func get(_ url: String, range: ClosedRange<Int64>) throws(FetchError) -> HTTPClientResponse {
        let request = HTTPClientRequest(
            method: "GET", url: url,
            headers: ["Range": "bytes=\(range.lowerBound)-\(range.upperBound)"],
            timeoutSeconds: timeoutSeconds)
        let response: HTTPClientResponse
        do { response = try client.send(request) } catch {
            throw FetchError(url: url, reason: error.description, retryable: error.isTransient)
        }
        guard response.isSuccess else {
            let retryable = response.status >= 500 || response.status == 429 || response.status == 408
            throw FetchError(
                url: url, reason: "HTTP \(response.status) \(response.text.prefix(200))", retryable: retryable)
        }
        return response
    }

    /// The file's size, from `Content-Range` of a one-byte range request (or the body of a 200).
    public func contentLength(of url: String) throws(FetchError) -> Int64 {
        let response = try get(url, range: 0...0)
        if response.status == 206 {
            guard let header = response.header("Content-Range"), let slash = header.lastIndex(of: "/"),
                let total = Int64(header[header.index(after: slash)...].trimmingCharacters(in: .whitespaces))
            else {
                throw FetchError(
                    url: url, reason: "206 response without a usable Content-Range header", retryable: false)
            }
            return total
        }
        return Int64(response.body.count)
    }

    public func fetch(_ url: String, byteRange: Range<Int64>) throws(FetchError) -> [UInt8] {
        guard !byteRange.isEmpty else { return [] }
        let response = try get(url, range: byteRange.lowerBound...(byteRange.upperBound - 1))
        let body = response.body
        if response.status == 206 {
            guard body.count == byteRange.count else {
                throw FetchError(url: url, reason: "range \(byteRange) returned \(body.count) bytes", retryable: true)
            }
            return [UInt8](body)
        }
        // A server without range support sends the whole file.
        guard body.count >= byteRange.upperBound else {
            throw FetchError(
                url: url, reason: "response of \(body.count) bytes is shorter than range \(byteRange)", retryable: true)
        }
        return [UInt8](body[Int(byteRange.lowerBound)..<Int(byteRange.upperBound)])
    }
}

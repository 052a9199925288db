// HTTPClient: the only code that touches libcurl.
//
// One client is meant to be shared by a whole process: it is Sendable, each call borrows an easy handle
// from a small pool (so concurrent calls never share a handle, and sequential calls reuse keep-alive
// connections), and the async variants run the blocking transfer on a thread of their own
// (TransferThreads) so the cooperative thread pool is never blocked.

import Foundation

public final class HTTPClient: Sendable {
    /// Headers sent with every request (e.g. `Authorization: Bearer ...`); a request's own headers win.
    public let defaultHeaders: [String: String]
    private let pool: CurlHandlePool

    /// - Parameter maxIdleConnections: easy handles (each with its live connection) kept for reuse.
    /// - Parameter caFile: PEM file of the certificate authorities that HTTPS servers are verified against, instead
    ///   of the system's (`--ca-file` / `OPS_CA_FILE`: a cluster's own CA); nil trusts the system's store.
    public init(defaultHeaders: [String: String] = [:], maxIdleConnections: Int = 32, caFile: String? = nil) {
        self.defaultHeaders = defaultHeaders
        self.pool = CurlHandlePool(maxIdle: maxIdleConnections, caFile: caFile)
    }

    /// The CA file HTTPS servers are verified against (nil: the system's store).
    public var caFile: String? { pool.caFile }

    /// A client for `token`: every request carries `Authorization: Bearer <token>`.
    public convenience init(bearerToken: String, maxIdleConnections: Int = 32) {
        self.init(defaultHeaders: ["Authorization": "Bearer \(bearerToken)"], maxIdleConnections: maxIdleConnections)
    }

    /// Sends `request` and returns the response, whatever its status. Throws only when no response came.
    public func send(_ request: HTTPClientRequest) throws(HTTPClientError) -> HTTPClientResponse {
        try performTransfer(
            pool: pool, request: request, defaultHeaders: defaultHeaders, downloadTo: nil, range: nil, cancellation: nil
        )
    }

    /// Streams the body of `GET url` into `path` (replacing it) when the status is 2xx; a non-2xx body is
    /// returned in `response.body` and no file is written. With `range` (inclusive byte offsets) a
    /// range-capable server answers 206 with just those bytes — check `status == 206`.
    public func download(
        url: String, to path: String, range: ClosedRange<Int64>? = nil,
        headers: [String: String] = [:], timeoutSeconds: Double = 600
    ) throws(HTTPClientError) -> HTTPClientResponse {
        let request = HTTPClientRequest(method: "GET", url: url, headers: headers, timeoutSeconds: timeoutSeconds)
        return try performTransfer(
            pool: pool, request: request, defaultHeaders: defaultHeaders, downloadTo: path, range: range,
            cancellation: nil)
    }

    /// `download` that also shows `observe` every chunk of a 2xx body as it is written, in order (e.g. to a
    /// `BackgroundSHA256`, so the file need not be read again to verify it). Called on the transfer's thread.
    public func download(
        url: String, to path: String, headers: [String: String] = [:], timeoutSeconds: Double = 600,
        observe: @escaping (UnsafeRawBufferPointer) -> Void
    ) throws(HTTPClientError) -> HTTPClientResponse {
        let request = HTTPClientRequest(method: "GET", url: url, headers: headers, timeoutSeconds: timeoutSeconds)
        return try performTransfer(
            pool: pool, request: request, defaultHeaders: defaultHeaders, downloadTo: path, range: nil,
            cancellation: nil, bodyObserver: observe)
    }

    /// Sends the file at `path` as the body (streamed, never loaded into memory), e.g. an artifact upload.
    public func upload(
        url: String, method: String = "PUT", fromFile path: String, headers: [String: String] = [:],
        timeoutSeconds: Double = 600
    ) throws(HTTPClientError) -> HTTPClientResponse {
        let request = HTTPClientRequest(method: method, url: url, headers: headers, timeoutSeconds: timeoutSeconds)
        return try performTransfer(
            pool: pool, request: request, defaultHeaders: defaultHeaders, downloadTo: nil, range: nil,
            uploadFrom: path, cancellation: nil)
    }

    /// `upload` without blocking the caller's thread; cancelling the task aborts the transfer.
    public func upload(
        url: String, method: String = "PUT", fromFile path: String, headers: [String: String] = [:],
        timeoutSeconds: Double = 600
    ) async throws(HTTPClientError) -> HTTPClientResponse {
        let request = HTTPClientRequest(method: method, url: url, headers: headers, timeoutSeconds: timeoutSeconds)
        return try await runDetached(url: url) { flag throws(HTTPClientError) in
            try performTransfer(
                pool: self.pool, request: request, defaultHeaders: self.defaultHeaders,
                downloadTo: nil, range: nil, uploadFrom: path, cancellation: flag)
        }
    }

    /// `send` without blocking the caller's thread; cancelling the task aborts the transfer (`.cancelled`).
    public func send(_ request: HTTPClientRequest) async throws(HTTPClientError) -> HTTPClientResponse {
        try await runDetached(url: request.url) { flag throws(HTTPClientError) in
            try performTransfer(
                pool: self.pool, request: request, defaultHeaders: self.defaultHeaders,
                downloadTo: nil, range: nil, cancellation: flag)
        }
    }

    /// `download` without blocking the caller's thread; cancelling the task aborts the transfer.
    public func download(
        url: String, to path: String, range: ClosedRange<Int64>? = nil,
        headers: [String: String] = [:], timeoutSeconds: Double = 600
    ) async throws(HTTPClientError) -> HTTPClientResponse {
        let request = HTTPClientRequest(method: "GET", url: url, headers: headers, timeoutSeconds: timeoutSeconds)
        return try await runDetached(url: url) { flag throws(HTTPClientError) in
            try performTransfer(
                pool: self.pool, request: request, defaultHeaders: self.defaultHeaders,
                downloadTo: path, range: range, cancellation: flag)
        }
    }

    private func runDetached(
        url: String,
        _ work: @escaping @Sendable (CancellationFlag) throws(HTTPClientError) -> HTTPClientResponse
    )
        async throws(HTTPClientError) -> HTTPClientResponse
    {
        if Task.isCancelled { throw .cancelled(url: url) }
        let flag = CancellationFlag()
        let result: Result<HTTPClientResponse, HTTPClientError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                TransferThreads.shared.run {
                    do throws(HTTPClientError) {
                        continuation.resume(returning: .success(try work(flag)))
                    } catch {
                        continuation.resume(returning: .failure(error))
                    }
                }
            }
        } onCancel: {
            flag.cancel()
        }
        return try result.get()
    }
}

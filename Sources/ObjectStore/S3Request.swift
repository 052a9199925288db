// One S3 request, signed afresh and sent once per attempt, with the retry loop and the mapping of refusals to
// ObjectStoreError. Every S3ObjectStore operation goes through `S3ObjectStore.perform`.

import Checksum
import Foundation
import HTTPClient

/// What one S3 call sends, before signing.
struct S3Request {
    enum Body {
        case none
        case data(Data)
        /// Streamed from a file by curl; its SHA-256 was computed beforehand (it is signed).
        case file(path: String, sha256: String)
    }

    var operation: ObjectStoreOperation
    var method: String
    var key: String?
    var query: [(name: String, value: String)] = []
    var headers: [String: String] = [:]
    var body: Body = .none
    /// A 2xx body streams into this file instead of memory.
    var downloadPath: String?

    var payloadSHA256: String {
        switch body {
        case .none: return SigV4Signer.emptyPayloadSHA256
        case .data(let data): return SHA256.hex(of: data)
        case .file(_, let sha256): return sha256
        }
    }
}

extension S3ObjectStore {
    /// Sends `request` until it gets a response that is not worth retrying, and returns that response if it is
    /// 2xx. Transient connection errors and 5xx answers are retried with backoff, each attempt signed anew.
    func perform(_ request: S3Request) throws(ObjectStoreError) -> HTTPClientResponse {
        let signable = SignableRequest(
            method: request.method, host: configuration.hostHeader,
            path: "/\(configuration.bucket)" + (request.key.map { "/\($0)" } ?? ""),
            query: request.query, headers: request.headers, payloadSHA256: request.payloadSHA256)
        let url = configuration.endpoint + signable.encodedPathAndQuery
        let policy = configuration.retry
        var attempt = 0
        while true {
            attempt += 1
            let headers = signer.signedHeaders(for: signable, at: Date())
            let response: HTTPClientResponse
            do throws(HTTPClientError) {
                response = try send(request, url: url, headers: headers)
            } catch {
                if case .fileError(_, let path, let message) = error { throw .localFile(path: path, detail: message) }
                guard error.isTransient, attempt < policy.maxAttempts else {
                    throw .unreachable(
                        bucket: configuration.bucket, key: request.key, operation: request.operation,
                        attempts: attempt, cause: error)
                }
                retry(request, attempt: attempt, outcome: "\(error)")
                continue
            }
            guard S3RetryPolicy.retryableStatuses.contains(response.status), attempt < policy.maxAttempts else {
                guard response.isSuccess else { throw failure(for: request, response: response) }
                return response
            }
            retry(
                request, attempt: attempt,
                outcome: "HTTP \(response.status) \(S3XML.value("Code", in: response.text) ?? "")")
        }
    }

    /// Logs why attempt `attempt` failed and sleeps the backoff before the next.
    private func retry(_ request: S3Request, attempt: Int, outcome: String) {
        let policy = configuration.retry
        let delay = policy.delaySeconds(afterFailures: attempt)
        log?(
            "\(request.operation.rawValue) on bucket \"\(configuration.bucket)\": \(outcome); retrying in "
                + String(format: "%.2f", delay) + " s (attempt \(attempt) of \(policy.maxAttempts))")
        Thread.sleep(forTimeInterval: delay)
    }

    private func send(_ request: S3Request, url: String, headers: [String: String]) throws(HTTPClientError)
        -> HTTPClientResponse
    {
        let timeout = configuration.timeoutSeconds
        switch request.body {
        case .file(let path, _):
            return try client.upload(
                url: url, method: request.method, fromFile: path, headers: headers, timeoutSeconds: timeout)
        case .data(let data):
            return try client.send(
                HTTPClientRequest(
                    method: request.method, url: url, headers: headers, body: data, timeoutSeconds: timeout))
        case .none:
            if let path = request.downloadPath {
                return try client.download(url: url, to: path, headers: headers, timeoutSeconds: timeout)
            }
            return try client.send(
                HTTPClientRequest(method: request.method, url: url, headers: headers, timeoutSeconds: timeout))
        }
    }

    /// The error a non-2xx answer means. HEAD answers carry no body, so their status alone decides.
    private func failure(for request: S3Request, response: HTTPClientResponse) -> ObjectStoreError {
        let bucket = configuration.bucket
        let code =
            S3XML.value("Code", in: response.text) ?? (response.status == 403 ? "Forbidden" : "HTTP \(response.status)")
        switch (response.status, code) {
        case (403, _):
            return .accessDenied(
                bucket: bucket, key: request.key, operation: request.operation, code: code,
                accessKeyID: configuration.credentials.accessKeyID)
        case (404, "NoSuchBucket"):
            return .noSuchBucket(bucket: bucket, operation: request.operation)
        case (404, _) where request.key != nil && request.query.isEmpty:
            return .noSuchKey(bucket: bucket, key: request.key!)
        default:
            return .unexpectedStatus(
                bucket: bucket, key: request.key, operation: request.operation, status: response.status,
                code: code, message: S3XML.value("Message", in: response.text) ?? "")
        }
    }
}

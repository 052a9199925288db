import Foundation
import HTTPClient
import HTTPServer
import Primitives
import TestSupport

@testable import ObjectStore

/// One moto server for the whole test class (starting it takes ~1 s), and stores pointed at it.
enum MotoFixture {
    static let bucket = "llmops-test"
    static let setupScript = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/moto_setup.py").path
    nonisolated(unsafe) private static var shared: MotoServer?

    /// The running server; a missing moto is an error (the test fails saying how to install it), never a skip.
    static func server() throws -> MotoServer {
        if let shared { return shared }
        let started = try MotoServer(bucket: bucket, setupScript: setupScript)
        shared = started
        return started
    }

    /// Fast retries so that fault tests take milliseconds.
    static let quickRetry = S3RetryPolicy(
        maxAttempts: 4, backoff: ExponentialBackoff(initialSeconds: 0.01, maximumSeconds: 0.05))

    static func store(
        endpoint: String? = nil, secret: String? = nil, partSizeBytes: Int = S3Configuration.minimumPartSizeBytes,
        retry: S3RetryPolicy = quickRetry, log: (@Sendable (String) -> Void)? = nil
    ) throws -> S3ObjectStore {
        let server = try server()
        let credentials = S3Credentials(
            accessKeyID: server.accessKeyID, secretAccessKey: secret ?? server.secretAccessKey)
        let configuration = try S3Configuration(
            endpoint: endpoint ?? server.endpoint, bucket: bucket, credentials: credentials,
            partSizeBytes: partSizeBytes, retry: retry)
        return S3ObjectStore(configuration: configuration, log: log)
    }
}

/// An HTTP server in front of moto that answers with `fault` where it returns a response and forwards the
/// request unchanged (Host included, so the signature still holds) where it returns nil.
final class FaultProxy: @unchecked Sendable { // `server` is set once in init
    private var server: HTTPServer!
    let requestCount = Locked(0)

    init(target: String, fault: @escaping @Sendable (_ index: Int, _ request: HTTPRequest) -> HTTPResponse?) throws {
        let client = HTTPClient()
        server = HTTPServer(
            configuration: HTTPServerConfiguration(
                address: "127.0.0.1", port: 0,
                maxBodyBytes: { _, _ in 64 << 20 })
        ) { [requestCount] request in
            let index = requestCount.withLock { count -> Int in
                count += 1
                return count
            }
            if let response = fault(index, request) { return response }
            return Self.forward(request, to: target, client: client)
        }
        try server.start()
    }

    var endpoint: String { server.baseURL }

    func stop() { server.stop() }

    static func slowDown() -> HTTPResponse {
        HTTPResponse(
            status: 503, headers: ["Content-Type": "application/xml"],
            body: Data("<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>".utf8))
    }

    private static func forward(_ request: HTTPRequest, to target: String, client: HTTPClient) -> HTTPResponse {
        let query = request.queryItems.map { (name: $0.name, value: $0.value) }
        let encodedQuery = SigV4Signer.canonicalQuery(query)
        let url =
            target + SigV4Signer.uriEncode(request.path, keepSlash: true)
            + (encodedQuery.isEmpty ? "" : "?" + encodedQuery)
        var headers: [String: String] = [:]
        for (name, value) in request.headers where !["content-length", "connection"].contains(name.lowercased()) {
            headers[name] = value
        }
        let body = try? request.bodyData()
        let forwarded = HTTPClientRequest(
            method: request.method, url: url, headers: headers,
            body: request.method == "GET" || request.method == "HEAD" ? nil : body ?? Data())
        guard let response = try? client.send(forwarded) else {
            return .error(status: 502, message: "moto unreachable")
        }
        var responseHeaders = HTTPHeaders()
        for (name, value) in response.headers
        where !["content-length", "transfer-encoding", "connection", "date", "server"].contains(name.lowercased()) {
            responseHeaders.add(name, value)
        }
        return HTTPResponse(status: response.status, headers: responseHeaders, body: response.body)
    }
}

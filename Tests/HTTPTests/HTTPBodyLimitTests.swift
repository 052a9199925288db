import Foundation
import HTTPClient
import HTTPServer
import XCTest

final class HTTPBodyLimitTests: XCTestCase {
    private func limitedServer() throws -> HTTPServer {
        let configuration = HTTPServerConfiguration(maxBodyBytes: { method, path in
            path.hasPrefix("/upload") && method == "PUT" ? 4 << 20 : 1024
        })
        return try startServer(self, configuration: configuration) { request in
            .json(["received": request.body.count])
        }
    }

    func testOversizedBodyByContentLengthIs413WithJSONError() throws {
        let server = try limitedServer()
        let client = HTTPClient()
        let ok = try client.send(
            HTTPClientRequest(method: "POST", url: "\(server.baseURL)/v1/jobs", body: Data(count: 1024)))
        XCTAssertEqual(ok.status, 200)
        XCTAssertEqual(try ok.decodeJSON([String: Int].self), ["received": 1024])

        let tooLarge = try client.send(
            HTTPClientRequest(method: "POST", url: "\(server.baseURL)/v1/jobs", body: Data(count: 1025)))
        XCTAssertEqual(tooLarge.status, 413)
        XCTAssertEqual(tooLarge.header("Content-Type"), "application/json")
        XCTAssertTrue(
            tooLarge.text.contains("request body too large: POST /v1/jobs accepts at most 1024 bytes"), tooLarge.text)
        XCTAssertTrue(tooLarge.text.contains("\"code\":\"payload_too_large\""), tooLarge.text)

        // The limit is per path: uploads may be larger, but not unbounded.
        let upload = try client.send(
            HTTPClientRequest(method: "PUT", url: "\(server.baseURL)/upload/a", body: Data(count: 3 << 20)))
        XCTAssertEqual(upload.status, 200)
        XCTAssertEqual(try upload.decodeJSON([String: Int].self), ["received": 3 << 20])
        let hugeUpload = try client.send(
            HTTPClientRequest(method: "PUT", url: "\(server.baseURL)/upload/a", body: Data(count: 5 << 20)))
        XCTAssertEqual(hugeUpload.status, 413)

        // The server keeps serving after refusing.
        XCTAssertEqual(try client.send(HTTPClientRequest(url: "\(server.baseURL)/v1/jobs")).status, 200)
    }

    func testOversizedChunkedBodyIs413() throws {
        let server = try limitedServer()
        let head =
            "POST /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        var chunks = [Data(head.utf8)]
        for _ in 0..<4 { chunks.append(Data("200\r\n".utf8) + Data(repeating: 65, count: 512) + Data("\r\n".utf8)) }
        chunks.append(Data("0\r\n\r\n".utf8))
        let answer = rawExchange(port: server.port, chunks)
        XCTAssertTrue(answer.hasPrefix("HTTP/1.1 413"), answer)
        XCTAssertTrue(answer.contains("accepts at most 1024 bytes"), answer)

        // A small chunked body is accepted and fully received.
        let small = [Data(head.utf8), Data("10\r\n0123456789abcdef\r\n0\r\n\r\n".utf8)]
        let smallAnswer = rawExchange(port: server.port, small)
        XCTAssertTrue(smallAnswer.hasPrefix("HTTP/1.1 200"), smallAnswer)
        XCTAssertTrue(smallAnswer.contains("{\"received\":16}"), smallAnswer)
    }
}

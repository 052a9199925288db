import APITypes
import Foundation
import HTTPServer
import TestSupport
import XCTest

@testable import Control

/// `GET /openapi.json` through the control plane's router, and the `Allow` header of a 405 that schemathesis'
/// `unsupported_method` check asks for.
final class APIDescriptionRouteTests: InProcessRouterTestCase {
    private func send(_ method: String, _ path: String, token: String? = nil) -> HTTPResponse {
        let headers: HTTPHeaders = token.map { ["Authorization": "Bearer \($0)"] } ?? [:]
        return router.handle(HTTPRequest(method: method, path: path, queryItems: [], headers: headers, body: Data()))
    }

    func testOpenAPIDocumentIsServedWithoutATokenAndCoversEveryRoute() throws {
        let response = send("GET", APIRoute.openAPI.path())
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.headers["Content-Type"], "application/json")
        let document = try WireCoding.decode(AnyJSON.self, from: response.bodyBytes)
        XCTAssertEqual(document["openapi"], "3.1.0")
        XCTAssertEqual(document["info"]?["version"], .string(opsVersion))
        for route in APIRoute.restAPI {
            XCTAssertNotNil(document["paths"]?[route.pattern]?[route.method.rawValue.lowercased()], "\(route)")
        }
        // The server's own poll bound is the documented maximum of `?wait=`.
        let logs = document["paths"]?[APIRoute.jobLogs.pattern]?["get"]?["parameters"]?.arrayValue ?? []
        XCTAssertEqual(logs.first { $0["name"] == "wait" }?["schema"]?["maximum"], 30)
    }

    func testMethodNotAllowedListsTheMethodsOfThePath() throws {
        let response = send("PATCH", APIRoute.job.path("a"), token: "admin")
        XCTAssertEqual(response.status, 405)
        XCTAssertEqual(response.headers["Allow"], "GET, DELETE")
        let blob = send("POST", APIRoute.getBlob.path(String(repeating: "ab", count: 32)), token: "admin")
        XCTAssertEqual(blob.headers["Allow"], "PUT, GET, HEAD")
    }

    /// schemathesis found `PUT /v1/blobs/missing` answered by the blob route (a 400 about a checksum named
    /// "missing"): the literal path is its own resource, with POST only.
    func testALiteralPathBeatsAParameterOfTheSameLength() throws {
        let put = send("PUT", APIRoute.missingBlobs.path(), token: "admin")
        XCTAssertEqual(put.status, 405)
        XCTAssertEqual(put.headers["Allow"], "POST")
        XCTAssertEqual(send("GET", APIRoute.missingBlobs.path(), token: "admin").status, 405)
        // The parameter route still answers every other name.
        XCTAssertEqual(
            send("GET", APIRoute.getBlob.path(String(repeating: "ab", count: 32)), token: "admin").status, 404)
    }
}

// Issue 16, point 3: libmicrohttpd decoded `%00` in the path and query into a NUL that ended its C string, so
// `/v1/jobs/a%00b/cancel` reached the handler as `/v1/jobs/a` (and acted on job `a`). The server now decodes
// escapes itself: the NUL reaches the handler (the API's router refuses it with a 400).

import Foundation
import HTTPClient
import HTTPServer
import XCTest

final class HTTPEscapedNULTests: XCTestCase {
    func testAnEscapedNULInThePathOrQueryReachesTheHandlerWhole() throws {
        let server = try startServer(self, handler: echoHandler)
        let response = try HTTPClient().send(
            HTTPClientRequest(
                method: "GET",
                url: "\(server.baseURL)/v1/jobs/a%00b/cancel?name=x%00y&n%00k=v&kept=%41%zz%&plus=a+b%2B",
                headers: [:], body: nil))
        XCTAssertEqual(response.status, 200)
        let echo = try response.decodeJSON(Echo.self)
        XCTAssertEqual(echo.path, "/v1/jobs/a\u{0}b/cancel")
        XCTAssertEqual(
            echo.query, ["name": "x\u{0}y", "n\u{0}k": "v", "kept": "A%zz%", "plus": "a b+"],
            "every %HH decoded once, anything else kept")
    }
}

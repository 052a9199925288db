import APITypes
import XCTest

/// The route table itself: every route's concrete path fits its own pattern (parameters come back decoded) and
/// no other route of the same method, so the router's first match is the only one.
final class APIRouteTableTests: XCTestCase {
    func testEveryPathMatchesItsOwnRouteAndNoOther() {
        XCTAssertEqual(Set(APIRoute.all).count, APIRoute.all.count, "a route listed twice")
        for endpoint in APIRoute.all {
            let values = endpoint.parameterNames.map { "\($0) x/y" }
            let components = endpoint.path(filling: values).split(separator: "/").map(String.init)
            XCTAssertEqual(
                endpoint.match(components), Dictionary(uniqueKeysWithValues: zip(endpoint.parameterNames, values)),
                "\(endpoint)")
            for other in APIRoute.all where other != endpoint && other.method == endpoint.method {
                XCTAssertNil(other.match(components), "\(endpoint) is also matched by \(other)")
            }
        }
    }

    func testPathsAndRequestLines() {
        XCTAssertEqual(APIRoute.jobLogs.path("a", query: [("since", "5"), ("task", nil)]), "/v1/jobs/a/logs?since=5")
        XCTAssertEqual(APIRoute.cancelJob.request("pre train").description, "POST /v1/jobs/pre%20train/cancel")
        XCTAssertEqual(APIRoute.healthz.request().description, "GET /healthz")
        XCTAssertEqual(APIRoute.putBlob.description, "PUT /v1/blobs/{sha256}")
        XCTAssertNil(APIRoute.job.match(["v1", "jobs"]))
        XCTAssertNil(APIRoute.job.match(["v1", "datasets", "a"]))
        // Every API route but the probes, the Prometheus scrape (where scrapers look) and the dashboard's pages lives
        // under the prefix.
        for endpoint in APIRoute.all
        where endpoint.scope != .open && endpoint.credential == .bearerToken && endpoint != APIRoute.metrics {
            XCTAssertTrue(endpoint.pattern.hasPrefix(APIRoute.apiPrefix + "/"), "\(endpoint)")
        }
    }
}

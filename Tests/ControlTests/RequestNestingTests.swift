// Issue 22, point 7: a body nested deeper than 64 levels is refused (400) before it is decoded, on every route
// that decodes JSON. Before, a 1.1 kB report nested 500 deep took 6.8 s of server time and was accepted.

import APITypes
import ClusterModel
import Foundation
import TestSupport
import XCTest

final class RequestNestingTests: XCTestCase {
    func testABodyNestedDeeperThan64LevelsIsRefusedBeforeDecoding() async throws {
        let cluster = try InProcessCluster()
        let http = RawHTTP(baseURL: cluster.plane.baseURL)
        let leased = try await ReportRequests.lease(cluster, http, job: "deep", tasks: 1)
        let a = leased.assignments[0]
        // {"workerID", "completions": [ {"result": <depth> ] } }: the result's arrays start at level 4.
        func completion(resultDepth depth: Int) -> Data {
            Data(
                #"{"workerID":\#(leased.worker),"completions":[{"taskID":\#(a.taskID),"attemptID":\#(a.attemptID),"artifacts":[],"result":"#
                    .utf8)
                + Data(String(repeating: "[", count: depth).utf8) + Data(String(repeating: "]", count: depth).utf8)
                + Data("}]}".utf8)
        }
        let deep = try await http.send(
            "POST", APIRoute.workerReports.path(), token: leased.token, body: completion(resultDepth: 500))
        try ReportRequests.expect(deep, 400, .badRequest, mentions: "body nested deeper than 64 levels")
        let oneTooMany = try await http.send(
            "POST", APIRoute.workerReports.path(), token: leased.token, body: completion(resultDepth: 62))
        try ReportRequests.expect(oneTooMany, 400, .badRequest, mentions: "body nested deeper than 64 levels")
        // Every other body too: a manifest (admin token) and a registration (join token).
        let nested = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
        try ReportRequests.expect(
            try await http.send(
                "POST", APIRoute.manifests.path(), token: "admin", body: Data(#"{"documents":\#(nested)}"#.utf8)),
            400, .badRequest, mentions: "body nested deeper than 64 levels")
        try ReportRequests.expect(
            try await http.send(
                "POST", APIRoute.workerRegister.path(), token: "join", body: Data(#"{"name":\#(nested)}"#.utf8)),
            400, .badRequest, mentions: "body nested deeper than 64 levels")
        let untouched = try await cluster.admin.tasks(job: "deep").first?.state
        XCTAssertEqual(untouched, .running)
        // Exactly 64 levels is fine.
        let limit = try await http.send(
            "POST", APIRoute.workerReports.path(), token: leased.token, body: completion(resultDepth: 61))
        XCTAssertEqual(limit.status, 200, String(decoding: limit.body, as: UTF8.self))
        let completed = try await cluster.admin.tasks(job: "deep").first?.state
        XCTAssertEqual(completed, .succeeded)
        await cluster.shutdown()
    }
}

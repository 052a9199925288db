// Issue 15: `GET /v1/artifacts/{id}` and `GET /v1/artifacts/{id}/content` were documented but answered 404.
// Now the first returns the artifact's `ArtifactView`; the second its bytes when the control plane holds them
// (a `cp://blobs/` location: the blob file, with ranges like `GET /v1/blobs/{sha256}`), and 409 naming the
// location when the bytes are elsewhere (an S3 object, a worker's shared directory).

import APIClient
import APITypes
import Foundation
import HTTPClient
import TestSupport
import Workers
import XCTest

final class ArtifactRoutesTests: XCTestCase {
    func testAnArtifactByIdAndItsContentWithRanges() async throws {
        let cluster = try InProcessCluster()
        let http = RawHTTP(baseURL: cluster.plane.baseURL)
        let leased = try await ReportRequests.lease(cluster, http, job: "ckpt", tasks: 1)
        let a = leased.assignments[0]
        let bytes = (0..<50_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let source = cluster.directory.path + "/model.bin"
        try Data(bytes).write(to: URL(fileURLWithPath: source))
        let blob = try ControlPlaneArtifactStore(
            baseURL: cluster.plane.baseURL, token: BearerToken("admin"), cacheDirectory: cluster.directory.url
        ).store(file: URL(fileURLWithPath: source), name: "model")
        XCTAssertTrue(blob.location.hasPrefix("cp://blobs/"), blob.location)
        let elsewhere = "s3://bucket/runs/model.bin"
        let batch = ReportBatch(
            workerID: leased.worker,
            artifacts: [
                ArtifactReport(
                    taskID: a.taskID, attemptID: a.attemptID,
                    artifact: ArtifactRecord(
                        name: "model", location: blob.location, sha256: blob.sha256, bytes: blob.bytes,
                        kind: "checkpoint")),
                ArtifactReport(
                    taskID: a.taskID, attemptID: a.attemptID,
                    artifact: ArtifactRecord(
                        name: "remote", location: elsewhere, sha256: blob.sha256, bytes: blob.bytes,
                        kind: "checkpoint")),
            ])
        let reported = try await http.send("POST", APIRoute.workerReports.path(), token: leased.token, json: batch)
        XCTAssertEqual(reported.status, 200, String(decoding: reported.body, as: UTF8.self))
        let listed = try await cluster.admin.artifacts(job: "ckpt")
        let model = try XCTUnwrap(listed.first { $0.name == "model" })
        let remote = try XCTUnwrap(listed.first { $0.name == "remote" })

        let one = try await http.send("GET", APIRoute.artifact.path("\(model.id)"), token: "admin")
        XCTAssertEqual(one.status, 200, String(decoding: one.body, as: UTF8.self))
        XCTAssertEqual(try one.decoded(ArtifactView.self), model)

        let client = HTTPClient()
        let admin = ["Authorization": "Bearer admin"]
        let url = cluster.plane.baseURL + APIRoute.artifactContent.path("\(model.id)")
        let whole = try await client.send(HTTPClientRequest(url: url, headers: admin))
        XCTAssertEqual(whole.status, 200)
        XCTAssertTrue(whole.body == Data(bytes), "the whole blob, \(whole.body.count) bytes")
        let ranged = try await client.send(
            HTTPClientRequest(url: url, headers: admin.merging(["Range": "bytes=100-199"]) { a, _ in a }))
        XCTAssertEqual(ranged.status, 206)
        XCTAssertTrue(ranged.body == Data(bytes[100...199]), "bytes 100-199, got \(ranged.body.count) bytes")
        XCTAssertEqual(ranged.header("Content-Range"), "bytes 100-199/50000")

        let away = try await http.send("GET", APIRoute.artifactContent.path("\(remote.id)"), token: "admin")
        XCTAssertEqual(away.status, 409)
        let message = try away.apiError().error.message
        XCTAssertTrue(message.contains(elsewhere) && message.contains("remote"), message)

        let unknown = try await http.send("GET", APIRoute.artifact.path("999999"), token: "admin")
        XCTAssertEqual(unknown.status, 404)
        XCTAssertTrue(try unknown.apiError().error.message.contains("999999"))
        let unknownContent = try await http.send("GET", APIRoute.artifactContent.path("999999"), token: "admin")
        XCTAssertEqual(unknownContent.status, 404)
        let bad = try await http.send("GET", APIRoute.artifact.path("abc"), token: "admin")
        XCTAssertEqual(bad.status, 400)
        let badMessage = try bad.apiError().error.message
        XCTAssertTrue(badMessage.contains("path parameter id"), badMessage)
        let worker = try await http.send("GET", APIRoute.artifact.path("\(model.id)"), token: leased.token)
        XCTAssertEqual(worker.status, 403, "admin routes: a worker token is refused")
        await cluster.shutdown()
    }
}

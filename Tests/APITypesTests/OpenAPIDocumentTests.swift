import ClusterModel
import Foundation
import XCTest

@testable import APITypes

/// `GET /openapi.json` is built from the route table and the wire types' decoders: every route is in it, the
/// schemas say what the decoders require, and a Python OpenAPI validator accepts the whole document.
final class OpenAPIDocumentTests: XCTestCase {
    func document() throws -> AnyJSON { try OpenAPIDocument.build(version: opsVersion, maxPollSeconds: 30) }

    func testEveryRouteHasADocumentationRowAndAnOperation() throws {
        let table = APIRoute.documentation(maxPollSeconds: 30)
        let paths = try XCTUnwrap(try document()["paths"]?.objectValue)
        for route in APIRoute.restAPI {
            XCTAssertNotNil(table[route], "\(route) has no row in APIRoute.documentation")
            let operation = paths[route.pattern]?[route.method.rawValue.lowercased()]
            XCTAssertNotNil(operation, "\(route) is missing from the document")
            XCTAssertNotNil(operation?["responses"]?.objectValue?.first, "\(route) documents no response")
        }
        XCTAssertEqual(
            table.count, APIRoute.restAPI.count, "a documentation row for a route that is not in APIRoute.restAPI")
        for route in APIRoute.dashboard {
            XCTAssertNil(paths[route.pattern]?[route.method.rawValue.lowercased()], "\(route) is the dashboard's")
        }
        XCTAssertEqual(APIRoute.restAPI.count + APIRoute.dashboard.count, APIRoute.all.count)
    }

    func testARouteWithoutARowIsNamedInTheError() throws {
        let unlisted = APIEndpoint(.get, "/v1/unlisted", .read)
        XCTAssertThrowsError(
            try OpenAPIDocument.build(version: opsVersion, maxPollSeconds: 30, routes: APIRoute.restAPI + [unlisted])
        ) { error in
            XCTAssertTrue("\(error)".contains("GET /v1/unlisted"), "\(error)")
            XCTAssertTrue("\(error)".contains("RouteDocumentationTable.swift"), "\(error)")
        }
    }

    func testSchemasFollowTheDecoders() throws {
        let registry = WireSchemaRegistry()
        _ = try registry.schema(for: JobView.self)
        let job = try XCTUnwrap(registry.components["JobView"])
        let required = Set(job["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        XCTAssertTrue(required.isSuperset(of: ["id", "name", "state", "tasks", "submittedAt"]), "\(required)")
        XCTAssertFalse(required.contains("pendingReason"), "an Optional is decoded with decodeIfPresent")
        // ... which reads a null as absent, so the schema accepts null there (schemathesis sent `"progress": null`).
        XCTAssertEqual(job["properties"]?["pendingReason"], ["anyOf": [["type": "string"], ["type": "null"]]])
        XCTAssertEqual(job["properties"]?["id"], WireScalarSchema.int64, "JobID is one Int64")
        XCTAssertEqual(job["properties"]?["submittedAt"], ["type": "string", "format": "date-time"])
        XCTAssertEqual(job["properties"]?["state"], ["$ref": "#/components/schemas/JobState"])
        XCTAssertEqual(
            registry.components["JobState"]?["enum"], .array(JobState.allCases.map { .string($0.rawValue) }))

        // A hand-written decoder that defaults a field (`dryRun ?? false`) makes it optional.
        _ = try registry.schema(for: SubmitManifestsRequest.self)
        let submit = try XCTUnwrap(registry.components["SubmitManifestsRequest"])
        XCTAssertEqual(submit["required"], ["documents"])
        XCTAssertEqual(submit["properties"]?["documents"]?["items"], ["$ref": "#/components/schemas/AnyJSON"])

        // Maps keyed by accelerator type are objects of integers.
        _ = try registry.schema(for: Resources.self)
        XCTAssertEqual(
            registry.components["Resources"]?["properties"]?["accelerators"],
            ["type": "object", "additionalProperties": WireScalarSchema.int64])
        XCTAssertEqual(
            try registry.schema(for: ListResponse<JobView>.self), ["$ref": "#/components/schemas/ListResponse_JobView"])
    }

    func testStatusesAndSecurityFollowTheRouteTable() throws {
        let paths = try XCTUnwrap(try document()["paths"])
        let cancel = try XCTUnwrap(paths["/v1/jobs/{name}/cancel"]?["post"])
        XCTAssertEqual(cancel["security"], [["bearerToken": ["submit"]]])
        let statuses = Set(cancel["responses"]?.objectValue?.keys.map { $0 } ?? [])
        XCTAssertEqual(statuses, ["200", "400", "401", "403", "404", "503"])
        XCTAssertEqual(
            cancel["responses"]?["404"]?["content"]?["application/json"]?["schema"],
            ["$ref": "#/components/schemas/APIErrorBody"])
        XCTAssertEqual(paths["/healthz"]?["get"]?["security"], [])
        let blob = try XCTUnwrap(paths["/v1/blobs/{sha256}"]?["get"]?["responses"]?["200"]?["content"])
        XCTAssertNotNil(blob["application/octet-stream"], "blobs are bytes, not JSON")
        let jobs = try XCTUnwrap(paths["/v1/jobs"]?["get"]?["parameters"]?.arrayValue)
        let state = try XCTUnwrap(jobs.first { $0["name"] == "state" })
        XCTAssertEqual(state["schema"]?["enum"], .array(JobState.allCases.map { .string($0.rawValue) }))
    }

    /// The whole document through `openapi-spec-validator` (PyPI): valid OpenAPI 3.1, every `$ref` resolved.
    func testDocumentIsValidOpenAPI31() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("openapi-\(UUID().uuidString).json")
        try WireCoding.encoder(pretty: true).encode(try document()).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let script = """
            import json, sys
            from openapi_spec_validator import validate
            from openapi_spec_validator.versions.shortcuts import get_spec_version
            spec = json.load(open(sys.argv[1]))
            validate(spec)
            print(get_spec_version(spec), len(spec["paths"]))
            """
        let outcome = try PythonCheck.run(
            script, [file.path], modules: "openapi_spec_validator", packages: ["openapi-spec-validator"])
        XCTAssertEqual(outcome.status, 0, "openapi-spec-validator refused the document:\n\(outcome.stderr)")
        XCTAssertTrue(outcome.stdout.contains("3.1"), outcome.stdout)
    }
}

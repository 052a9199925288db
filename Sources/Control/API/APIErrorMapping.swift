import APITypes
import Foundation
import HTTPServer
import Postgres

/// Errors that know how they look on the wire. Store errors conform in their own files.
protocol APIErrorConvertible: Error {
    var apiError: APIErrorBody { get }
}

/// Every failure becomes a JSON `APIErrorBody` with a status a client can act on.
enum APIErrorMapping {
    static func body(for error: Error) -> APIErrorBody {
        switch error {
        case let body as APIErrorBody:
            return body
        case let convertible as APIErrorConvertible:
            return convertible.apiError
        case let auth as AuthorizationError:
            switch auth {
            case .missingToken, .unknownToken: return APIErrorBody(code: .unauthorized, message: auth.description)
            case .forbidden: return APIErrorBody(code: .forbidden, message: auth.description)
            }
        case let manifest as ManifestError:
            return APIErrorBody(
                code: .invalidManifest,
                message:
                    "the manifest is not valid (\(manifest.problems.count) problem\(manifest.problems.count == 1 ? "" : "s")); fix the fields named below",
                details: manifest.problems.map(\.description))
        case let postgres as PostgresError where postgres.isUnstorableText:
            // Request bodies and parameters are checked for NULs before they reach the store; this keeps text
            // that got there another way a client error too, never a 500.
            return APIErrorBody(
                code: .badRequest,
                message: "the request holds text PostgreSQL cannot store (a NUL byte, U+0000); remove it (\(postgres))")
        case let postgres as PostgresError where postgres.isConnectionLost:
            // `details` holds PostgreSQL's own words alone, so a client can quote them (opsctl does).
            return APIErrorBody(
                code: .databaseUnavailable,
                message: "the control plane cannot reach its database; retry shortly or check PostgreSQL (\(postgres))",
                details: ["\(postgres)"])
        default:
            return APIErrorBody(code: .internalError, message: "internal error: \(error)")
        }
    }

    static func response(_ body: APIErrorBody) -> HTTPResponse {
        .json(body, status: body.error.code.httpStatus, encoder: WireCoding.encoder())
    }

    static func response(for error: Error, request: HTTPRequest, log: (String) -> Void) -> HTTPResponse {
        let body = body(for: error)
        if body.error.code.httpStatus >= 500 {
            // The path and the error only: never headers (they carry tokens) or bodies.
            log("\(request.method) \(request.path) failed: \(body.error.message)")
        }
        return response(body)
    }
}

extension HTTPResponse {
    /// A JSON response with the wire encoder (ISO 8601 timestamps).
    static func wire<Value: Encodable>(_ value: Value, status: Int = 200) -> HTTPResponse {
        .json(value, status: status, encoder: WireCoding.encoder())
    }
}

import APITypes
import Foundation
import HTTPServer

// Probe handlers (no token): liveness answers while the process runs; readiness asks the database (`Readiness`).

enum ProbeRoutes {
    static func health(version: String) -> HTTPResponse {
        .wire(HealthResponse(status: "ok", version: version))
    }

    static func ready(_ readiness: Readiness) -> HTTPResponse {
        let answer = readiness.check()
        return .wire(answer, status: answer.ready ? 200 : 503)
    }
}

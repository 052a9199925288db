import APITypes
import ClusterModel
import Foundation
import HTTPServer

// Admin handlers of a job's end of life and second run: `DELETE /v1/jobs/{name}` (`JobRemoval`) and
// `POST /v1/jobs/{name}/rerun` (`JobRerun`).

enum JobLifecycleRoutes {
    static func delete(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        try JobVisibility(context, services).requireJob(named: context.parameter("name"))
        return .wire(
            try JobRemoval(services: services).delete(
                named: context.parameter("name"), withArtifacts: try context.queryFlag("withArtifacts"),
                force: try context.queryFlag("force")))
    }

    static func rerun(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        try JobVisibility(context, services).requireJob(named: context.parameter("name"))
        let request =
            context.request.body.isEmpty ? RerunJobRequest() : try context.decodeBody(RerunJobRequest.self)
        let outcome = try JobRerun(services: services).rerun(named: context.parameter("name"), as: request.newName)
        return .wire(outcome.job, status: outcome.created ? 201 : 200)
    }
}

extension RequestContext {
    /// An optional `true`/`false` query parameter; absent is false.
    func queryFlag(_ name: String) throws -> Bool {
        guard let text = request.query(name) else { return false }
        guard let value = Bool(text) else {
            throw APIErrorBody(
                code: .badRequest, message: "query parameter \(name): expected true or false, got \"\(text)\"")
        }
        return value
    }
}

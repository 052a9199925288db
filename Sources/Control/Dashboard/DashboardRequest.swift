import APITypes
import Foundation
import HTTPServer
import Postgres

/// Runs one dashboard handler: the session of the request's cookie, the route's scope checked against its
/// principal (as the router checks a bearer token's), a `RequestContext` carrying that principal (so
/// `JobVisibility` holds a submitter to its queues here too), the CSRF token on every POST, and failures as the
/// page a browser shows: to the sign-in form when not signed in, the error's status and message otherwise.
struct DashboardRequest {
    /// What the handler answers with, which decides how a refusal looks.
    enum Answer {
        /// HTML page: not signed in → 303 to the sign-in form.
        case page
        /// JSON that a page polls: not signed in → 401 JSON (the script then reloads to sign in).
        case json
        /// A form post (changes state): CSRF checked before the handler runs.
        case form
    }

    let context: RequestContext
    let services: ControlServices

    init(_ context: RequestContext, _ services: ControlServices) {
        self.context = context
        self.services = services
    }

    func answer(
        _ endpoint: APIEndpoint, _ answer: Answer,
        _ handler: (RequestContext, DashboardSession) throws -> HTTPResponse
    ) throws -> HTTPResponse {
        do {
            let session = try DashboardSessions(services: services).session(of: context.request)
            try session.principal.requireOperator(endpoint.scope)
            let signedIn = RequestContext(
                request: context.request, parameters: context.parameters, principal: session.principal)
            guard answer == .form else { return try handler(signedIn, session) }
            try DashboardSessions.requireSameOrigin(context.request)
            try DashboardSessions.requireCSRF(session, context.request)
            guard let actor = session.principal.actorName else { return try handler(signedIn, session) }
            // The events this form writes name who made it, as for the API (`events.actor`).
            return try PostgresSessionSettings.$current.withValue([Router.actorSetting: actor]) {
                try handler(signedIn, session)
            }
        } catch DashboardError.notSignedIn where answer == .page {
            return DashboardResponse.redirect(to: APIRoute.dashboardLoginForm.path())
        } catch {
            return try Self.refusal(error, answer: answer)
        }
    }

    /// A client error as a page (or JSON for the poll); a server error is thrown on, so the router logs it.
    static func refusal(_ error: Error, answer: Answer) throws -> HTTPResponse {
        let status: Int
        let message: String
        if let dashboard = error as? DashboardError {
            (status, message) = (dashboard.status, dashboard.description)
        } else {
            let body = APIErrorMapping.body(for: error)
            guard body.error.code.httpStatus < 500 else { throw error }
            (status, message) = (body.error.code.httpStatus, body.error.message)
        }
        if answer == .json {
            var response = DashboardResponse.json(Data(#"{"error":"\#(jsonEscaped(message))"}"#.utf8))
            response.status = status
            return response
        }
        return DashboardResponse.page(DashboardLayout.errorPage(status: status, message: message), status: status)
    }

    private static func jsonEscaped(_ text: String) -> String {
        let data = (try? JSONEncoder().encode([text])) ?? Data("[\"\"]".utf8)
        return String(decoding: data.dropFirst(2).dropLast(2), as: UTF8.self)
    }
}

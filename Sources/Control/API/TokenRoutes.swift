import APITypes
import Foundation
import HTTPServer

// Admin handlers of named operator tokens (`NamedTokens`): create (the secret shown once), list, revoke.

enum TokenRoutes {
    static func create(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let request = try context.decodeBody(CreateTokenRequest.self)
        return .wire(try tokens(services).create(request, by: context.principal), status: 201)
    }

    static func list(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        .wire(try tokens(services).list())
    }

    static func revoke(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        .wire(try tokens(services).revoke(named: context.parameter("name"), by: context.principal))
    }

    static func tokens(_ services: ControlServices) -> NamedTokens {
        NamedTokens(store: TokenStore(pool: services.pool))
    }
}

import APITypes
import Foundation
import HTTPServer

// `GET /metrics`: the Prometheus scrape (docs/observability.md). Read scope, like every view of the cluster: a
// Prometheus server scrapes with a `viewer` token (`authorization: credentials_file:` in its scrape config), so job
// and queue names never reach an unauthenticated caller. A submitter token sees only its queues' jobs elsewhere;
// the scrape spans every queue, so it is refused one.

enum MetricsRoutes {
    static func scrape(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        if case .token(let token)? = context.principal, token.isLimitedToQueues {
            throw AuthorizationError.forbidden(
                "/metrics shows every queue; token \(token.name) is a submitter limited to \(token.queues.joined(separator: ", ")). Scrape with a viewer token (opsctl token create NAME --scope viewer)"
            )
        }
        let format = ExpositionFormat.negotiate(accept: context.request.headers["Accept"])
        let families = services.telemetry.snapshot(pool: services.pool) + services.clusterGauges.families()
        return HTTPResponse(
            status: 200, headers: ["Content-Type": format.contentType],
            body: Data(MetricExposition.render(families, format: format).utf8))
    }
}

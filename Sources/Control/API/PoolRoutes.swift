import APITypes
import Foundation
import HTTPServer

// Worker pools (issue 19; docs/worker-pools.md): thin handlers over `WorkerPoolViews`.
enum PoolRoutes {
    static func list(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        .wire(ListResponse(items: try WorkerPoolViews(services: services).all()))
    }

    static func pool(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        .wire(try WorkerPoolViews(services: services).pool(named: context.parameter("name")))
    }
}

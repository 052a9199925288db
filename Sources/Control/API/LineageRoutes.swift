import APITypes
import Foundation
import HTTPServer

// Lineage handlers (docs/lineage.md): the upstream graph of a node of `lineage_edges`, and the replay of one
// training step's batch. Each parses its parameters and calls one query of `Control/Lineage`.

enum LineageRoutes {
    static func graph(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let kindText = context.parameter("kind")
        guard let kind = LineageKind(rawValue: kindText) else {
            throw APIErrorBody(
                code: .badRequest,
                message:
                    "kind: expected one of \(LineageKind.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(kindText)\""
            )
        }
        let store = LineageStore(pool: services.pool)
        var id = context.parameter("name")
        if kind == .checkpoint && !id.contains("@") {
            guard let newest = try store.newestCheckpoint(ofJob: id) else {
                throw APIErrorBody(
                    code: .notFound,
                    message: "job \(id) has no checkpoint; name one as JOB@STEP (opsctl get artifacts JOB)")
            }
            id = newest
        }
        return .wire(try LineageTree(store: store).graph(of: LineageNodeKey(kind: kind, id: id)))
    }

    static func replay(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let name = context.parameter("name")
        guard context.request.query("step") != nil else {
            throw APIErrorBody(
                code: .badRequest, message: "query parameter step: expected the step to replay (1 = the first)")
        }
        let step = try context.queryInt("step", default: 1, range: 1...Int(Int32.max))
        let rank = try context.queryInt("rank", default: 0, range: 0...Int(Int32.max))
        try JobVisibility(context, services).requireJob(named: name)
        return .wire(try BatchReplay(services: services).replay(job: name, step: step, rank: rank))
    }
}

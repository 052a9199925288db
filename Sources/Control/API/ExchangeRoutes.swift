import APITypes
import ClusterModel
import Foundation
import HTTPServer

// Training-exchange handlers: put and delete one named entry of a job (a worker holding an attempt of the job, or
// the admin), list (long-poll; any worker or the admin) (`TrainingExchangeAccess`, `ExchangeStore`).

enum ExchangeRoutes {
    static func put(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let access = TrainingExchangeAccess(services: services)
        let job = try jobID(context)
        let request = try context.decodeBody(ExchangePutRequest.self)
        try access.authorize(context.principal, job: job)
        let name = context.parameter("name")
        switch try access.store.put(job: job, name: name, request) {
        case .created(let entry): return .wire(entry, status: 201)
        case .replaced(let entry): return .wire(entry)
        case .alreadyExists:
            return .wire(
                APIErrorBody(
                    code: .conflict,
                    message:
                        "name: \(name) exists in the exchange of job \(job) and exclusive was set; the first writer won"
                ),
                status: 409)
        }
    }

    static func list(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let access = TrainingExchangeAccess(services: services)
        let job = try jobID(context)
        let after = Int64(try context.queryInt("after", default: 0, range: 0...Int.max))
        let wait = try context.queryDouble("waitSeconds", default: 0, range: 0...ExchangeLimits.maxWaitSeconds)
        try access.authorizeRead(context.principal, job: job)
        return .wire(
            try access.list(job: job, prefix: context.request.query("prefix"), after: after, waitSeconds: wait))
    }

    static func delete(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let access = TrainingExchangeAccess(services: services)
        let job = try jobID(context)
        try access.authorize(context.principal, job: job)
        try access.store.delete(job: job, name: context.parameter("name"))
        return HTTPResponse(status: 204)
    }

    private static func jobID(_ context: RequestContext) throws -> JobID {
        let text = context.parameter("jobID")
        guard let id = Int64(text), id > 0 else {
            throw APIErrorBody(
                code: .badRequest, message: "path parameter jobID: expected a job id > 0, got \"\(text)\"")
        }
        return JobID(id)
    }
}

import APITypes
import Foundation
import HTTPServer

// The one table from each `APIRoute` endpoint to its handler. The endpoints (method, path pattern, scope) are
// defined in APITypes, where the clients build their paths from them too; this table only says who answers.

enum RouteTable {
    /// The router of one replica: this table, with tokens checked by the configuration's admin and join tokens
    /// and the workers' tokens in the store.
    static func router(
        _ services: ControlServices, version: String, isLeader: @escaping @Sendable () -> Bool,
        log: @escaping @Sendable (String) -> Void
    ) -> Router {
        let authorizer = Authorizer(
            adminToken: services.configuration.adminToken, joinToken: services.configuration.joinToken
        ) { hash in
            try services.workerTokens.worker(forTokenHash: hash)
        } namedTokenForHash: { hash in
            try TokenRoutes.tokens(services).token(forSecretHash: hash)
        }
        return Router(
            routes: routes(services, version: version, isLeader: isLeader), authorizer: authorizer, log: log,
            telemetry: services.telemetry)
    }

    static func routes(_ services: ControlServices, version: String, isLeader: @escaping @Sendable () -> Bool)
        -> [Route]
    {
        let readiness = Readiness(services: services, isLeader: isLeader)
        func route(
            _ endpoint: APIEndpoint,
            _ handler: @escaping @Sendable (RequestContext, ControlServices) throws -> HTTPResponse
        ) -> Route {
            Route(endpoint) { try handler($0, services) }
        }
        let table = [
            Route(APIRoute.healthz) { _ in ProbeRoutes.health(version: version) },
            Route(APIRoute.readyz) { _ in ProbeRoutes.ready(readiness) },
            route(APIRoute.manifests, AdminRoutes.submit),
            route(APIRoute.jobs, AdminRoutes.listJobs),
            route(APIRoute.job, AdminRoutes.getJob),
            route(APIRoute.cancelJob, AdminRoutes.cancelJob),
            route(APIRoute.jobTasks, AdminRoutes.listTasks),
            route(APIRoute.jobLogs, AdminRoutes.jobLogs),
            route(APIRoute.jobMetrics, AdminRoutes.jobMetrics),
            route(APIRoute.jobEvents, AdminRoutes.listEvents),
            route(APIRoute.tasks, AdminRoutes.listTasks),
            route(APIRoute.workers, AdminRoutes.listWorkers),
            route(APIRoute.events, AdminRoutes.listEvents),
            route(APIRoute.datasets, AdminRoutes.listDatasets),
            route(APIRoute.dataset, AdminRoutes.getDataset),
            route(APIRoute.datasetShards, AdminRoutes.datasetShards),
            route(APIRoute.queues, AdminRoutes.listQueues),
            route(APIRoute.deleteQueue, AdminRoutes.deleteQueue),
            route(APIRoute.artifacts, AdminRoutes.listArtifacts),
            route(APIRoute.artifact, ArtifactRoutes.get),
            route(APIRoute.artifactContent, ArtifactRoutes.content),
            route(APIRoute.deleteJob, JobLifecycleRoutes.delete),
            route(APIRoute.rerunJob, JobLifecycleRoutes.rerun),
            route(APIRoute.createToken, TokenRoutes.create),
            route(APIRoute.tokens, TokenRoutes.list),
            route(APIRoute.revokeToken, TokenRoutes.revoke),
            route(APIRoute.putBlob, BlobRoutes.put),
            route(APIRoute.getBlob, BlobRoutes.get),
            route(APIRoute.headBlob, BlobRoutes.get),
            route(APIRoute.storage, StorageRoutes.describe),
            route(APIRoute.createUpload, UploadRoutes.create),
            route(APIRoute.appendUpload, UploadRoutes.append),
            route(APIRoute.uploadStatus, UploadRoutes.status),
            route(APIRoute.completeUpload, UploadRoutes.complete),
            route(APIRoute.collectBlobs, StorageRoutes.collect),
            route(APIRoute.putExchangeEntry, ExchangeRoutes.put),
            route(APIRoute.listExchange, ExchangeRoutes.list),
            route(APIRoute.deleteExchangeEntry, ExchangeRoutes.delete),
            route(APIRoute.missingBlobs, BlobRoutes.missing),
            route(APIRoute.datasetFiles, AdminRoutes.datasetFiles),
            route(APIRoute.workerRegister, WorkerRoutes.register),
            route(APIRoute.workerHeartbeat, WorkerRoutes.heartbeat),
            route(APIRoute.workerPoll, WorkerRoutes.poll),
            route(APIRoute.workerReports, WorkerRoutes.reports),
            route(APIRoute.workerDeregister, WorkerRoutes.deregister),
            route(APIRoute.metrics, MetricsRoutes.scrape),
            route(APIRoute.openAPI, OpenAPIRoutes.document),
            route(APIRoute.dashboardJobs, DashboardRoutes.jobs),
            route(APIRoute.dashboardJob, DashboardRoutes.job),
            route(APIRoute.dashboardJobLive, DashboardRoutes.jobLive),
            route(APIRoute.dashboardCancelJob, DashboardRoutes.cancelJob),
            route(APIRoute.dashboardWorkers, DashboardRoutes.workers),
            route(APIRoute.dashboardQueues, DashboardRoutes.queues),
            route(APIRoute.dashboardDatasets, DashboardRoutes.datasets),
            route(APIRoute.dashboardDataset, DashboardRoutes.dataset),
            route(APIRoute.dashboardLoginForm, DashboardRoutes.loginForm),
            route(APIRoute.dashboardLogin, DashboardRoutes.login),
            route(APIRoute.dashboardLogout, DashboardRoutes.logout),
            route(APIRoute.dashboardAsset, DashboardRoutes.asset),
            route(APIRoute.lineage, LineageRoutes.graph),
            route(APIRoute.replay, LineageRoutes.replay),
            route(APIRoute.pools, PoolRoutes.list),
            route(APIRoute.pool, PoolRoutes.pool),
        ]
        // Every endpoint answered, and once: a route added to `APIRoute.all` without a handler fails every start.
        precondition(table.map(\.endpoint) == APIRoute.all, "RouteTable and APIRoute.all disagree")
        return table
    }
}

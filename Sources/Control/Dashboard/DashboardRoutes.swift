import APITypes
import ClusterModel
import Foundation
import HTTPServer

// Handlers of the dashboard's routes (docs/dashboard.md): each reads through the admin API's own queries
// (`JobQueries`, `QueueViews`, `DatasetQueries`, `JobVisibility`) inside `DashboardRequest`, which signs the
// request in from its session cookie, and renders a page.

enum DashboardRoutes {
    /// Rows a list page shows; older ones are a link away.
    static let listRowsMax = 200

    static func jobs(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        try DashboardRequest(context, services).answer(APIRoute.dashboardJobs, .page) { context, session in
            let page = try context.pageRequest(limit: listRowsMax)
            let jobs = try JobVisibility(context, services).jobs(state: nil, queue: nil, page: page)
            let running = try services.jobs.tasksPage(
                job: nil, state: .running, afterJob: nil, afterTask: nil, limit: JobsPage.runningTasksMax)
            let progress = Dictionary(grouping: running, by: \.task.jobID).mapValues { $0.compactMap(\.task.progress) }
            return DashboardResponse.page(
                JobsPage.render(jobs, runningProgress: progress, session: session, now: Date()))
        }
    }

    static func job(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        try DashboardRequest(context, services).answer(APIRoute.dashboardJob, .page) { context, session in
            let data = try JobPageData.load(
                named: context.parameter("name"), context: context, services: services, now: Date())
            return DashboardResponse.page(JobPage.render(data, session: session))
        }
    }

    static func jobLive(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        try DashboardRequest(context, services).answer(APIRoute.dashboardJobLive, .json) { context, _ in
            let live = try DashboardJobLive.load(
                named: context.parameter("name"),
                metricsAfter: Int64(try context.queryInt("metricsAfter", default: 0, range: 0...Int.max)),
                logsAfter: Int64(try context.queryInt("logsAfter", default: 0, range: 0...Int.max)),
                context: context, services: services, now: Date())
            return DashboardResponse.json(try WireCoding.encode(live))
        }
    }

    static func cancelJob(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        try DashboardRequest(context, services).answer(APIRoute.dashboardCancelJob, .form) { context, _ in
            let name = context.parameter("name")
            try JobVisibility(context, services).requireJob(named: name)
            _ = try JobQueries(services: services).cancel(named: name)
            return DashboardResponse.redirect(to: APIRoute.dashboardJob.path(name))
        }
    }

    static func workers(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        try DashboardRequest(context, services).answer(APIRoute.dashboardWorkers, .page) { _, session in
            let workers = try JobQueries(services: services).workers(state: nil, page: PageRequest(limit: 1_000))
            let running = try services.jobs.tasksPage(
                job: nil, state: .running, afterJob: nil, afterTask: nil, limit: JobsPage.runningTasksMax)
            return DashboardResponse.page(ClusterPages.workers(workers.items, running: running, session: session))
        }
    }

    static func queues(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        try DashboardRequest(context, services).answer(APIRoute.dashboardQueues, .page) { _, session in
            DashboardResponse.page(ClusterPages.queues(try QueueViews(services: services).all(), session: session))
        }
    }

    static func datasets(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        try DashboardRequest(context, services).answer(APIRoute.dashboardDatasets, .page) { context, session in
            let datasets = try DatasetQueries(services: services).page(try context.pageRequest(limit: listRowsMax))
            return DashboardResponse.page(DatasetPages.list(datasets, session: session))
        }
    }

    static func dataset(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        try DashboardRequest(context, services).answer(APIRoute.dashboardDataset, .page) { context, session in
            let queries = DatasetQueries(services: services)
            let name = context.parameter("name")
            let dataset = try queries.dataset(named: name)
            let shards = try queries.shards(ofDatasetNamed: name, page: PageRequest(limit: DatasetPages.shardsMax))
            let readers = try services.jobs.readers(ofDataset: name, limit: DatasetPages.readersMax)
            let lineage = try LineageSection.load(LineageNodeKey(kind: .dataset, id: name), services: services)
            return DashboardResponse.page(
                DatasetPages.detail(dataset, shards: shards, readers: readers, lineage: lineage, session: session))
        }
    }

    static func loginForm(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        DashboardResponse.page(LoginPage.render())
    }

    /// A wrong token answers 401 with the form again and sets nothing.
    static func login(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        do {
            try DashboardSessions.requireSameOrigin(context.request)
            guard let token = try FormBody(context.request)["token"]?.trimmingCharacters(in: .whitespaces),
                !token.isEmpty
            else {
                return DashboardResponse.page(LoginPage.render(problem: "enter an API token"), status: 400)
            }
            let cookie = try DashboardSessions(services: services).signIn(token: token)
            return DashboardResponse.redirect(to: APIRoute.dashboardJobs.path(), setCookie: cookie)
        } catch let error as AuthorizationError {
            let problem =
                switch error {
                case .missingToken, .unknownToken: "that token is not an operator token of this control plane"
                case .forbidden(let why): why
                }
            return DashboardResponse.page(LoginPage.render(problem: problem), status: 401)
        } catch {
            return try DashboardRequest.refusal(error, answer: .page)
        }
    }

    static func logout(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        try DashboardRequest(context, services).answer(APIRoute.dashboardLogout, .form) { _, session in
            let sessions = DashboardSessions(services: services)
            try sessions.signOut(session)
            return DashboardResponse.redirect(
                to: APIRoute.dashboardLoginForm.path(),
                setCookie: DashboardSessions.cookie(value: "", maxAgeSeconds: 0, secure: sessions.cookiesAreSecure))
        }
    }

    static func asset(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        guard let asset = DashboardAssets.asset(named: context.parameter("file")) else {
            throw APIErrorBody(code: .notFound, message: "no dashboard asset named \(context.parameter("file"))")
        }
        return DashboardResponse.asset(asset.text, contentType: asset.contentType)
    }
}

extension RequestContext {
    /// `?cursor=` and a page of `limit` rows (a page's own size, not the API's `?limit=`).
    func pageRequest(limit: Int) throws -> PageRequest {
        PageRequest(limit: limit, after: try pageRequest().after)
    }
}

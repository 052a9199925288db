import APITypes
import ClusterModel
import Foundation

/// Worker pools as `GET /v1/pools` and `GET /v1/pools/{name}` show them.
struct WorkerPoolViews {
    /// Decisions `GET /v1/pools/{name}` shows, newest first.
    static let decisionsShown = 50

    let services: ControlServices
    private var store: WorkerPoolStore { WorkerPoolStore(pool: services.pool) }

    func all() throws -> [WorkerPoolView] {
        let alive = try store.aliveWorkers()
        return try store.list().map { try view($0, alive: alive[$0.name, default: 0], decisions: nil) }
    }

    func pool(named name: String) throws -> WorkerPoolView {
        guard let record = try store.pool(named: name) else {
            throw APIErrorBody(
                code: .notFound,
                message: "no worker pool named \(name); `opsctl get pools` lists them, `opsctl apply -f` defines one")
        }
        let alive = try store.aliveWorkers()
        return try view(
            record, alive: alive[name, default: 0],
            decisions: try store.latestDecisions(of: name, limit: Self.decisionsShown))
    }

    /// The pools of a manifest just applied (or validated on a dry run: as defined, with no sizes yet).
    func views(named names: [String]) throws -> [WorkerPoolView] {
        let alive = try store.aliveWorkers()
        return try names.compactMap { try store.pool(named: $0) }.map {
            try view($0, alive: alive[$0.name, default: 0], decisions: nil)
        }
    }

    static func view(validated spec: WorkerPoolSpec) -> WorkerPoolView {
        WorkerPoolView(
            name: spec.name, spec: spec, currentNodes: 0, desiredNodes: 0, aliveWorkers: 0, slurmJobs: [],
            blockedReason: nil, decisions: nil, scaledAt: nil, updatedAt: Date())
    }

    private func view(_ record: WorkerPoolRecord, alive: Int, decisions: [PoolDecisionView]?) throws -> WorkerPoolView {
        let jobs = try store.liveSlurmJobs(of: record.name).map {
            PoolSlurmJobView(id: $0.id, nodes: $0.nodes, state: $0.state, submittedAt: $0.submittedAt)
        }
        return WorkerPoolView(
            name: record.name, spec: record.spec, currentNodes: record.currentNodes, desiredNodes: record.desiredNodes,
            aliveWorkers: alive, slurmJobs: jobs, blockedReason: record.blockedReason, decisions: decisions,
            scaledAt: record.scaledAt, updatedAt: record.updatedAt)
    }
}

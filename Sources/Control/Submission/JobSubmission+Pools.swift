// The `kind: WorkerPool` documents of a manifest (issue 19; docs/worker-pools.md): validated with the rest of the
// file, configured after its jobs, shown in the response.

import APITypes
import ClusterModel

extension ManifestSubmission {
    /// The request's worker pools, validated by the same validator as the rest of the file.
    func pools(_ request: SubmitManifestsRequest) throws -> [WorkerPoolSpec] {
        try ManifestParser.validate(
            encodedDocuments: request.documents, fileName: request.source ?? "<request>", registry: registry
        ).pools
    }
}

extension JobSubmission {
    /// Upserts `pools`; their views, nil when there are none.
    func configure(_ pools: [WorkerPoolSpec]) throws -> [WorkerPoolView]? {
        guard !pools.isEmpty else { return nil }
        try WorkerPoolStore(pool: services.pool).upsert(pools)
        return try WorkerPoolViews(services: services).views(named: pools.map(\.name))
    }
}

extension JobSubmission.Outcome {
    /// A dry run's outcome with the pools it validated.
    func withPools(validated pools: [WorkerPoolSpec]) -> Self {
        var outcome = self
        if !pools.isEmpty { outcome.response.pools = pools.map(WorkerPoolViews.view(validated:)) }
        return outcome
    }
}

extension JobVisibility {
    /// Worker pools start processes on the cluster's nodes: only an admin token defines them.
    func requirePoolConfiguration(_ names: [String]) throws {
        guard case .token(let token)? = principal, token.isLimitedToQueues, let pool = names.first else { return }
        throw AuthorizationError.forbidden(
            "token \(token.name) may not configure worker pool \(pool) (kind: WorkerPool needs an admin token)")
    }
}

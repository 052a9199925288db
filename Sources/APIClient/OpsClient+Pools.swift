import APITypes

extension OpsClient {
    /// Every worker pool with its current and desired size and Slurm jobs (docs/worker-pools.md).
    public func pools() async throws(ControlPlaneError) -> [WorkerPoolView] {
        let response: ListResponse<WorkerPoolView> = try await requester.call(APIRoute.pools.request())
        return response.items
    }

    /// One worker pool with its latest scale decisions and their reasons.
    public func pool(_ name: String) async throws(ControlPlaneError) -> WorkerPoolView {
        try await requester.call(APIRoute.pool.request(name))
    }
}

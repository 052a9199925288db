// Lineage and batch replay (docs/lineage.md): `opsctl lineage` and `opsctl replay` read these.

import APITypes
import Foundation

extension OpsClient {
    /// The upstream graph of a node: `checkpoint` `JOB@STEP` (or `JOB` for its newest), `dataset` NAME, `eval` JOB.
    public func lineage(_ kind: LineageKind, _ name: String) async throws(ControlPlaneError) -> LineageGraph {
        try await requester.call(APIRoute.lineage.request(kind.rawValue, name))
    }

    /// The documents of `step`'s batch on `rank` of train job `job`.
    public func replay(job: String, step: Int, rank: Int) async throws(ControlPlaneError) -> ReplayedBatch {
        try await requester.call(
            APIRoute.replay.request(job, query: [("step", String(step)), ("rank", String(rank))]),
            timeoutSeconds: 120)
    }
}

// A job's metric history as `opsctl get metrics` and `describe job` read it: the points of `GET
// /v1/jobs/{name}/metrics`, oldest first, page after page with the route's keyset cursor.

import APITypes
import Foundation

extension OpsClient {
    /// The points of `job` (of the metric `name` when given), oldest first: all of them, or the first N.
    public func metrics(job: String, name: String? = nil, scope: ListScope) async throws(ControlPlaneError)
        -> Listing<MetricPointView>
    {
        try await collect(scope) { limit, cursor throws(ControlPlaneError) in
            try await requester.call(
                APIRoute.jobMetrics.request(
                    job, query: [("name", name), ("limit", String(limit)), ("cursor", cursor)]))
        }
    }
}

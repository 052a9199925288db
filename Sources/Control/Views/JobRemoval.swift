// `DELETE /v1/jobs/{name}`: a finished job and its history go; with `force` an unfinished one is cancelled first.
// Every refusal (unknown name, unfinished without `force`, jobs waiting for it) comes before anything changes.

import APITypes
import ClusterModel
import Foundation

struct JobRemoval {
    let services: ControlServices

    func delete(named name: String, withArtifacts: Bool, force: Bool) throws -> JobDeletionResponse {
        let job = try JobQueries(services: services).job(named: name)
        var cancelledFirst = false
        if force && !job.state.isTerminal {
            // Jobs waiting for this one would keep it from being deleted after all: refuse before cancelling.
            try services.jobs.refuseIfAwaited(job.id, name: name)
            try services.jobs.cancel(job.id, reason: "cancelled to delete it (force)")
            cancelledFirst = true
        }
        let deleted = try services.jobs.delete(named: name, withArtifacts: withArtifacts)
        return JobDeletionResponse(
            name: deleted.name, id: deleted.id, cancelledFirst: cancelledFirst, deletedTasks: deleted.deletedTasks,
            deletedArtifacts: deleted.deletedArtifacts, keptArtifacts: deleted.keptArtifacts)
    }
}

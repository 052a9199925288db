// `initFrom: {job: X}` (train) and `checkpoint: {job: X}` (eval) that submission could not resolve (X was still
// to run; the job waits for it with `after:`) are resolved when a task is handed out: X has finished by then and
// its checkpoints are registered artifacts, so a worker finds X's newest checkpoint without a shared directory.

import APITypes
import Foundation

enum CheckpointReferencesAtDispatch {
    /// The checkpoint field of each job kind that has one.
    static let fields = [TrainJobKinds.trainName: "initFrom", TrainJobKinds.evalName: "checkpoint"]

    /// `spec` with the kind's checkpoint reference resolved to the newest checkpoint artifact of its job, when it
    /// names a job and has no location yet; else `spec` unchanged (the worker then says what is missing). The
    /// planner stores the kind's section as the task spec; a whole spec with the section inside is handled too.
    static func resolve(_ spec: AnyJSON, jobType: String, store: ControlStore) throws -> AnyJSON {
        guard let field = fields[jobType], case .object(let members) = spec else { return spec }
        if case .object(let section)? = members[jobType] {
            var whole = members
            whole[jobType] = .object(try resolve(section, field: field, store: store))
            return .object(whole)
        }
        return .object(try resolve(members, field: field, store: store))
    }

    private static func resolve(_ section: [String: AnyJSON], field: String, store: ControlStore) throws
        -> [String: AnyJSON]
    {
        guard case .object(var reference)? = section[field], case .string(let job)? = reference["job"],
            reference["location"] == nil || reference["location"] == .null,
            let record = try store.jobs.job(named: job),
            let newest = TrainJobPlanner.newestCheckpoint(try store.artifacts.list(job: record.id))
        else { return section }
        reference["location"] = .string(newest.location)
        reference["sha256"] = .string(newest.sha256)
        var resolved = section
        resolved[field] = .object(reference)
        return resolved
    }
}

// `POST /v1/jobs/{name}/rerun`: a new job from a finished job's stored manifest. The manifest is planned again
// (`ManifestSubmission.job(rerunning:)`) and submitted like any apply, so its `after:` names resolve to the jobs
// that exist now, and an identical rerun under a name that already holds it is a no-op.

import APITypes
import ClusterModel
import Foundation

struct JobRerun {
    let services: ControlServices
    /// How many `NAME-2`, `NAME-3`, … names one rerun tries before asking for a name (`--as`).
    static let maxNumberedNames = 100

    func rerun(named name: String, as newName: String?) throws -> (job: SubmittedJob, created: Bool) {
        let original = try JobQueries(services: services).job(named: name)
        guard original.state.isTerminal else {
            throw StoreError.conflict(
                what: "job \(name)",
                message:
                    "it is \(original.state.rawValue); a rerun starts from a finished job: wait for it, or cancel it first (`opsctl cancel \(name)`)"
            )
        }
        let target = try newName ?? freeNumberedName(after: name)
        let job = try services.submission.job(rerunning: original.spec, as: target, original: name)
        let stored: StoredSubmission
        do {
            stored = try services.jobs.submit(job)
        } catch StoreError.jobNameTaken {
            throw StoreError.conflict(
                what: "job \(target)",
                message: "a job of that name exists with another spec; choose a free name with `--as NEWNAME`")
        }
        let view = JobView(try JobQueries(services: services).job(named: stored.name))
        return (SubmittedJob(outcome: stored.created ? .created : .unchanged, job: view), stored.created)
    }

    /// The first of `NAME-2` … `NAME-101` no job holds. A rerun of a rerun counts on from its original: rerunning
    /// `train-2` (while `train` exists) gives `train-3`, not `train-2-2`.
    private func freeNumberedName(after name: String) throws -> String {
        let base = try originalName(of: name)
        let candidates = (2...(Self.maxNumberedNames + 1)).map { "\(base)-\($0)" }
        let taken = try services.jobs.existingNames(among: candidates)
        guard let free = candidates.first(where: { !taken.contains($0) }) else {
            throw StoreError.conflict(
                what: "job \(name)",
                message:
                    "\(candidates.first!) … \(candidates.last!) are all taken; name the new job with `--as NEWNAME`")
        }
        return free
    }

    /// `train` for `train-3` when a job named `train` exists; else the name itself.
    private func originalName(of name: String) throws -> String {
        guard let dash = name.lastIndex(of: "-"), name.index(after: dash) < name.endIndex,
            name[name.index(after: dash)...].allSatisfy(\.isASCIIDigit)
        else { return name }
        let base = String(name[..<dash])
        return try services.jobs.existingNames(among: [base]).isEmpty ? name : base
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

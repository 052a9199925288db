// A tokenize job whose dataset has no host location cannot meet its helper jobs in a dataset directory, so the
// control plane points its tasks at what they wrote when it hands a task out: the tokenize job runs `after:`
// both helpers, so by then they have finished.
// - A trained tokenizer (`tokenizerJob`): the `<job>-tokenizer` task stored tokenizer.json through its artifact
//   store and the completion registered it as the job's artifact (kind tokenizer); its location and sha256 become
//   the task's `tokenizerPath` and `tokenizerSHA256`, so the worker fetches it verified exactly like a tokenizer
//   given by `location:`, and the shard facts record it as the dataset's tokenizer (`tokenizer: {dataset:}` of
//   later jobs, `GET /v1/datasets/{name}/files`). Resolving here rather than at submission is what makes it
//   work at all (the artifact does not exist yet then); resolving here rather than in the worker needs no
//   worker-readable artifact listing.
// - De-duplication (`dedupJob`): the scan tasks published their hash files in the `<job>-dedup` job's
//   exchange; only its id is filled in (`dedupJobID`), and tokenize task i reads entries 0..<i itself (listing
//   them here would put O(i) entries in every spec, O(n²) for the job).
// Anything not found is left as it is; the worker then says what is missing.

import APITypes
import ClusterModel
import Foundation

enum TokenizeReferencesAtDispatch {
    static func resolve(_ spec: AnyJSON, jobType: String, store: ControlStore) throws -> AnyJSON {
        guard jobType == TokenizeJobKinds.tokenizeName, case .object(var members) = spec else { return spec }
        if case .string(let job)? = members["tokenizerJob"], members["tokenizerSHA256"]?.stringValue == nil,
            let record = try store.jobs.job(named: job),
            let tokenizer = try store.artifacts.list(job: record.id).last(where: { $0.kind == "tokenizer" })
        {
            members["tokenizerPath"] = .string(tokenizer.location)
            members["tokenizerSHA256"] = .string(tokenizer.sha256)
        }
        if case .string(let job)? = members["dedupJob"], members["dedupJobID"] == nil || members["dedupJobID"] == .null,
            let record = try store.jobs.job(named: job)
        {
            members["dedupJobID"] = .int(record.id.rawValue)
        }
        return .object(members)
    }
}

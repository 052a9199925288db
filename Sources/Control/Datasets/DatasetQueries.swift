// What the admin API reads about datasets: each with its state (from its shards and the job that produces it),
// and its shards.

import APITypes
import ClusterModel
import Foundation

struct DatasetQueries {
    let services: ControlServices

    /// A page of the datasets by id (each view reads its shards and job: a page of `limit` datasets).
    func page(_ page: PageRequest) throws -> ListResponse<DatasetView> {
        let rows = try services.datasets.page(afterID: page.after?.id, limit: page.rowsToRead)
        return try page.page(rows, cursor: { PageCursor(key: $0.id.rawValue, id: $0.id.rawValue) }, view: view)
    }

    func dataset(named name: String) throws -> DatasetView {
        try view(try record(named: name))
    }

    /// A page of the dataset's shards by index.
    func shards(ofDatasetNamed name: String, page: PageRequest) throws -> ListResponse<ShardView> {
        let dataset = try record(named: name)
        let rows = try services.shards.page(
            dataset: dataset.id, afterIndex: page.after?.key, limit: page.rowsToRead)
        return page.page(
            rows, cursor: { PageCursor(key: Int64($0.index), id: Int64($0.index)) },
            view: { ShardView($0, datasetName: dataset.name) })
    }

    private func record(named name: String) throws -> DatasetRecord {
        guard let dataset = try services.datasets.dataset(named: name) else {
            throw APIErrorBody(code: .notFound, message: "no dataset named \(name); `opsctl get datasets` lists them")
        }
        return dataset
    }

    private func view(_ dataset: DatasetRecord) throws -> DatasetView {
        let shards = try services.shards.list(dataset: dataset.id)
        let metadata = JSONText.parse(dataset.metadata)?.objectValue
        let job = try dataset.job.flatMap { try services.jobs.job($0) }
        // While the producing job runs the dataset is incomplete; a failed or cancelled job leaves it so.
        var state = shards.contains { $0.state == .bad } ? "degraded" : "ready"
        switch job?.state {
        case .pending?, .running?: state = "building"
        case .failed?, .cancelled?: state = "incomplete"
        default: break
        }
        return DatasetView(
            id: dataset.id, name: dataset.name, state: state,
            jobName: job?.name, shardCount: shards.count, tokenCount: shards.reduce(0) { $0 + $1.tokens },
            bytes: shards.reduce(0) { $0 + $1.bytes }, tokenizer: metadata?["tokenizer"]?.stringValue,
            createdAt: dataset.createdAt)
    }
}

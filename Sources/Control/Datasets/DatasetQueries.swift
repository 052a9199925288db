// What the admin API reads about datasets: each with its state (from its shards and the job that produces it),
// and its shards.

import APITypes
import ClusterModel
import Foundation

struct DatasetQueries {
    let services: ControlServices

    func all() throws -> [DatasetView] {
        try services.datasets.list().map(view)
    }

    func dataset(named name: String) throws -> DatasetView {
        try view(try record(named: name))
    }

    func shards(ofDatasetNamed name: String) throws -> [ShardView] {
        let dataset = try record(named: name)
        return try services.shards.list(dataset: dataset.id).map { ShardView($0, datasetName: dataset.name) }
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

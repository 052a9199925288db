// Shards that workers found corrupt (a verify task, or a stream task that hit `StreamError.corruptShard`)
// arrive as `badShards` in a failure's details or a completion's result. The control plane marks each one
// bad in its dataset, so `opsctl get shards` shows it and no later stream job is planned over it.

import APITypes
import ClusterModel
import Foundation
import Postgres

enum BadShardMarking {
    /// The bad shards a report carries (`[]` when none or unreadable: marking is best effort, the task's
    /// own message still names the shard).
    static func reports(in json: AnyJSON?) -> [BadShardReport] {
        guard let value = json?[BadShardReport.resultKey], value != .null else { return [] }
        return (try? value.decode(as: [BadShardReport].self)) ?? []
    }

    /// Marks every reported shard bad, inside the caller's transaction (the report batch's, so a shard is
    /// marked exactly when its task's outcome is stored); returns how many were found among the recorded shards.
    @discardableResult
    static func mark(_ reports: [BadShardReport], _ c: PostgresConnection) throws -> Int {
        var marked = 0
        for report in reports {
            let record: DatasetRecord?
            if let name = report.dataset {
                record = try DatasetStore.dataset(c, named: name)
            } else {
                let local =
                    report.location.hasPrefix("file://")
                    ? String(report.location.dropFirst("file://".count)) : report.location
                record = try DatasetStore.list(c).first { $0.location == report.location || $0.location == local }
            }
            guard let record else { continue }
            let file = report.shard + ".bin"
            guard
                let shard = try ShardStore.list(c, dataset: record.id).first(where: {
                    $0.location == file || $0.location.hasSuffix("/" + file)
                })
            else { continue }
            try ShardStore.markBad(c, dataset: record.id, index: shard.index, reason: String(report.reason.prefix(500)))
            marked += 1
        }
        return marked
    }
}

import APITypes
import ClusterModel
import DataShards
import Foundation

@testable import Workers

/// Byte-level text datasets made in the test with ShardWriter + DatasetIndex (vocabulary 256, eot 0).
enum TrainFixtures {
    /// Seeded pseudo-English: sentences over a small word list, so a tiny model learns quickly.
    static func text(documents: Int, seed: UInt64) -> [String] {
        let words = [
            "the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "to", "big", "red", "house", "with", "small",
            "tree",
        ]
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        func next() -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(state % UInt64(words.count))
        }
        return (0..<documents).map { _ in
            (0..<12).map { _ in (0..<6).map { _ in words[next()] }.joined(separator: " ") + "." }.joined(separator: " ")
        }
    }

    @discardableResult
    static func dataset(at directory: URL, name: String, documents: Int, seed: UInt64, shards: Int = 2) throws -> URL {
        let texts = text(documents: documents, seed: seed)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let template = DatasetIndex(name: name, tokenizerHash: "bytes", vocabularySize: 256, endOfTextID: 0)
        for shard in 0..<shards {
            let writer = try ShardWriter(
                directory: directory.path, name: "\(name)-\(shard)", dtype: .uint16, endOfTextID: 0)
            for (i, text) in texts.enumerated() where i % shards == shard {
                try writer.appendDocument(Array(text.utf8).map { Int($0) })
            }
            let info = try writer.finish()
            try DatasetIndex.update(directory: directory.path, creatingFrom: template) {
                (index: inout DatasetIndex) throws(DatasetIndexError) in
                try index.record(info)
            }
        }
        return directory
    }

    static func tinyModel() -> TrainModelSettings {
        TrainModelSettings(vocabularySize: 256, contextLength: 32, layers: 2, heads: 2, width: 32)
    }

    static func assignment(
        job: String, jobID: Int64, settings: TrainSettings, attempt: Int = 1, gang: GangInfo? = nil,
        type: String = "train"
    ) throws -> TaskAssignment {
        TaskAssignment(
            taskID: TaskID(jobID * 10 + Int64(gang?.rank ?? 0)),
            attemptID: AttemptID(jobID * 100 + Int64(attempt) * 10 + Int64(gang?.rank ?? 0)),
            attemptNumber: attempt, maxAttempts: 3, leaseDeadline: Date().addingTimeInterval(600), jobID: JobID(jobID),
            jobName: job, jobType: type, taskIndex: gang?.rank ?? 0, taskCount: gang?.size ?? 1,
            spec: try AnyJSON(encoding: settings), resources: Resources(cpuMillis: 1000), gang: gang)
    }

    static func context(_ task: TaskAssignment, root: URL, reports: ReportQueue = ReportQueue()) -> ExecutionContext {
        ExecutionContext(
            task: task, workDirectory: root.appendingPathComponent("work/attempts/\(task.attemptID)"),
            workerResources: .zero,
            artifactStore: FileArtifactStore(root: root.appendingPathComponent("artifacts")), reports: reports)
    }
}

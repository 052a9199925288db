// `type: tokenize-lsh` — pass 2 of near-duplicate removal (docs/dedup.md): reducer r reads its partition of every
// chunk's band records (`buckets-shard-<i>-r<r>.records`), sorts them with `ExternalSorter` within the job's
// `memoryLimitBytes` (spilling sorted runs to the attempt's private directory and merging them), and writes the
// duplicate pairs of its buckets to `<dataset>/.neardup/pairs-r<r>.records`. More reducers split the key space
// finer: each task's share of the records, and so its disk and time, shrinks; its memory is the limit either way.

import APITypes
import Foundation
import NearDedup

public struct TokenizeLSHExecutor: JobExecutor {
    public static let kind = NearDedupJobKinds.lshName
    public init() {}

    public func run(_ task: TaskAssignment, context: ExecutionContext) async throws -> TaskResult {
        let spec = try TokenizeTaskSupport.decode(LSHReduceTaskSpec.self, task, kind: "tokenize-lsh")
        let spill = context.workDirectory.appendingPathComponent("lsh-spill-r\(spec.reducer)").path
        let stats = try await context.runBlocking { try Self.reduce(spec, spillDirectory: spill, context: context) }
        context.progress(1, message: "\(stats.pairs) pairs from \(stats.records) records")
        return TaskResult(
            result: [
                "records": .int(Int64(stats.records)), "pairs": .int(Int64(stats.pairs)),
                "buckets": .int(Int64(stats.buckets)), "spilledRuns": .int(Int64(stats.spilledRuns)),
                "mergePasses": .int(Int64(stats.mergePasses)),
                "peakAccountedBytes": .int(Int64(stats.peakAccountedBytes)),
                "memoryLimitBytes": .int(spec.settings.memoryLimitBytes),
            ])
    }

    static func reduce(_ spec: LSHReduceTaskSpec, spillDirectory: String, context: ExecutionContext?) throws
        -> ReducerStats
    {
        try? FileManager.default.removeItem(atPath: spillDirectory) // runs of a killed attempt
        defer { try? FileManager.default.removeItem(atPath: spillDirectory) }
        let sorter: ExternalSorter
        do {
            sorter = try ExternalSorter(
                memoryLimitBytes: Int(clamping: spec.settings.memoryLimitBytes), directory: spillDirectory)
        } catch { throw TaskFailure("spec.tokenize.nearDedup.\(error)", retryable: false) }
        for chunk in 0..<spec.chunkCount {
            let path = LSHReduceTaskSpec.bucketFile(spec.datasetDirectory, chunk: chunk, reducer: spec.reducer)
            guard FileManager.default.fileExists(atPath: path) else {
                throw TaskFailure(
                    "near-duplicates: \(path) is missing (the -minhash job's task \(chunk) writes it); re-run the job",
                    retryable: false)
            }
            if let context { try TokenizeTaskSupport.stopIfAsked(context) }
            do {
                let reader = try RecordFileReader(path: path)
                while let (key, document) = try reader.next() {
                    try sorter.append(BucketRecord(key: key, document: document))
                }
            } catch let error as RecordFileError {
                throw TaskFailure("near-duplicates: \(error)", retryable: false)
            }
        }
        var reducer = BucketReducer()
        var stats = ReducerStats()
        stats.records = sorter.records
        let output = LSHReduceTaskSpec.pairFile(spec.datasetDirectory, reducer: spec.reducer)
        do {
            let writer = try RecordFileWriter(path: output)
            try sorter.drain { record in
                if let pair = reducer.add(record) { try writer.append(pair.keeper, pair.duplicate) }
            }
            try writer.finish(durable: true)
        } catch { throw TaskFailure("near-duplicates: cannot write \(output): \(error)") }
        stats.pairs = reducer.pairs
        stats.buckets = reducer.buckets
        stats.spilledRuns = sorter.spilledRuns
        stats.mergePasses = sorter.mergePasses
        stats.peakAccountedBytes = sorter.peakAccountedBytes
        return stats
    }
}

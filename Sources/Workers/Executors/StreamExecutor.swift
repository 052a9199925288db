// `type: stream`: one task writes one shard of a materialized mixture (blend, shuffle, pack through
// `TokenStream`) with the exactly-once writer, records it with provenance in the output's index.json, and
// returns the shard's facts (`datasetShard`) for the control plane to record. A corrupt input shard fails
// the task (not retried) naming the shard, and is reported in `badShards` so the control plane marks it.
// With `mode: verify` the planner hands out verify tasks instead, run by `VerifyExecutor`.

import APITypes
import DataShards
import Foundation

public struct StreamExecutor: JobExecutor {
    public static let kind = StreamJobKinds.streamName
    public init() {}

    public func run(_ task: TaskAssignment, context: ExecutionContext) async throws -> TaskResult {
        if task.spec["kind"]?.stringValue == VerifyTaskSpec.kind {
            return try await VerifyExecutor().run(task, context: context)
        }
        let spec: StreamTaskSpec
        do { spec = try task.spec.decode(as: StreamTaskSpec.self) } catch {
            throw TaskFailure("spec: expected a stream task (planned by the control plane): \(error)", retryable: false)
        }
        let cache: ShardCache?
        do {
            cache = try context.shardCache(for: spec.inputs.map(\.location), cacheDirectory: spec.cacheDirectory)
        } catch {
            throw TaskFailure("shard cache: \(error)", retryable: false)
        }
        context.log(
            "shard \(spec.shardIndex + 1)/\(spec.shardCount): samples \(spec.start)..<\(spec.end) of \(spec.totalSamples) from \(spec.inputs.map { "\($0.dataset ?? $0.location) x\($0.weight)" }.joined(separator: ", "))",
            stream: .system)
        let info = try await context.runBlocking { () throws -> (ShardInfo, DatasetIndex) in
            try Self.materialize(spec, cache: cache) { input in
                try context.streamSource(at: input.location, weight: input.weight, cache: cache)
            }
        }
        context.progress(1, message: "wrote \(info.0.name)")
        return TaskResult(result: Self.result(spec, shard: info.0, index: info.1))
    }

    /// Writes the task's shard (inputs by name opened through `byName`); errors become `TaskFailure`s that say what happened and to which shard.
    static func materialize(
        _ spec: StreamTaskSpec, cache: ShardCache?,
        open byName: (StreamTaskInput) throws -> StreamSource
    ) throws -> (ShardInfo, DatasetIndex) {
        do {
            let sources = try spec.inputs.map { input in
                DatasetByName.name(of: input.location) != nil
                    ? try byName(input) : try StreamSource.at(input.location, weight: input.weight, cache: cache)
            }
            let configuration = StreamConfiguration(
                sources: sources, sequenceLength: spec.sequenceLength, batchSize: 1, seed: spec.seed,
                shuffleWindow: spec.shuffleWindow, maxOpenShards: 4)
            try FileManager.default.createDirectory(atPath: spec.outputDirectory, withIntermediateDirectories: true)
            let slice = StreamMaterializer.Slice(index: spec.shardIndex, positions: spec.start..<spec.end)
            let info = try StreamMaterializer.materialize(
                configuration, slice: slice,
                output: .init(directory: spec.outputDirectory, name: spec.outputDataset))
            return (info, StreamMaterializer.outputIndex(for: configuration, name: spec.outputDataset))
        } catch let error as StreamError {
            throw failure(error, inputs: spec.inputs)
        } catch let error as ShardError {
            if case .conflictingShard = error {
                throw TaskFailure(
                    "output shard of \(spec.outputDataset) already exists with other content: \(error); write the mixture to a new dataset",
                    retryable: false)
            }
            throw TaskFailure(
                "writing shard \(spec.shardIndex) of \(spec.outputDataset) in \(spec.outputDirectory): \(error)")
        } catch let error as DatasetIndexError {
            throw TaskFailure("recording the shard in \(spec.outputDirectory)/index.json: \(error)")
        }
    }

    /// A stream error as a task failure: corrupt shards are not retried and are reported for marking.
    static func failure(_ error: StreamError, inputs: [StreamTaskInput]) -> TaskFailure {
        switch error {
        case .corruptShard(let id, let cause):
            let input =
                inputs.first { $0.location == id.location } ?? inputs.first { id.location.hasPrefix($0.location) }
            let report = BadShardReport(
                dataset: input?.dataset, shard: id.shard, location: id.location, reason: cause.description)
            return TaskFailure(
                "corrupt input shard \(id.shard) of dataset \(input?.dataset ?? id.dataset) at \(id.location): \(cause); it is marked bad, nothing was written from it",
                retryable: false,
                details: .object([BadShardReport.resultKey: (try? AnyJSON(encoding: [report])) ?? .null]))
        case .shardUnavailable:
            return TaskFailure(error.description, retryable: true)
        case .invalidConfiguration, .datasetTooSmall, .incompatibleDatasets:
            return TaskFailure(error.description, retryable: false)
        }
    }

    /// The result: the shard's facts as tokenize tasks report them (`datasetShard`, recorded by the control
    /// plane with the completion, exactly once) plus the mixture's provenance for the dataset's metadata.
    static func result(_ spec: StreamTaskSpec, shard: ShardInfo, index: DatasetIndex) -> AnyJSON {
        var facts = DatasetShardFacts(
            dataset: spec.outputDataset, datasetDirectory: spec.outputDirectory, index: spec.shardIndex,
            name: shard.name,
            location: spec.outputDirectory + "/" + shard.binFile, sha256: shard.binSHA256, bytes: shard.binBytes,
            idxSHA256: shard.idxSHA256, idxBytes: shard.idxBytes, tokens: shard.tokens, documents: shard.documents,
            dtype: shard.dtype.rawValue, tokenizerHash: index.tokenizerHash, tokenizerPath: "",
            vocabularySize: index.vocabularySize, endOfTextID: Int(index.endOfTextID))
        facts.provenance = index.provenance.flatMap { try? AnyJSON(encoding: $0) }
        return .object([
            DatasetShardFacts.resultKey: (try? AnyJSON(encoding: facts)) ?? .null,
            "samples": .int(spec.end - spec.start), "start": .int(spec.start), "end": .int(spec.end),
        ])
    }
}

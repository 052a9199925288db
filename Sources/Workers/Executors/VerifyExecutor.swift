// `type: verify` (and `stream` with `mode: verify`): re-checks sizes, layout and both SHA-256s of this
// task's part of a dataset's shards. Bad shards fail the task (not retried) with a message naming them and
// are reported in `badShards` for the control plane to mark bad; a clean part succeeds with what it checked.

import APITypes
import DataShards
import Foundation

public struct VerifyExecutor: JobExecutor {
    public static let kind = StreamJobKinds.verifyName
    public init() {}

    public func run(_ task: TaskAssignment, context: ExecutionContext) async throws -> TaskResult {
        let spec: VerifyTaskSpec
        do { spec = try task.spec.decode(as: VerifyTaskSpec.self) } catch {
            throw TaskFailure("spec: expected a verify task (planned by the control plane): \(error)", retryable: false)
        }
        guard spec.parts >= 1, (0..<spec.parts).contains(spec.part) else {
            throw TaskFailure("spec.part: expected 0..<\(spec.parts), got \(spec.part)", retryable: false)
        }
        let cache: ShardCache?
        do { cache = try context.shardCache(for: [spec.location], cacheDirectory: spec.cacheDirectory) } catch {
            throw TaskFailure("shard cache: \(error)", retryable: false)
        }
        let (names, failures) = try await context.runBlocking {
            () throws -> ([String], [StreamMaterializer.VerificationFailure]) in
            Self.verify(spec, source: try context.streamSource(at: spec.location, cache: cache))
        }
        let label = spec.dataset ?? spec.location
        context.log(
            "checked \(names.count) shard(s) of \(label) (part \(spec.part + 1)/\(spec.parts)): \(failures.count) bad",
            stream: .system)
        context.progress(1, message: "\(names.count) checked, \(failures.count) bad")
        let reports = failures.map {
            BadShardReport(dataset: spec.dataset, shard: $0.shard.shard, location: spec.location, reason: $0.reason)
        }
        if !reports.isEmpty {
            throw TaskFailure(
                "\(reports.count) of \(names.count) shard(s) of dataset \(label) are bad: "
                    + reports.map { "\($0.shard) (\($0.reason))" }.joined(separator: "; ") + "; they are marked bad",
                retryable: false, details: .object([BadShardReport.resultKey: try AnyJSON(encoding: reports)]))
        }
        return TaskResult(
            result: .object([
                "checked": .int(Int64(names.count)), "shards": .array(names.map(AnyJSON.string)),
                BadShardReport.resultKey: .array([]),
            ]))
    }

    /// This part's shard names (by position in index.json modulo `parts`) and the bad ones among them (the source
    /// is opened through the worker's context, which also reads datasets by name).
    static func verify(_ spec: VerifyTaskSpec, source: StreamSource) -> (
        [String], [StreamMaterializer.VerificationFailure]
    ) {
        let names = source.index.shards.enumerated().filter { $0.offset % spec.parts == spec.part }.map(
            \.element.name)
        return (names, StreamMaterializer.verify(source, shards: names))
    }
}

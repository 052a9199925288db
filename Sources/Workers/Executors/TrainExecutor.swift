// `type: train`: one worker (SingleWorkerTraining) or a DiLoCo gang for `replicas > 1` (DiLoCoTraining).
// Settings: `spec.train` (TrainSettings, docs/training.md).

import APITypes
import DataShards
import Engine
import Foundation

public struct TrainExecutor: JobExecutor {
    public static let kind = TrainJobKinds.trainName
    public init() {}

    public func run(_ task: TaskAssignment, context: ExecutionContext) async throws -> TaskResult {
        let settings: TrainSettings
        do { settings = try task.settings.decode(as: TrainSettings.self) } catch {
            throw TaskFailure("spec.train: \(WireCoding.describe(error))", retryable: false)
        }
        let rank = task.gang?.rank ?? 0
        let worldSize = task.gang?.size ?? 1
        let locations = (settings.data + (settings.eval?.data ?? [])).compactMap(\.resolvedLocation)
        let cache: ShardCache?
        do { cache = try context.shardCache(for: locations) } catch {
            throw TaskFailure("shard cache: \(error)", retryable: false)
        }
        let plan = try TrainingPlan(
            settings: settings, rank: rank, worldSize: worldSize, shardCache: cache,
            openSource: { try context.streamSource(at: $0, weight: $1, cache: $2) })
        // A gang's rounds go beside a single run's checkpoints in a directory (`diloco/`), as they always did.
        let exchange = try TrainingExchanges.forJob(
            task, settings: settings, context: context, part: worldSize > 1 ? "diloco" : nil)
        let cpus = Int(task.resources.cpuMillis / 1000)
        let threads = settings.threads ?? max(1, cpus)
        do {
            return try await context.runBlocking {
                if worldSize > 1 {
                    return try DiLoCoTraining(
                        task: task, plan: plan, exchange: exchange, context: context, threads: threads
                    ).run()
                }
                return try SingleWorkerTraining(
                    task: task, plan: plan, exchange: exchange, context: context, threads: threads
                ).run()
            }
        } catch let error as EngineError {
            throw TaskFailure.engine(error, field: "spec.train", optimizer: settings.optimizer)
        }
    }
}

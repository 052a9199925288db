import APITypes
import ClusterModel
import Foundation
import Primitives

/// Turns a validated manifest into the tasks the job runs. Most kinds run `spec.tasks` independent copies
/// (or one task per gang member when `replicas > 1`); kinds that split their input (tokenize, stream)
/// register a planner of their own in `JobPlanners`.
public protocol JobPlanner: Sendable {
    /// One spec (JSON object) per task. Throws `StoreError.invalid` naming the field for bad settings.
    func taskSpecs(for manifest: JobManifest) throws -> [AnyJSON]
    /// The jobs a manifest becomes, in submission order; by default just itself. A planner may put helper
    /// jobs in front that the manifest's own job waits for (`after:`), e.g. training a tokenizer first.
    /// Must be deterministic, so that re-applying the same manifest is recognised as unchanged.
    func expand(_ manifest: JobManifest) throws -> [JobManifest]
}

extension JobPlanner {
    public func expand(_ manifest: JobManifest) throws -> [JobManifest] { [manifest] }
}

/// The default planner: every task gets the kind's settings (`spec.<type>`); its index and the task count
/// travel in the assignment itself.
public struct IndexedTaskPlanner: JobPlanner {
    public init() {}

    public func taskSpecs(for manifest: JobManifest) throws -> [AnyJSON] {
        let count = manifest.spec.replicas > 1 ? manifest.spec.replicas : manifest.spec.tasks
        let settings: AnyJSON = try manifest.spec.settings.map { try AnyJSON(encoding: $0) } ?? .object([:])
        return Array(repeating: settings, count: count)
    }
}

/// Planners by job kind name; kinds without one use `IndexedTaskPlanner`.
public final class JobPlanners: Sendable {
    private let planners = Locked<[String: any JobPlanner]>([
        TokenizeJobKinds.tokenizeName: TokenizePlanner(),
        TokenizeJobKinds.trainTokenizerName: TrainTokenizerPlanner(),
        TokenizeJobKinds.dedupScanName: TokenizePlanner(),
        NearDedupJobKinds.minhashName: TokenizePlanner(),
        NearDedupJobKinds.lshName: TokenizePlanner(),
    ])
    private let fallback = IndexedTaskPlanner()

    /// The planners of this build's kinds that split their own work (tokenize, train-tokenizer).
    public init() {}

    public func register(_ planner: any JobPlanner, forKind kind: String) {
        planners.withLock { $0[kind] = planner }
    }

    public func planner(forKind kind: String) -> any JobPlanner {
        planners.withLock { $0[kind] } ?? fallback
    }
}

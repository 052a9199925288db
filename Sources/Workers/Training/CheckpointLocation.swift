// Finding the checkpoint file behind a `CheckpointReference` on this worker.

import APITypes
import Engine
import Foundation

enum CheckpointLocation {
    /// Opens the referenced checkpoint (a path, or an artifact location the store can materialize).
    static func open(_ reference: CheckpointReference, field: String, store: any ArtifactStore) throws -> Checkpoint {
        guard let location = reference.resolvedLocation else {
            throw specFailure("\(field): \(reference.displayName) was not resolved to a checkpoint file (submit through the control plane, or give path:)")
        }
        let path: String
        do { path = try store.localPath(for: location).path } catch {
            throw TaskFailure("\(field): \(reference.displayName) at \(location) is not readable on this worker: \(error)")
        }
        do { return try Checkpoint(path: path) } catch {
            throw TaskFailure("\(field): \(reference.displayName): \(error)", retryable: false)
        }
    }
}

extension TrainModelSettings {
    /// The same shape as the engine's config (for checking a checkpoint against a spec).
    init(_ config: GPTConfig) {
        self.init(vocabularySize: config.vocabularySize, contextLength: config.contextLength, layers: config.layers,
                  heads: config.heads, width: config.width, mlpWidth: config.mlpWidth, slidingWindow: config.slidingWindow)
    }
}

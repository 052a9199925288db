// Finding the checkpoint file behind a `CheckpointReference` on this worker.

import APITypes
import Engine
import Foundation

enum CheckpointLocation {
    /// Opens the referenced checkpoint (a path, or an artifact location the store can materialize).
    static func open(
        _ reference: CheckpointReference, field: String, context: ExecutionContext, sharedDirectory: String? = nil
    ) throws -> Checkpoint {
        var location = reference.resolvedLocation
        if location == nil, let job = reference.job {
            // Not resolvable at submission (the job was still to run). The control plane resolves it when it hands
            // out the task; without one (or with a shared directory) find the job's newest checkpoint there now.
            if TrainingExchanges.usesControlPlane(sharedDirectory, context: context) != nil {
                throw TaskFailure(
                    "\(field): job \(job) had no checkpoint artifact when this task was handed out (it must succeed first: list it in after:)",
                    retryable: false)
            }
            let base = TrainingDirectory.base(sharedDirectory: sharedDirectory, context: context)
            guard let newest = TrainingDirectory.newestCheckpoint(ofJob: job, base: base) else {
                throw TaskFailure("\(field): job \(job) left no checkpoint under \(base.path)", retryable: false)
            }
            location = newest.path
        }
        guard let location else {
            throw specFailure(
                "\(field): \(reference.displayName) was not resolved to a checkpoint file (submit through the control plane, or give path:)"
            )
        }
        let path: String
        do { path = try context.artifactStore.localPath(for: location).path } catch {
            throw TaskFailure(
                "\(field): \(reference.displayName) at \(location) is not readable on this worker: \(error)")
        }
        do { return try Checkpoint(path: path) } catch {
            throw TaskFailure("\(field): \(reference.displayName): \(error)", retryable: false)
        }
    }

    /// Where `initFrom` weights came from: the file or directory, and what it was (for the log).
    struct InitialWeights {
        var path: String
        var summary: String
    }

    /// Loads `spec.train.initFrom` into a new `model` (nothing without it); returns where the weights came from.
    @discardableResult
    static func loadInitFrom(into model: GPTModel, plan: TrainingPlan, context: ExecutionContext) throws
        -> InitialWeights?
    {
        guard let reference = plan.settings.initFrom else { return nil }
        if let directory = reference.huggingFace { return try loadHuggingFace(directory, into: model, plan: plan) }
        let checkpoint = try open(
            reference, field: "spec.train.initFrom", context: context, sharedDirectory: plan.settings.sharedDirectory)
        guard checkpoint.config == plan.config else {
            throw specFailure(
                "spec.train.initFrom: \(reference.displayName) has model config \(checkpoint.config), the spec asks for \(plan.config)"
            )
        }
        try model.load(from: checkpoint)
        return InitialWeights(path: checkpoint.path, summary: "step \(checkpoint.step) of its run")
    }

    /// `initFrom: {huggingFace: DIR}`: a GPT-2 directory (docs/export.md), of the spec's model.
    private static func loadHuggingFace(_ directory: String, into model: GPTModel, plan: TrainingPlan) throws
        -> InitialWeights
    {
        let config: GPTConfig
        do { config = try HuggingFaceGPT2.config(directory: directory) } catch {
            throw TaskFailure("spec.train.initFrom.huggingFace: \(error)", retryable: false)
        }
        guard config == plan.config else {
            throw specFailure(
                "spec.train.initFrom.huggingFace: \(directory) has model config \(config), the spec asks for \(plan.config)"
            )
        }
        do { try HuggingFaceGPT2.load(directory: directory, into: model) } catch {
            throw TaskFailure("spec.train.initFrom.huggingFace: \(error)", retryable: false)
        }
        return InitialWeights(path: directory, summary: "a Hugging Face GPT-2")
    }
}

extension TrainModelSettings {
    /// The same shape as the engine's config (for checking a checkpoint against a spec).
    init(_ config: GPTConfig) {
        self.init(
            vocabularySize: config.vocabularySize, contextLength: config.contextLength, layers: config.layers,
            heads: config.heads, width: config.width, mlpWidth: config.mlpWidth, slidingWindow: config.slidingWindow)
    }
}

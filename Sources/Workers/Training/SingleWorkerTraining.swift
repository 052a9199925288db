// `type: train` on one worker: AdamW steps over the stream, metrics every `logEvery` steps, held-out
// evaluation every `eval.every` steps, checkpoints every `checkpointEvery` steps into the job's training
// directory (registered as artifacts). A retried attempt resumes from the newest readable checkpoint there,
// with the stream state saved in it: the same data order as an uninterrupted run.

import APITypes
import DataShards
import Engine
import Foundation

struct SingleWorkerTraining {
    let task: TaskAssignment
    let plan: TrainingPlan
    let directory: TrainingDirectory
    let context: ExecutionContext
    let threads: Int

    func run() throws -> TaskResult {
        let settings = plan.settings
        var trainer: Trainer
        var streamState = StreamState()
        var resumedFrom: Int?
        var initializedFrom: String?
        if let (checkpoint, state) = try latestResumableCheckpoint() {
            trainer = try checkpoint.loadTrainer(threads: threads)
            streamState = state
            resumedFrom = trainer.step
            context.log("resuming from \(checkpoint.path) at step \(trainer.step)", stream: .system)
        } else {
            let model = try GPTModel(config: plan.config, seed: plan.seed, threads: threads)
            if let reference = settings.initFrom {
                let checkpoint = try CheckpointLocation.open(reference, field: "spec.train.initFrom", context: context, sharedDirectory: plan.settings.sharedDirectory)
                guard checkpoint.config == plan.config else {
                    throw specFailure("spec.train.initFrom: \(reference.displayName) has model config \(checkpoint.config), the spec asks for \(plan.config)")
                }
                try model.load(from: checkpoint)
                initializedFrom = checkpoint.path
                context.log("initialized from \(checkpoint.path) (step \(checkpoint.step) of its run)", stream: .system)
            }
            trainer = try Trainer(model: model, optimizer: plan.optimizer, schedule: plan.schedule)
        }
        let stream = try plan.trainingStream(resumingFrom: streamState)
        let heldOut = try plan.evaluationStream().map { try heldOutBatches($0, count: settings.eval?.batches ?? 8) }
        let total = plan.totalSteps
        let logEvery = max(1, settings.logEvery ?? 10)
        let evalEvery = settings.eval?.every ?? max(1, total / 10)
        let checkpointEvery = settings.checkpointEvery ?? total
        context.log("training \(plan.config.parameterCount) parameters for \(total) steps of \(plan.tokensPerStep) tokens", stream: .system)

        var initialValidation: Double?
        if let heldOut, trainer.step == 0 {
            let loss = try meanLoss(model: trainer.model, batches: heldOut, batchSize: plan.batchSize)
            initialValidation = loss
            context.metric("val_loss", step: 0, value: loss)
            context.log("step 0 val_loss \(format(loss))")
        }
        var firstLoss: Double?
        var lastLoss: Double = .nan
        var lastValidation: Double?
        var lastCheckpoint: ArtifactRecord?
        var windowStart = Date()
        var windowTokens = 0
        var tokensSeen = Int64(trainer.step) * Int64(plan.tokensPerStep)
        while trainer.step < total {
            try context.checkCancellation()
            if let preemption = context.preemption {
                if trainer.step > (resumedFrom ?? 0) { lastCheckpoint = try saveCheckpoint(trainer, state: stream.state) }
                throw ExecutionStopped.preempted(reason: preemption.reason)
            }
            let step = try stream.nextStep(microbatches: plan.accumulation)
            let result = try trainer.trainStep(microbatches: step.batches, batchSize: plan.batchSize)
            streamState = step.stateAfter
            lastLoss = Double(result.loss)
            if firstLoss == nil { firstLoss = lastLoss }
            windowTokens += result.tokens
            tokensSeen += Int64(result.tokens)
            let done = trainer.step
            if done % logEvery == 0 || done == total {
                let seconds = max(1e-9, Date().timeIntervalSince(windowStart))
                let rate = Double(windowTokens) / seconds
                context.metric("loss", step: Int64(done), value: lastLoss)
                context.metric("lr", step: Int64(done), value: Double(result.learningRate))
                context.metric("grad_norm", step: Int64(done), value: Double(result.gradientNorm))
                context.metric("tokens_per_second", step: Int64(done), value: rate)
                context.metric("tokens", step: Int64(done), value: Double(tokensSeen))
                context.log("step \(done)/\(total) loss \(format(lastLoss)) lr \(String(format: "%.2e", result.learningRate)) grad_norm \(format(Double(result.gradientNorm))) tokens/s \(Int(rate))")
                context.progress(Double(done) / Double(total), message: "step \(done)/\(total) loss \(format(lastLoss))",
                                 step: Int64(done), totalSteps: Int64(total))
                windowStart = Date()
                windowTokens = 0
            }
            if let heldOut, done % evalEvery == 0 || done == total {
                let loss = try meanLoss(model: trainer.model, batches: heldOut, batchSize: plan.batchSize)
                lastValidation = loss
                context.metric("val_loss", step: Int64(done), value: loss)
                context.log("step \(done) val_loss \(format(loss))")
            }
            if done % checkpointEvery == 0 || done == total {
                lastCheckpoint = try saveCheckpoint(trainer, state: streamState)
            }
        }
        if lastCheckpoint == nil, let newest = directory.checkpoints().first {
            // A retry that found the run already complete: register its final checkpoint again (idempotent).
            lastCheckpoint = try context.registerArtifact(file: newest.url, name: "checkpoint-step-\(newest.step)", kind: "checkpoint",
                                                         metadata: checkpointMetadata(step: newest.step))
        }
        var result: [String: AnyJSON] = [
            "steps": .int(Int64(trainer.step)),
            "tokens": .int(tokensSeen),
            "parameters": .int(Int64(plan.config.parameterCount)),
        ]
        if lastLoss.isFinite { result["finalLoss"] = .double(lastLoss) }
        if let firstLoss { result["firstLoss"] = .double(firstLoss) }
        if let lastValidation { result["valLoss"] = .double(lastValidation) }
        if let initialValidation { result["initialValLoss"] = .double(initialValidation) }
        if let resumedFrom { result["resumedFromStep"] = .int(Int64(resumedFrom)) }
        if let initializedFrom { result["initializedFrom"] = .string(initializedFrom) }
        if let lastCheckpoint {
            result["checkpoint"] = .string(lastCheckpoint.location)
            result["checkpointSHA256"] = .string(lastCheckpoint.sha256)
        }
        context.progress(1, message: "done: \(trainer.step) steps, loss \(format(lastLoss))", step: Int64(trainer.step), totalSteps: Int64(total))
        return TaskResult(result: .object(result), artifacts: lastCheckpoint.map { [$0] } ?? [])
    }

    /// The newest checkpoint in the training directory that opens and matches the spec (a corrupt or
    /// half-deleted one is skipped, the next older is used).
    private func latestResumableCheckpoint() throws -> (Checkpoint, StreamState)? {
        for candidate in directory.checkpoints() {
            guard let checkpoint = try? Checkpoint(path: candidate.url.path), checkpoint.hasOptimizerState else {
                context.log("skipping unreadable checkpoint \(candidate.url.path)", stream: .stderr)
                continue
            }
            guard checkpoint.config == plan.config else {
                throw specFailure("the job's checkpoint \(candidate.url.path) has model config \(checkpoint.config), the spec asks for \(plan.config)")
            }
            guard let state = StreamStateCoding.decode(checkpoint.dataState) else {
                context.log("skipping checkpoint without a data-stream state \(candidate.url.path)", stream: .stderr)
                continue
            }
            return (checkpoint, state)
        }
        return nil
    }

    private func checkpointMetadata(step: Int) -> AnyJSON {
        let config = (try? AnyJSON(encoding: TrainModelSettings(plan.config))) ?? .null
        return ["step": .int(Int64(step)), "config": config, "format": .string(Checkpoint.formatName)]
    }

    private func saveCheckpoint(_ trainer: Trainer, state: StreamState) throws -> ArtifactRecord {
        let name = TrainingDirectory.checkpointName(step: trainer.step)
        let url = directory.file(name)
        try trainer.save(to: url.path, dataState: StreamStateCoding.encode(state),
                         weightsAs: plan.settings.checkpointBF16 == true ? .bfloat16 : .float32,
                         metadata: ["job": task.jobName])
        let record = try context.registerArtifact(file: url, name: "checkpoint-step-\(trainer.step)", kind: "checkpoint",
                                                  metadata: checkpointMetadata(step: trainer.step))
        context.log("checkpoint step \(trainer.step) sha256 \(record.sha256.prefix(12)) (\(record.bytes) bytes)", stream: .system)
        directory.pruneCheckpoints(keep: 2)
        return record
    }
}

func format(_ value: Double) -> String { value.isFinite ? String(format: "%.4f", value) : "\(value)" }

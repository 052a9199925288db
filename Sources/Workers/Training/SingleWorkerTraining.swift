// `type: train` on one worker: AdamW steps over the stream, metrics every `logEvery` steps, held-out
// evaluation every `eval.every` steps, checkpoints every `checkpointEvery` steps into the job's training
// exchange (registered as artifacts). A retried attempt, on this node or another, resumes from the newest
// readable checkpoint there, with the stream state saved in it: the same data order as an uninterrupted run.

import APITypes
import DataShards
import Engine
import Foundation

struct SingleWorkerTraining {
    let task: TaskAssignment
    let plan: TrainingPlan
    let exchange: any TrainingExchange
    let context: ExecutionContext
    let threads: Int

    /// Steps between checkpoints (at the end only by default).
    var checkpointEvery: Int { plan.settings.checkpointEvery ?? plan.totalSteps }

    /// What the result reports, gathered as the run goes.
    private struct Outcome {
        var resumedFromStep: Int?
        var initializedFrom: String?
        var initialValidation: Double?
        var firstLoss: Double?
        var lastLoss = Double.nan
        var lastValidation: Double?
        var lastCheckpoint: ArtifactRecord?
        var tokensSeen: Int64 = 0
    }

    func run() throws -> TaskResult {
        var outcome = Outcome()
        let (trainer, streamState) = try startTrainer(outcome: &outcome)
        let stream = try plan.trainingStream(resumingFrom: streamState)
        let heldOut = try plan.evaluationBatches(rows: plan.batchSize)
        let total = plan.totalSteps
        context.log(
            "training \(plan.config.parameterCount) parameters for \(total) steps of \(plan.tokensPerStep) tokens",
            stream: .system)
        if let heldOut, trainer.step == 0 {
            outcome.initialValidation = try validate(trainer.model, on: heldOut, step: 0)
        }
        outcome.tokensSeen = Int64(trainer.step) * Int64(plan.tokensPerStep)
        var window = ThroughputWindow()
        while trainer.step < total {
            try stopIfAsked(trainer, stream: stream, resumedFromStep: outcome.resumedFromStep)
            try trainStep(trainer, stream: stream, heldOut: heldOut, window: &window, outcome: &outcome)
        }
        if outcome.lastCheckpoint == nil, let newest = try exchange.resumableCheckpoints().first,
            let file = try exchange.localFile(newest.name)
        {
            // A retry that found the run already complete: register its final checkpoint again (idempotent).
            outcome.lastCheckpoint = try registerCheckpoint(file, step: newest.step, state: stream.state)
        }
        context.progress(
            1, message: "done: \(trainer.step) steps, loss \(format(outcome.lastLoss))", step: Int64(trainer.step),
            totalSteps: Int64(total))
        return result(trainer, outcome)
    }

    /// The trainer to continue with and the stream state it continues at: from the newest resumable checkpoint,
    /// else a new model (seeded, or loaded from `initFrom`) at the stream's beginning.
    private func startTrainer(outcome: inout Outcome) throws -> (Trainer, StreamState) {
        if let (checkpoint, state) = try latestResumableCheckpoint() {
            let trainer = try checkpoint.loadTrainer(threads: threads)
            outcome.resumedFromStep = trainer.step
            context.log("resuming from \(checkpoint.path) at step \(trainer.step)", stream: .system)
            return (trainer, state)
        }
        let model = try GPTModel(config: plan.config, seed: plan.seed, threads: threads)
        if let initial = try CheckpointLocation.loadInitFrom(into: model, plan: plan, context: context) {
            outcome.initializedFrom = initial.path
            context.log("initialized from \(initial.path) (\(initial.summary))", stream: .system)
        }
        return (try Trainer(model: model, optimizer: plan.optimizer, schedule: plan.schedule), StreamState())
    }

    /// Cancellation ends the attempt where it is; preemption first saves a checkpoint (when the attempt trained
    /// any step), so the next attempt resumes from here.
    private func stopIfAsked(_ trainer: Trainer, stream: TokenStream, resumedFromStep: Int?) throws {
        try context.checkCancellation()
        guard let preemption = context.preemption else { return }
        if trainer.step > (resumedFromStep ?? 0) { _ = try saveCheckpoint(trainer, state: stream.state) }
        throw ExecutionStopped.preempted(reason: preemption.reason)
    }

    /// One optimizer step, then what falls due at it: the step metrics, an evaluation, a checkpoint.
    private func trainStep(
        _ trainer: Trainer, stream: TokenStream, heldOut: [[Int32]]?, window: inout ThroughputWindow,
        outcome: inout Outcome
    ) throws {
        let step = try stream.nextStep(microbatches: plan.accumulation)
        let result = try trainer.trainStep(microbatches: step.batches, batchSize: plan.batchSize)
        context.reportBatchChecksum(of: step.batches, step: trainer.step)
        outcome.lastLoss = Double(result.loss)
        if outcome.firstLoss == nil { outcome.firstLoss = outcome.lastLoss }
        window.add(tokens: result.tokens)
        outcome.tokensSeen += Int64(result.tokens)
        let done = trainer.step
        let total = plan.totalSteps
        if done % plan.logEverySteps == 0 || done == total {
            report(result, step: done, tokensSeen: outcome.tokensSeen, window: &window)
        }
        if let heldOut, done % plan.evalEverySteps == 0 || done == total {
            outcome.lastValidation = try validate(trainer.model, on: heldOut, step: done)
        }
        if done % checkpointEvery == 0 || done == total {
            outcome.lastCheckpoint = try saveCheckpoint(trainer, state: step.stateAfter)
        }
    }

    private func report(_ result: TrainStepResult, step: Int, tokensSeen: Int64, window: inout ThroughputWindow) {
        let total = plan.totalSteps
        let loss = Double(result.loss)
        let rate = window.tokensPerSecond
        context.reportStepMetrics(result, step: step, tokensPerSecond: rate)
        context.metric("tokens", step: Int64(step), value: Double(tokensSeen))
        context.log(
            "step \(step)/\(total) loss \(format(loss)) lr \(String(format: "%.2e", result.learningRate)) grad_norm \(format(Double(result.gradientNorm))) tokens/s \(Int(rate))"
        )
        context.progress(
            Double(step) / Double(total), message: "step \(step)/\(total) loss \(format(loss))",
            step: Int64(step), totalSteps: Int64(total))
        window.restart()
    }

    /// The held-out loss of `model` after `step` steps, reported as `val_loss`.
    private func validate(_ model: GPTModel, on heldOut: [[Int32]], step: Int) throws -> Double {
        let loss = try meanLoss(model: model, batches: heldOut, batchSize: plan.batchSize)
        context.metric("val_loss", step: Int64(step), value: loss)
        context.log("step \(step) val_loss \(format(loss))")
        return loss
    }

    private func result(_ trainer: Trainer, _ outcome: Outcome) -> TaskResult {
        var result: [String: AnyJSON] = [
            "steps": .int(Int64(trainer.step)),
            "tokens": .int(outcome.tokensSeen),
            "parameters": .int(Int64(plan.config.parameterCount)),
        ]
        if outcome.lastLoss.isFinite { result["finalLoss"] = .double(outcome.lastLoss) }
        if let firstLoss = outcome.firstLoss { result["firstLoss"] = .double(firstLoss) }
        if let lastValidation = outcome.lastValidation { result["valLoss"] = .double(lastValidation) }
        if let initialValidation = outcome.initialValidation { result["initialValLoss"] = .double(initialValidation) }
        if let resumedFrom = outcome.resumedFromStep { result["resumedFromStep"] = .int(Int64(resumedFrom)) }
        if let initializedFrom = outcome.initializedFrom { result["initializedFrom"] = .string(initializedFrom) }
        if let checkpoint = outcome.lastCheckpoint {
            result["checkpoint"] = .string(checkpoint.location)
            result["checkpointSHA256"] = .string(checkpoint.sha256)
        }
        return TaskResult(result: .object(result), artifacts: outcome.lastCheckpoint.map { [$0] } ?? [])
    }

    /// The newest checkpoint in the training exchange that opens and matches the spec (a corrupt, half-deleted
    /// or unfetchable one is skipped, the next older is used).
    private func latestResumableCheckpoint() throws -> (Checkpoint, StreamState)? {
        for candidate in try exchange.resumableCheckpoints() {
            let file: URL?
            do { file = try exchange.localFile(candidate.name) } catch {
                context.log("skipping checkpoint \(candidate.name): \(error)", stream: .stderr)
                continue
            }
            guard let file, let checkpoint = try? Checkpoint(path: file.path), checkpoint.hasOptimizerState else {
                context.log("skipping unreadable checkpoint \(candidate.name) in \(exchange)", stream: .stderr)
                continue
            }
            guard checkpoint.config == plan.config else {
                throw specFailure(
                    "the job's checkpoint \(candidate.name) in \(exchange) has model config \(checkpoint.config), the spec asks for \(plan.config)"
                )
            }
            guard let state = StreamStateCoding.decode(checkpoint.dataState) else {
                context.log("skipping checkpoint without a data-stream state \(candidate.name)", stream: .stderr)
                continue
            }
            return (checkpoint, state)
        }
        return nil
    }

    /// Registers the checkpoint file of step `step` as an artifact (again, for a retry: idempotent). The data
    /// position goes into its metadata (`tokens`, and `streamState` when known), which per-checkpoint evals
    /// record beside their results and from which lineage recomputes the exact samples of any later step
    /// (docs/lineage.md).
    private func registerCheckpoint(_ url: URL, step: Int, state: StreamState? = nil) throws -> ArtifactRecord {
        var metadata: [String: AnyJSON] = [
            "step": .int(Int64(step)), "config": plan.modelSettingsJSON, "format": .string(Checkpoint.formatName),
            // The run's tokens at this checkpoint, so the control plane knows what a preemption would lose.
            "tokens": .int(Int64(step) * Int64(plan.tokensPerStep)),
        ]
        if let state, let json = try? AnyJSON(encoding: state) { metadata["streamState"] = json }
        return try context.registerArtifact(
            file: url, name: "checkpoint-step-\(step)", kind: "checkpoint", metadata: .object(metadata))
    }

    /// Saves, registers (the bytes go into the artifact store once) and publishes the checkpoint of this step,
    /// then drops all but the two newest from the exchange.
    private func saveCheckpoint(_ trainer: Trainer, state: StreamState) throws -> ArtifactRecord {
        let name = TrainingDirectory.checkpointName(step: trainer.step)
        let file = exchange.scratchFile(for: name)
        defer { try? FileManager.default.removeItem(at: file) }
        try trainer.save(
            to: file.path, dataState: StreamStateCoding.encode(state),
            weightsAs: plan.settings.checkpointBF16 == true ? .bfloat16 : .float32,
            metadata: ["job": task.jobName])
        let record = try registerCheckpoint(file, step: trainer.step, state: state)
        try exchange.publish(file: file, as: name, exclusive: false, stored: record)
        context.log(
            "checkpoint step \(trainer.step) sha256 \(record.sha256.prefix(12)) (\(record.bytes) bytes)",
            stream: .system)
        // Best effort: an older checkpoint left behind is pruned after the next one, and resume takes the newest.
        try? exchange.pruneResumableCheckpoints(keep: 2)
        return record
    }
}

func format(_ value: Double) -> String { value.isFinite ? String(format: "%.4f", value) : "\(value)" }

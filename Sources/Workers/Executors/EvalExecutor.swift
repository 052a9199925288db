// `type: eval`: a checkpoint and datasets → mean loss and perplexity per dataset (over the first `maxTokens`
// tokens of each dataset's deterministic stream), plus sample generations from `prompts`. The result JSON
// (shown by `opsctl describe job`) holds both; metrics `loss/<dataset>` and `perplexity/<dataset>` too.

import APITypes
import DataShards
import Engine
import Foundation

public struct EvalExecutor: JobExecutor {
    public static let kind = TrainJobKinds.evalName
    public init() {}

    public func run(_ task: TaskAssignment, context: ExecutionContext) async throws -> TaskResult {
        let settings: EvalSettings
        do { settings = try task.settings.decode(as: EvalSettings.self) } catch {
            throw TaskFailure("spec.eval: \(WireCoding.describe(error))", retryable: false)
        }
        let threads = settings.threads ?? max(1, Int(task.resources.cpuMillis / 1000))
        return try await context.runBlocking {
            let checkpoint = try CheckpointLocation.open(
                settings.checkpoint, field: "spec.eval.checkpoint", context: context)
            let model: GPTModel
            do throws(EngineError) { model = try checkpoint.loadModel(threads: threads) } catch {
                throw TaskFailure.engine(error, field: "spec.eval.checkpoint")
            }
            context.log(
                "evaluating \(checkpoint.path) (step \(checkpoint.step), \(model.parameterCount) parameters)",
                stream: .system)
            let result = try Self.evaluate(model: model, settings: settings, context: context)
            var object = result
            // Where the checkpoint is stored (`cp://blobs/…`, `s3://…` or a path), not this worker's cached copy: the
            // result names something every node and `opsctl generate` can open.
            object["checkpoint"] = .string(settings.checkpoint.resolvedLocation ?? checkpoint.path)
            object["checkpointStep"] = .int(Int64(checkpoint.step))
            return TaskResult(result: .object(object))
        }
    }

    static func evaluate(model: GPTModel, settings: EvalSettings, context: ExecutionContext) throws -> [String: AnyJSON]
    {
        var datasets: [AnyJSON] = []
        for (offset, source) in settings.data.enumerated() {
            datasets.append(try loss(of: model, on: source, at: offset, settings: settings, context: context))
        }
        let samples = try Self.samples(from: model, settings: settings, context: context)
        return ["datasets": .array(datasets), "samples": .array(samples)]
    }

    /// The mean loss (and perplexity) of `model` over up to `maxTokens` tokens of one dataset, reported as metrics.
    private static func loss(
        of model: GPTModel, on source: TrainDataSource, at offset: Int, settings: EvalSettings,
        context: ExecutionContext
    ) throws -> AnyJSON {
        let sequenceLength = min(settings.sequenceLength ?? model.config.contextLength, model.config.contextLength)
        let batchSize = settings.batchSize ?? 8
        let maxTokens = settings.maxTokens ?? 65_536
        try stopIfAsked(context)
        let cache = try context.shardCache(for: [source.location ?? source.path ?? ""])
        // A dataset by name is listed by the control plane when the task runs (docs/storage.md).
        let sources = try TrainingPlan.sources(
            [TrainDataSource(dataset: source.dataset, path: source.path, weight: 1, location: source.location)],
            field: "spec.eval.data[\(offset)]", cache: cache,
            open: { try context.streamSource(at: $0, weight: $1, cache: $2) })
        if sources[0].index.vocabularySize > model.config.vocabularySize {
            throw specFailure(
                "spec.eval.data[\(offset)]: dataset \(source.displayName) has vocabulary size \(sources[0].index.vocabularySize), the checkpoint's model has \(model.config.vocabularySize)"
            )
        }
        let stream: TokenStream
        do {
            stream = try TokenStream(
                StreamConfiguration(
                    sources: sources, sequenceLength: sequenceLength, batchSize: 1,
                    seed: UInt64(settings.seed ?? 0), rank: 0, worldSize: 1))
        } catch {
            throw TaskFailure(
                "spec.eval.data[\(offset)]: cannot read \(source.displayName): \(error)", retryable: false)
        }
        let samples = Int(min(stream.samplesPerEpoch, Int64(max(1, maxTokens / sequenceLength))))
        var total = 0.0
        var tokens = 0
        var done = 0
        while done < samples {
            try stopIfAsked(context)
            let rows = min(batchSize, samples - done)
            var batch: [Int32] = []
            for _ in 0..<rows { batch.append(contentsOf: try stream.nextBatch().tokens) }
            total += Double(try model.loss(batch: batch, batchSize: rows)) * Double(rows * sequenceLength)
            tokens += rows * sequenceLength
            done += rows
        }
        let loss = total / Double(max(1, tokens))
        let name = source.displayName
        guard loss.isFinite else {
            // JSON cannot carry it, and every later number would be as meaningless.
            throw TaskFailure(
                "spec.eval.data[\(offset)]: the loss on \(name) is \(loss): the checkpoint's weights overflow on this data (a run that was diverging); evaluate an earlier checkpoint",
                retryable: false)
        }
        context.metric("loss/\(name)", step: 0, value: loss)
        context.metric("perplexity/\(name)", step: 0, value: exp(loss))
        context.log("\(name): loss \(format(loss)) perplexity \(format(exp(loss))) over \(tokens) tokens")
        return [
            "dataset": .string(name), "loss": .double(loss), "perplexity": .double(exp(loss)),
            "tokens": .int(Int64(tokens)),
        ]
    }

    /// An eval has nothing to save, so a preempted one stops before its next batch (its task is requeued and
    /// starts over) instead of running on to the grace deadline: the per-checkpoint evals are backfill, and the
    /// training that wants their room should wait for one batch, not for the grace period (docs/training.md).
    private static func stopIfAsked(_ context: ExecutionContext) throws {
        try context.checkCancellation()
        if let preemption = context.preemption { throw ExecutionStopped.preempted(reason: preemption.reason) }
    }

    /// A readable path for `tokenizer`: a path as it is, a stored location (`cp://blobs/…`, `s3://…`, `http(s)://…`)
    /// fetched into the attempt's directory. Without one, the tokenizer the first dataset by name of `data` was
    /// made with (the control plane lists it with the dataset's files), so a pipeline names no tokenizer file:
    /// held-out data tokenized like the training data decodes the model's samples with the model's own tokenizer.
    private static func localTokenizer(_ settings: EvalSettings, context: ExecutionContext) throws -> String? {
        let directory = context.workDirectory.appendingPathComponent("tokenizer")
        guard let tokenizer = settings.tokenizer else {
            guard let stored = try datasetTokenizer(settings.data, context: context) else { return nil }
            return try TokenizeInputFetch.localFile(
                ResolvedInput(
                    name: "tokenizer.json", location: stored.location, sha256: stored.sha256, bytes: stored.bytes),
                directory: directory, context: context)
        }
        guard InputLocationKind(tokenizer)?.isURL == true else { return tokenizer }
        return try TokenizeInputFetch.localFile(
            ResolvedInput(name: "tokenizer.json", location: tokenizer, sha256: nil, bytes: nil),
            directory: directory, context: context)
    }

    private static func datasetTokenizer(_ data: [TrainDataSource], context: ExecutionContext) throws -> DatasetFile? {
        guard let datasets = context.datasets else { return nil }
        for source in data {
            guard let name = DatasetByName.name(of: source.resolvedLocation ?? "") else { continue }
            if let tokenizer = try datasets.files(of: name).tokenizer { return tokenizer }
        }
        return nil
    }

    /// Text the model writes after each of `settings.prompts` (none when no prompts are given).
    private static func samples(from model: GPTModel, settings: EvalSettings, context: ExecutionContext) throws
        -> [AnyJSON]
    {
        var samples: [AnyJSON] = []
        if let prompts = settings.prompts, !prompts.isEmpty {
            let codec = try TextCodec(tokenizerPath: try localTokenizer(settings, context: context))
            let options = SamplingOptions(
                temperature: Float(settings.temperature ?? 0.8), topK: settings.topK ?? 40,
                seed: UInt64(settings.seed ?? 0), maxNewTokens: settings.maxNewTokens ?? 64)
            for prompt in prompts {
                try context.checkCancellation()
                let ids = codec.encode(prompt)
                guard !ids.isEmpty, ids.allSatisfy({ Int($0) < model.config.vocabularySize }) else {
                    throw specFailure(
                        "spec.eval.prompts: \"\(prompt)\" encodes to tokens outside the model's vocabulary of \(model.config.vocabularySize) (give the tokenizer the model was trained with)"
                    )
                }
                let window = Array(ids.suffix(model.config.contextLength))
                let generated = try model.generate(prompt: window, options: options)
                let text = codec.decode(generated)
                context.log("sample: \(prompt)\(text)")
                samples.append(["prompt": .string(prompt), "completion": .string(text)])
            }
        }
        return samples
    }
}

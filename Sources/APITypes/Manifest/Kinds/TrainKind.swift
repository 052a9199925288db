// `type: train` and `type: eval`: validators of `spec.train` / `spec.eval` (field types, bounds and the
// cross-field rules a manifest can be checked for without the cluster). Whether datasets and checkpoints
// exist is checked at submission by the control plane's `TrainJobPlanner`.

import Foundation

public enum TrainJobKinds {
    public static let trainName = "train"
    public static let evalName = "eval"

    public static let train = JobKind(
        name: trainName, summary: "trains a GPT (from scratch, initFrom a checkpoint, or DiLoCo with replicas > 1)",
        settingsRequired: true
    ) { settings, context in
        settings.rejectUnknownKeys(allowed: [
            "model", "data", "batchSize", "sequenceLength", "gradientAccumulation", "steps", "tokens",
            "optimizer", "seed", "checkpointEvery", "checkpointBF16", "logEvery", "eval", "initFrom",
            "threads", "diloco", "sharedDirectory", "evalEvery", "evals", requireDecontaminatedKey,
        ])
        let context = validateModel(settings.object("model", required: true))
        validateData(settings, "data", required: true)
        let batch = settings.integer("batchSize", required: true, min: 1, max: 1 << 20)
        if let sequence = settings.integer("sequenceLength", min: 1), let context, sequence > context {
            settings.report("sequenceLength", "expected at most model.contextLength (\(context)), got \(sequence)")
        }
        _ = batch
        _ = settings.integer("gradientAccumulation", min: 1, max: 4096)
        let steps = settings.integer("steps", min: 1)
        let tokens = settings.integer("tokens", min: 1)
        if steps != nil && tokens != nil { settings.report("tokens", "give either steps or tokens, not both") }
        if !settings.has("steps") && !settings.has("tokens") {
            settings.report(nil, "missing required field steps or tokens (the training budget)")
        }
        if let optimizer = settings.object("optimizer") {
            optimizer.rejectUnknownKeys(allowed: [
                "learningRate", "minLearningRate", "warmupSteps", "schedule", "beta1", "beta2",
                "weightDecay", "gradientClip",
            ])
            _ = optimizer.number("learningRate", min: 0, max: 10)
            _ = optimizer.number("minLearningRate", min: 0, max: 10)
            _ = optimizer.integer("warmupSteps", min: 0)
            _ = optimizer.choice("schedule", ["cosine", "linear", "constant"])
            _ = optimizer.number("beta1", min: 0, max: 0.999999)
            _ = optimizer.number("beta2", min: 0, max: 0.999999)
            _ = optimizer.number("weightDecay", min: 0, max: 10)
            _ = optimizer.number("gradientClip", min: 0)
        }
        _ = settings.integer("seed", min: 0)
        _ = settings.integer("checkpointEvery", min: 1)
        _ = settings.bool("checkpointBF16")
        _ = settings.integer("logEvery", min: 1)
        _ = settings.integer("threads", min: 1, max: 256)
        _ = settings.string("sharedDirectory", expected: "an absolute path", isValid: { $0.hasPrefix("/") })
        if let eval = settings.object("eval") {
            eval.rejectUnknownKeys(allowed: ["data", "every", "batches"])
            validateData(eval, "data", required: true)
            _ = eval.integer("every", min: 1)
            _ = eval.integer("batches", min: 1)
        }
        if let initFrom = settings.object("initFrom") { validateCheckpointReference(initFrom, allowsHuggingFace: true) }
        validateCheckpointEvals(settings)
        validateDecontaminationRequirement(settings)
        if let diloco = settings.object("diloco") {
            diloco.rejectUnknownKeys(allowed: [
                "innerSteps", "outerLearningRate", "outerMomentum", "transfer", "roundTimeoutSeconds", "waitForAll",
            ])
            _ = diloco.integer("innerSteps", min: 1)
            _ = diloco.number("outerLearningRate", min: 0, max: 10)
            _ = diloco.number("outerMomentum", min: 0, max: 0.999999)
            _ = diloco.choice("transfer", ["sign", "int4", "bf16", "fp32"])
            _ = diloco.number("roundTimeoutSeconds", min: 0)
            _ = diloco.bool("waitForAll")
        }
    }

    public static let eval = JobKind(
        name: evalName, summary: "evaluates a checkpoint (loss, perplexity) and samples from prompts",
        settingsRequired: true
    ) { settings, _ in
        settings.rejectUnknownKeys(allowed: [
            "checkpoint", "data", "sequenceLength", "batchSize", "maxTokens", "tokenizer", "prompts",
            "maxNewTokens", "temperature", "topK", "seed", "threads",
        ])
        if let checkpoint = settings.object("checkpoint", required: true) {
            validateCheckpointReference(checkpoint, allowsHuggingFace: false)
        }
        validateData(settings, "data", required: false)
        _ = settings.integer("sequenceLength", min: 1)
        _ = settings.integer("batchSize", min: 1)
        _ = settings.integer("maxTokens", min: 2)
        _ = settings.string("tokenizer", expected: "a path to a tokenizer.json", isValid: { !$0.isEmpty })
        _ = settings.stringList("prompts")
        _ = settings.integer("maxNewTokens", min: 1, max: 100_000)
        _ = settings.number("temperature", min: 0, max: 100)
        _ = settings.integer("topK", min: 1)
        _ = settings.integer("seed", min: 0)
        _ = settings.integer("threads", min: 1, max: 256)
        if !settings.has("data") && !settings.has("prompts") {
            settings.report(nil, "nothing to do: give data (datasets to evaluate) and/or prompts (to sample from)")
        }
    }

    /// Returns the context length when the model mapping is valid enough to know it.
    private static func validateModel(_ model: ManifestObjectReader?) -> Int64? {
        guard let model else { return nil }
        model.rejectUnknownKeys(allowed: [
            "vocabularySize", "contextLength", "layers", "heads", "width", "mlpWidth", "slidingWindow",
        ])
        _ = model.integer("vocabularySize", required: true, min: 2, max: 1 << 24)
        let context = model.integer("contextLength", required: true, min: 1, max: 1 << 16)
        _ = model.integer("layers", required: true, min: 1, max: 1024)
        let heads = model.integer("heads", required: true, min: 1, max: 1024)
        let width = model.integer("width", required: true, min: 1, max: 1 << 16)
        _ = model.integer("mlpWidth", min: 1)
        _ = model.integer("slidingWindow", min: 1)
        if let heads, let width, width % heads != 0 {
            model.report("width", "expected a multiple of heads (\(heads)), got \(width)")
        }
        return context
    }

    private static func validateData(_ reader: ManifestObjectReader, _ key: String, required: Bool) {
        guard
            let items = reader.list(
                key, required: required, expected: "a list of {dataset: NAME, weight: W} or {path: DIR, weight: W}")
        else { return }
        if items.isEmpty { reader.report(key, "expected at least one dataset, got an empty list") }
        for (item, path) in items {
            let source = ManifestObjectReader(item, path: path, problems: reader.problems)
            source.rejectUnknownKeys(allowed: ["dataset", "path", "weight"])
            let name = source.string("dataset", expected: "a dataset name")
            let directory = source.string(
                "path", expected: "an absolute path or URL", isValid: { $0.hasPrefix("/") || $0.contains("://") })
            if source.has("dataset") == source.has("path") {
                source.report(
                    nil, "expected exactly one of dataset (a registered dataset name) or path (a dataset directory)")
            }
            _ = (name, directory)
            _ = source.number("weight", min: 0)
            if let weight = source.value("weight"), case .int(0) = weight.content {
                source.report("weight", "expected a weight > 0, got 0")
            }
        }
    }

    /// `evalEvery: checkpoint` and `evals: [{dataset | path, batches}]` come together (docs/training.md).
    private static func validateCheckpointEvals(_ settings: ManifestObjectReader) {
        let every = settings.choice("evalEvery", EvalEvery.allCases.map(\.rawValue))
        let items = settings.list(
            "evals", expected: "a list of {dataset: NAME, batches: N} or {path: DIR, batches: N}")
        for (item, path) in items ?? [] {
            let source = ManifestObjectReader(item, path: path, problems: settings.problems)
            source.rejectUnknownKeys(allowed: ["dataset", "path", "batches"])
            _ = source.string("dataset", expected: "a dataset name")
            _ = source.string(
                "path", expected: "an absolute path or URL", isValid: { $0.hasPrefix("/") || $0.contains("://") })
            if source.has("dataset") == source.has("path") {
                source.report(
                    nil, "expected exactly one of dataset (a registered dataset name) or path (a dataset directory)")
            }
            _ = source.integer("batches", min: 1, max: Int64(CheckpointEvalSource.maxBatches))
        }
        if every != nil, items?.isEmpty ?? true {
            settings.report(
                settings.has("evals") ? "evals" : nil,
                "evalEvery: checkpoint needs evals, the held-out datasets to evaluate: evals: [{dataset: NAME, batches: 8}]"
            )
        }
        if items != nil, !settings.has("evalEvery") {
            settings.report("evals", "evals are run at every checkpoint only with evalEvery: checkpoint; add it")
        }
    }

    /// `{job}` or `{path}`; `initFrom` also takes `{huggingFace: DIR}` (a GPT-2 directory to fine-tune from).
    private static func validateCheckpointReference(_ reader: ManifestObjectReader, allowsHuggingFace: Bool) {
        reader.rejectUnknownKeys(allowed: allowsHuggingFace ? ["job", "path", "huggingFace"] : ["job", "path"])
        _ = reader.string("job", expected: "a job name")
        _ = reader.string(
            "path", expected: "an absolute path to a .safetensors checkpoint", isValid: { $0.hasPrefix("/") })
        var given = [reader.has("job"), reader.has("path")]
        if allowsHuggingFace {
            _ = reader.string(
                "huggingFace",
                expected: "an absolute path to a Hugging Face GPT-2 directory (config.json, model.safetensors)",
                isValid: { $0.hasPrefix("/") })
            given.append(reader.has("huggingFace"))
        }
        if given.filter({ $0 }).count != 1 {
            reader.report(
                nil,
                "expected exactly one of job (an earlier job whose latest checkpoint to use) or path (a checkpoint file)"
                    + (allowsHuggingFace ? " or huggingFace (a Hugging Face GPT-2 directory)" : "")
            )
        }
    }
}

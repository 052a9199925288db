// The settings of `type: train` and `type: eval` (`spec.train`, `spec.eval`) as Codable values, shared by the
// manifest validator (APITypes), the submission-time planner (Control) and the executors (Workers), so the
// three cannot disagree on a field name. Fields marked "filled by the planner" are resolved at submission
// (dataset name → directory, `initFrom: {job}` → checkpoint file) and travel in the task spec.

import Foundation

/// The GPT shape (mirrors the engine's `GPTConfig`).
public struct TrainModelSettings: Codable, Sendable, Equatable {
    public var vocabularySize: Int
    public var contextLength: Int
    public var layers: Int
    public var heads: Int
    public var width: Int
    public var mlpWidth: Int?
    public var slidingWindow: Int?

    public init(
        vocabularySize: Int, contextLength: Int, layers: Int, heads: Int, width: Int, mlpWidth: Int? = nil,
        slidingWindow: Int? = nil
    ) {
        self.vocabularySize = vocabularySize
        self.contextLength = contextLength
        self.layers = layers
        self.heads = heads
        self.width = width
        self.mlpWidth = mlpWidth
        self.slidingWindow = slidingWindow
    }
}

/// One input of a mixture: a dataset registered in the control plane (`dataset: web`) or a dataset
/// directory holding `index.json` (`path: /data/web`), with a blend weight.
public struct TrainDataSource: Codable, Sendable, Equatable {
    public var dataset: String?
    public var path: String?
    public var weight: Double?
    /// Filled by the planner: the directory (or URL) of `dataset`.
    public var location: String?

    public init(dataset: String? = nil, path: String? = nil, weight: Double? = nil, location: String? = nil) {
        self.dataset = dataset
        self.path = path
        self.weight = weight
        self.location = location
    }

    /// Where the shards are: the resolved location, else the path.
    public var resolvedLocation: String? { location ?? path }
    public var displayName: String { dataset ?? path ?? location ?? "?" }
}

/// AdamW and the learning-rate schedule.
public struct TrainOptimizerSettings: Codable, Sendable, Equatable {
    public var learningRate: Double?
    public var minLearningRate: Double?
    public var warmupSteps: Int?
    /// cosine (default), linear, constant.
    public var schedule: String?
    public var beta1: Double?
    public var beta2: Double?
    public var weightDecay: Double?
    /// Clip the global gradient norm to this (default 1; 0 = off).
    public var gradientClip: Double?

    public init(
        learningRate: Double? = nil, minLearningRate: Double? = nil, warmupSteps: Int? = nil, schedule: String? = nil,
        beta1: Double? = nil, beta2: Double? = nil, weightDecay: Double? = nil, gradientClip: Double? = nil
    ) {
        self.learningRate = learningRate
        self.minLearningRate = minLearningRate
        self.warmupSteps = warmupSteps
        self.schedule = schedule
        self.beta1 = beta1
        self.beta2 = beta2
        self.weightDecay = weightDecay
        self.gradientClip = gradientClip
    }
}

/// A checkpoint: the latest checkpoint artifact of an earlier job (`job: pretrain`) or a file (`path:`); for
/// `initFrom` also a Hugging Face GPT-2 directory (`huggingFace:`, config.json + model.safetensors, docs/export.md).
public struct CheckpointReference: Codable, Sendable, Equatable {
    public var job: String?
    public var path: String?
    /// Filled by the planner: the artifact's location (a path or `cp://blobs/<sha256>`) and checksum.
    public var location: String?
    public var sha256: String?
    /// A directory every worker can read, as `GPT2LMHeadModel.save_pretrained` or `opsctl export --format hf` wrote it.
    public var huggingFace: String?

    public init(
        job: String? = nil, path: String? = nil, location: String? = nil, sha256: String? = nil,
        huggingFace: String? = nil
    ) {
        self.job = job
        self.path = path
        self.location = location
        self.sha256 = sha256
        self.huggingFace = huggingFace
    }

    public var resolvedLocation: String? { location ?? path }
    public var displayName: String {
        job.map { "the checkpoint of job \($0)" } ?? path ?? location
            ?? huggingFace.map { "the Hugging Face model \($0)" } ?? "?"
    }
}

/// Periodic evaluation on a held-out mixture during training.
public struct TrainEvalSettings: Codable, Sendable, Equatable {
    public var data: [TrainDataSource]
    /// Every this many steps (and at the end). Default: 10 times per run.
    public var every: Int?
    /// Batches per evaluation (default 8).
    public var batches: Int?

    public init(data: [TrainDataSource], every: Int? = nil, batches: Int? = nil) {
        self.data = data
        self.every = every
        self.batches = batches
    }
}

/// DiLoCo for `replicas > 1`.
public struct TrainDiLoCoSettings: Codable, Sendable, Equatable {
    /// H: inner AdamW steps per round (default 4).
    public var innerSteps: Int?
    /// Outer SGD learning rate (default 1: the mean of the members' weights).
    public var outerLearningRate: Double?
    /// Outer Nesterov momentum (default 0).
    public var outerMomentum: Double?
    /// Pseudo-gradients on the wire: sign (default, 0.14 bytes a parameter), int4 (0.52), bf16 (2) or fp32 (4);
    /// compressed with error feedback. Why these defaults: docs/training.md, "DiLoCo".
    public var transfer: String?
    /// How long the round waits for missing members once the first delta is in (default 300 s).
    public var roundTimeoutSeconds: Double?
    /// true: wait for a replacement instead of completing the round without a lost member.
    public var waitForAll: Bool?

    public init(
        innerSteps: Int? = nil, outerLearningRate: Double? = nil, outerMomentum: Double? = nil, transfer: String? = nil,
        roundTimeoutSeconds: Double? = nil, waitForAll: Bool? = nil
    ) {
        self.innerSteps = innerSteps
        self.outerLearningRate = outerLearningRate
        self.outerMomentum = outerMomentum
        self.transfer = transfer
        self.roundTimeoutSeconds = roundTimeoutSeconds
        self.waitForAll = waitForAll
    }
}

/// `spec.train`.
public struct TrainSettings: Codable, Sendable, Equatable {
    public var model: TrainModelSettings
    public var data: [TrainDataSource]
    /// Sequences per micro-batch per worker.
    public var batchSize: Int
    /// Tokens per sequence (default: the model's context length).
    public var sequenceLength: Int?
    /// Micro-batches per optimizer step (default 1).
    public var gradientAccumulation: Int?
    /// Optimizer steps (per worker for DiLoCo); or give `tokens`.
    public var steps: Int?
    /// Token budget over all workers; steps = tokens / (batch · sequence · accumulation · replicas).
    public var tokens: Int?
    public var optimizer: TrainOptimizerSettings?
    public var seed: Int?
    /// Checkpoint every this many steps (and at the end). Default: at the end only.
    public var checkpointEvery: Int?
    /// Store weights of checkpoints as bf16 (optimizer state stays fp32). Default false.
    public var checkpointBF16: Bool?
    /// Report metrics every this many steps (default 10).
    public var logEvery: Int?
    public var eval: TrainEvalSettings?
    public var initFrom: CheckpointReference?
    /// Compute threads (default: the task's CPUs).
    public var threads: Int?
    public var diloco: TrainDiLoCoSettings?
    /// A directory every worker of the job sees (resume state, DiLoCo rounds). Default: `training/` in the
    /// worker's file artifact store, or the work directory's parent.
    public var sharedDirectory: String?
    /// `checkpoint`: the control plane evaluates every registered checkpoint on `evals` (a backfill eval job each).
    public var evalEvery: EvalEvery? = nil
    public var evals: [CheckpointEvalSource]? = nil
    /// `true`: held pending until every `data` dataset was decontaminated against every one of `evals`
    /// (the scheduler's `DecontaminationRule`; docs/dedup.md, "Admission check").
    public var requireDecontaminated: Bool? = nil

    public init(
        model: TrainModelSettings, data: [TrainDataSource], batchSize: Int, sequenceLength: Int? = nil,
        gradientAccumulation: Int? = nil, steps: Int? = nil, tokens: Int? = nil,
        optimizer: TrainOptimizerSettings? = nil,
        seed: Int? = nil, checkpointEvery: Int? = nil, checkpointBF16: Bool? = nil, logEvery: Int? = nil,
        eval: TrainEvalSettings? = nil, initFrom: CheckpointReference? = nil, threads: Int? = nil,
        diloco: TrainDiLoCoSettings? = nil, sharedDirectory: String? = nil
    ) {
        self.model = model
        self.data = data
        self.batchSize = batchSize
        self.sequenceLength = sequenceLength
        self.gradientAccumulation = gradientAccumulation
        self.steps = steps
        self.tokens = tokens
        self.optimizer = optimizer
        self.seed = seed
        self.checkpointEvery = checkpointEvery
        self.checkpointBF16 = checkpointBF16
        self.logEvery = logEvery
        self.eval = eval
        self.initFrom = initFrom
        self.threads = threads
        self.diloco = diloco
        self.sharedDirectory = sharedDirectory
    }

    public var effectiveSequenceLength: Int { sequenceLength ?? model.contextLength }
    public var effectiveAccumulation: Int { max(1, gradientAccumulation ?? 1) }

    /// Optimizer steps per worker: `steps`, or the token budget divided over the workers.
    public func totalSteps(replicas: Int) -> Int {
        if let steps { return steps }
        let perStep = batchSize * effectiveSequenceLength * effectiveAccumulation * max(1, replicas)
        return max(1, (tokens ?? 0) / max(1, perStep))
    }
}

/// `spec.eval`.
public struct EvalSettings: Codable, Sendable, Equatable {
    public var checkpoint: CheckpointReference
    public var data: [TrainDataSource]
    /// Default: the model's context length.
    public var sequenceLength: Int?
    public var batchSize: Int?
    /// Tokens evaluated per dataset at most (default 65536).
    public var maxTokens: Int?
    /// tokenizer.json to encode prompts and decode samples (without it prompts are UTF-8 bytes, vocab 256).
    public var tokenizer: String?
    public var prompts: [String]?
    public var maxNewTokens: Int?
    public var temperature: Double?
    public var topK: Int?
    public var seed: Int?
    public var threads: Int?

    public init(
        checkpoint: CheckpointReference, data: [TrainDataSource], sequenceLength: Int? = nil, batchSize: Int? = nil,
        maxTokens: Int? = nil, tokenizer: String? = nil, prompts: [String]? = nil, maxNewTokens: Int? = nil,
        temperature: Double? = nil, topK: Int? = nil, seed: Int? = nil, threads: Int? = nil
    ) {
        self.checkpoint = checkpoint
        self.data = data
        self.sequenceLength = sequenceLength
        self.batchSize = batchSize
        self.maxTokens = maxTokens
        self.tokenizer = tokenizer
        self.prompts = prompts
        self.maxNewTokens = maxNewTokens
        self.temperature = temperature
        self.topK = topK
        self.seed = seed
        self.threads = threads
    }
}

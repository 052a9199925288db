// Turns `spec.train` (TrainSettings) into the engine's and the stream's configurations. Pure: no I/O
// except opening the datasets' index.json files when the streams are built.

import APITypes
import DataShards
import Engine
import Foundation

/// A bad spec found on the worker (never retried: another attempt would fail the same way).
func specFailure(_ message: String) -> TaskFailure { TaskFailure(message, retryable: false) }

public struct TrainingPlan: Sendable {
    public let settings: TrainSettings
    public let config: GPTConfig
    public let optimizer: AdamWConfig
    public let schedule: LearningRateSchedule
    public let sequenceLength: Int
    public let batchSize: Int
    public let accumulation: Int
    public let totalSteps: Int
    public let seed: UInt64
    public let rank: Int
    public let worldSize: Int
    /// Where remote (http/https) datasets are cached; nil when every dataset is a local path.
    public let shardCache: ShardCache?
    /// Opens one dataset location: `StreamSource.at` for directories and URLs; a worker passes
    /// `ExecutionContext.streamSource(at:weight:cache:)`, which also resolves datasets by name
    /// (`cp://datasets/<name>`) through the control plane.
    public typealias SourceOpener =
        @Sendable (_ location: String, _ weight: Double, _ cache: ShardCache?) throws ->
        StreamSource
    let openSource: SourceOpener

    public init(
        settings: TrainSettings, rank: Int = 0, worldSize: Int = 1, shardCache: ShardCache? = nil,
        openSource: @escaping SourceOpener = { try StreamSource.at($0, weight: $1, cache: $2) }
    ) throws {
        self.settings = settings
        self.shardCache = shardCache
        self.openSource = openSource
        let m = settings.model
        config = GPTConfig(
            vocabularySize: m.vocabularySize, contextLength: m.contextLength, layers: m.layers, heads: m.heads,
            width: m.width, mlpWidth: m.mlpWidth, slidingWindow: m.slidingWindow)
        do { try config.validate() } catch { throw specFailure("spec.train.model: \(error)") }
        sequenceLength = settings.effectiveSequenceLength
        guard sequenceLength >= 1, sequenceLength <= config.contextLength else {
            throw specFailure(
                "spec.train.sequenceLength: expected 1 ... \(config.contextLength) (the model's context), got \(sequenceLength)"
            )
        }
        batchSize = settings.batchSize
        accumulation = settings.effectiveAccumulation
        self.rank = rank
        self.worldSize = worldSize
        totalSteps = settings.totalSteps(replicas: worldSize)
        seed = settings.effectiveSeed
        let o = settings.optimizer ?? TrainOptimizerSettings()
        let clip = o.gradientClip ?? 1
        optimizer = AdamWConfig(
            beta1: Float(o.beta1 ?? 0.9), beta2: Float(o.beta2 ?? 0.95), epsilon: 1e-8,
            weightDecay: Float(o.weightDecay ?? 0.1), maxGradientNorm: clip > 0 ? Float(clip) : nil)
        let peak = Float(o.learningRate ?? 3e-3)
        let decay = LearningRateSchedule.Decay(rawValue: o.schedule ?? "cosine") ?? .cosine
        schedule = LearningRateSchedule(
            peak: peak, floor: Float(o.minLearningRate ?? Double(peak) * 0.1),
            warmupSteps: min(o.warmupSteps ?? min(100, totalSteps / 10), max(0, totalSteps - 1)),
            totalSteps: max(1, totalSteps), decay: decay)
        do {
            try optimizer.validate()
            try schedule.validate()
        } catch { throw specFailure("spec.train.optimizer: \(error)") }
    }

    /// Tokens one worker consumes per optimizer step.
    public var tokensPerStep: Int { batchSize * sequenceLength * accumulation }

    /// Steps between two reports of the step metrics.
    var logEverySteps: Int { max(1, settings.logEvery ?? 10) }

    /// Steps between two held-out evaluations (ten in a run by default).
    var evalEverySteps: Int { max(1, settings.eval?.every ?? max(1, totalSteps / 10)) }

    /// The model config as checkpoint artifacts carry it in their metadata.
    var modelSettingsJSON: AnyJSON { (try? AnyJSON(encoding: TrainModelSettings(config))) ?? .null }

    /// The training stream of this rank, resuming from `state`.
    public func trainingStream(resumingFrom state: StreamState = StreamState()) throws -> TokenStream {
        let sources = try sources(settings.data, field: "spec.train.data")
        let stream: TokenStream
        do {
            stream = try TokenStream(
                StreamConfiguration(
                    sources: sources, sequenceLength: sequenceLength, batchSize: batchSize,
                    seed: seed, rank: rank, worldSize: worldSize), resumingFrom: state)
        } catch { throw TaskFailure("spec.train.data: cannot open the training stream: \(error)", retryable: false) }
        let needed = Int64(batchSize * worldSize)
        guard stream.samplesPerEpoch >= needed else {
            throw specFailure(
                "spec.train.batchSize: one step needs \(needed) samples of \(sequenceLength + 1) tokens (batchSize \(batchSize) x \(worldSize) workers) but the data holds only \(stream.samplesPerEpoch); lower batchSize or sequenceLength"
            )
        }
        try checkVocabulary(sources, field: "spec.train.data")
        return stream
    }

    /// The held-out stream (rank 0 of 1, always from its beginning: the same samples at every evaluation), in
    /// batches of `batchSize` rows (default: the training batch).
    public func evaluationStream(batchSize rows: Int? = nil) throws -> TokenStream? {
        guard let eval = settings.eval else { return nil }
        let sources = try sources(eval.data, field: "spec.train.eval.data")
        do {
            return try TokenStream(
                StreamConfiguration(
                    sources: sources, sequenceLength: sequenceLength, batchSize: rows ?? batchSize,
                    seed: seed &+ 1, rank: 0, worldSize: 1))
        } catch {
            throw TaskFailure("spec.train.eval.data: cannot open the evaluation stream: \(error)", retryable: false)
        }
    }

    /// The held-out batches of `rows` rows each (the first `eval.batches` of the evaluation stream, the same at
    /// every evaluation); nil without `eval`.
    func evaluationBatches(rows: Int) throws -> [[Int32]]? {
        try evaluationStream(batchSize: rows).map { try heldOutBatches($0, count: settings.eval?.batches ?? 8) }
    }

    private func checkVocabulary(_ sources: [StreamSource], field: String) throws {
        for source in sources where source.index.vocabularySize > config.vocabularySize {
            throw specFailure(
                "\(field): dataset \(source.index.name) has vocabulary size \(source.index.vocabularySize), larger than model.vocabularySize \(config.vocabularySize)"
            )
        }
    }

    func sources(_ data: [TrainDataSource], field: String) throws -> [StreamSource] {
        try Self.sources(data, field: field, cache: shardCache, open: openSource)
    }

    static func sources(_ data: [TrainDataSource], field: String, cache: ShardCache?, open: SourceOpener) throws
        -> [StreamSource]
    {
        guard !data.isEmpty else { throw specFailure("\(field): expected at least one dataset") }
        return try data.enumerated().map { offset, item in
            guard let location = item.resolvedLocation else {
                throw specFailure(
                    "\(field)[\(offset)]: dataset \(item.displayName) was not resolved to a location (submit through the control plane, or give path:)"
                )
            }
            do { return try open(location, item.weight ?? 1, cache) } catch let failure as TaskFailure {
                throw TaskFailure(
                    "\(field)[\(offset)]: dataset \(item.displayName): \(failure.message)",
                    retryable: failure.retryable,
                    details: failure.details)
            } catch {
                throw TaskFailure(
                    "\(field)[\(offset)]: cannot open dataset \(item.displayName) at \(location): \(error)",
                    retryable: false)
            }
        }
    }
}

extension TokenStream {
    /// The next optimizer step's micro-batches (each B x (T+1) tokens) and the stream state after them.
    func nextStep(microbatches: Int) throws -> (batches: [[Int32]], stateAfter: StreamState) {
        var batches: [[Int32]] = []
        var state = self.state
        for _ in 0..<microbatches {
            let batch = try nextBatch()
            batches.append(batch.tokens)
            state = batch.stateAfter
        }
        return (batches, state)
    }
}

/// The first `count` batches of a held-out stream (evaluated again at every evaluation: same samples).
func heldOutBatches(_ stream: TokenStream, count: Int) throws -> [[Int32]] {
    var batches: [[Int32]] = []
    for _ in 0..<max(1, count) {
        guard let batch = try? stream.nextBatch() else { break }
        batches.append(batch.tokens)
    }
    guard !batches.isEmpty else { throw specFailure("spec.train.eval.data: the held-out data holds no complete batch") }
    return batches
}

/// Mean loss of `model` over held-out batches of `batchSize` rows.
func meanLoss(model: GPTModel, batches: [[Int32]], batchSize: Int) throws -> Double {
    var total = 0.0
    for batch in batches { total += Double(try model.loss(batch: batch, batchSize: batchSize)) }
    return total / Double(max(1, batches.count))
}

/// Stream states travel in checkpoints as JSON strings.
enum StreamStateCoding {
    static func encode(_ state: StreamState) -> String {
        (try? String(decoding: JSONEncoder().encode(state), as: UTF8.self)) ?? ""
    }
    static func decode(_ text: String) -> StreamState? {
        guard !text.isEmpty else { return nil }
        return try? JSONDecoder().decode(StreamState.self, from: Data(text.utf8))
    }
}

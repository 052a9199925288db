import Foundation

/// A checkpoint on disk: a safetensors file with the model tensors (names from `GPTModel.tensors`),
/// optionally the AdamW moments (`optimizer.m.<name>`, `optimizer.v.<name>`, always F32) and caller
/// tensors, and `__metadata__` holding the model config, step, optimizer and schedule (JSON strings) and
/// the opaque data-stream state.
public struct Checkpoint: Sendable {
    public static let formatName = "llm-ops-gpt/1"

    enum Key {
        static let format = "format", config = "config", step = "step", optimizer = "optimizer"
        static let optimizerUpdates = "optimizer_updates", schedule = "schedule", dataState = "data_state"
        static let reserved: Set<String> = [format, config, step, optimizer, optimizerUpdates, schedule, dataState]
    }

    public let path: String
    public let config: GPTConfig
    /// Optimizer steps completed when the checkpoint was written.
    public let step: Int
    /// The data-stream state the caller passed when saving ("" if none).
    public let dataState: String
    public let optimizerConfig: AdamWConfig?
    public let schedule: LearningRateSchedule?
    /// Caller metadata (everything in __metadata__ that the engine does not reserve).
    public let userMetadata: [String: String]
    public let file: Safetensors.File

    /// Whether the checkpoint carries AdamW moments (needed to resume training exactly).
    public var hasOptimizerState: Bool { file.entries["optimizer.m.tok_emb.weight"] != nil }

    /// Opens and validates a checkpoint written by the engine.
    public init(path: String) throws(EngineError) {
        let file = try Safetensors.File(path: path)
        let meta = file.metadata
        guard meta[Key.format] == Checkpoint.formatName else {
            throw .invalidCheckpoint(
                path: path,
                reason: "metadata format is \(meta[Key.format] ?? "absent"); expected \(Checkpoint.formatName)")
        }
        func decode<T: Decodable>(_ type: T.Type, _ key: String) throws(EngineError) -> T? {
            guard let text = meta[key] else { return nil }
            do {
                return try JSONDecoder().decode(T.self, from: Data(text.utf8))
            } catch {
                throw .invalidCheckpoint(path: path, reason: "metadata \(key) is not a valid \(T.self): \(error)")
            }
        }
        guard let config = try decode(GPTConfig.self, Key.config) else {
            throw .invalidCheckpoint(path: path, reason: "metadata has no model config")
        }
        do { try config.validate() } catch { throw .invalidCheckpoint(path: path, reason: "model config: \(error)") }
        guard let step = Int(meta[Key.step] ?? "") else {
            throw .invalidCheckpoint(path: path, reason: "metadata step is missing or not an integer")
        }
        let layout = ParameterLayout(config: config)
        for slot in layout.slots {
            guard let entry = file.entries[slot.name] else {
                throw .invalidCheckpoint(path: path, reason: "missing tensor \(slot.name)")
            }
            guard entry.shape == slot.shape else {
                throw .invalidCheckpoint(
                    path: path, reason: "tensor \(slot.name) has shape \(entry.shape); the config needs \(slot.shape)")
            }
        }
        self.path = path
        self.config = config
        self.step = step
        self.dataState = meta[Key.dataState] ?? ""
        self.optimizerConfig = try decode(AdamWConfig.self, Key.optimizer)
        self.schedule = try decode(LearningRateSchedule.self, Key.schedule)
        self.userMetadata = meta.filter { !Key.reserved.contains($0.key) }
        self.file = file
    }

    /// The model with the checkpoint's weights.
    public func loadModel(threads: Int = 1) throws(EngineError) -> GPTModel {
        let model = try GPTModel(config: config, threads: threads, seed: nil)
        try model.load(from: self)
        return model
    }

    /// A trainer that continues exactly where the checkpoint left off (needs optimizer state).
    public func loadTrainer(threads: Int = 1) throws(EngineError) -> Trainer {
        guard let optimizerConfig, let schedule, hasOptimizerState else {
            throw .invalidCheckpoint(
                path: path,
                reason:
                    "it holds weights only (no optimizer state or schedule) and cannot resume training; load the model and start a new Trainer instead"
            )
        }
        let trainer = try Trainer(
            model: try loadModel(threads: threads), optimizer: optimizerConfig, schedule: schedule)
        let m = trainer.optimizer.firstMoment.baseAddress!
        let v = trainer.optimizer.secondMoment.baseAddress!
        for slot in trainer.model.tensors {
            let first = try file.values("optimizer.m." + slot.name)
            let second = try file.values("optimizer.v." + slot.name)
            guard first.count == slot.count, second.count == slot.count else {
                throw .invalidCheckpoint(
                    path: path, reason: "optimizer moments of \(slot.name) do not match its shape \(slot.shape)")
            }
            (m + slot.offset).update(from: first, count: slot.count)
            (v + slot.offset).update(from: second, count: slot.count)
        }
        trainer.optimizer.updates = Int(file.metadata[Key.optimizerUpdates] ?? "") ?? step
        trainer.step = step
        return trainer
    }

    /// Values of any tensor in the file (model, optimizer or caller tensors).
    public func tensor(named name: String) throws(EngineError) -> [Float] { try file.values(name) }
}

extension GPTModel {
    /// Replaces the weights with the checkpoint's (the configs must match).
    public func load(from checkpoint: Checkpoint) throws(EngineError) {
        guard checkpoint.config == config else {
            throw .invalidCheckpoint(
                path: checkpoint.path, reason: "its model config \(checkpoint.config) does not match \(config)")
        }
        for slot in tensors {
            let values = try checkpoint.file.values(slot.name)
            (parameters.baseAddress! + slot.offset).update(from: values, count: slot.count)
        }
    }

    func namedTensors(dtype: TensorDType) -> [NamedTensor] {
        tensors.map { slot in
            NamedTensor(
                name: slot.name, shape: slot.shape,
                values: Array(parameters[slot.offset..<(slot.offset + slot.count)]), dtype: dtype)
        }
    }

    /// Writes a weights-only checkpoint (for evaluation, sampling or fine-tuning).
    public func save(
        to path: String, step: Int = 0, weightsAs dtype: TensorDType = .float32,
        dataState: String = "", metadata: [String: String] = [:],
        extraTensors: [NamedTensor] = []
    ) throws(EngineError) {
        var meta = metadata.filter { !Checkpoint.Key.reserved.contains($0.key) }
        meta[Checkpoint.Key.format] = Checkpoint.formatName
        meta[Checkpoint.Key.config] = jsonString(config)
        meta[Checkpoint.Key.step] = String(step)
        meta[Checkpoint.Key.dataState] = dataState
        try Safetensors.write(namedTensors(dtype: dtype) + extraTensors, metadata: meta, to: path)
    }
}

extension Trainer {
    /// Writes model, AdamW moments, schedule, step and `dataState` (resumable bit for bit when the
    /// weights are fp32). `extraTensors`/`metadata` carry caller state such as a DiLoCo outer momentum.
    public func save(
        to path: String, dataState: String = "", weightsAs dtype: TensorDType = .float32,
        metadata: [String: String] = [:], extraTensors: [NamedTensor] = []
    ) throws(EngineError) {
        var meta = metadata.filter { !Checkpoint.Key.reserved.contains($0.key) }
        meta[Checkpoint.Key.format] = Checkpoint.formatName
        meta[Checkpoint.Key.config] = jsonString(model.config)
        meta[Checkpoint.Key.step] = String(step)
        meta[Checkpoint.Key.dataState] = dataState
        meta[Checkpoint.Key.optimizer] = jsonString(optimizer.config)
        meta[Checkpoint.Key.optimizerUpdates] = String(optimizer.updates)
        meta[Checkpoint.Key.schedule] = jsonString(schedule)
        var tensors = model.namedTensors(dtype: dtype)
        for slot in model.tensors {
            let range = slot.offset..<(slot.offset + slot.count)
            tensors.append(
                NamedTensor(
                    name: "optimizer.m." + slot.name, shape: slot.shape,
                    values: Array(optimizer.firstMoment[range])))
            tensors.append(
                NamedTensor(
                    name: "optimizer.v." + slot.name, shape: slot.shape,
                    values: Array(optimizer.secondMoment[range])))
        }
        try Safetensors.write(tensors + extraTensors, metadata: meta, to: path)
    }
}

func jsonString<T: Encodable>(_ value: T) -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    // Encoding plain config structs cannot fail.
    return String(decoding: (try? encoder.encode(value)) ?? Data("{}".utf8), as: UTF8.self)
}

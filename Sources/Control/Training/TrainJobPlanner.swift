// Submission-time checks and resolution for `type: train` and `type: eval`, so a bad spec fails at
// `opsctl apply` instead of hours later on a worker:
// - `dataset: NAME` must be registered (DatasetStore); its location goes into the task spec;
// - a dataset directory we can read (index.json) must hold at least one step's samples
//   (batchSize x replicas sequences of sequenceLength + 1 tokens) and fit the model's vocabulary;
// - `initFrom: {job: X}` / `checkpoint: {job: X}`: X's newest checkpoint artifact (its location and checksum go
//   into the task spec; its recorded model config must match); when X has none yet but is listed in `after:`
//   it is resolved by the worker when the task runs; `{path: P}`: the file must open as the worker will open it
//   (Engine's `Checkpoint`: safetensors header checked against the file, format, every model tensor's shape) and
//   its config must match. A crafted header used to pass apply and then trap the worker (issue 22.5);
//   `{huggingFace: DIR}`: DIR's config.json must be a GPT-2 the engine computes, of the spec's model.
// Problems are reported as `StoreError.invalid` naming the field (HTTP 422 with the message).

import APITypes
import Engine
import Foundation

public struct TrainJobPlanner: JobPlanner {
    let datasets: DatasetStore
    let jobs: JobStore
    let artifacts: ArtifactCatalog

    public init(store: ControlStore) {
        datasets = store.datasets
        jobs = store.jobs
        artifacts = store.artifacts
    }

    /// Registers the train and eval planners.
    public static func register(in planners: JobPlanners, store: ControlStore) {
        let planner = TrainJobPlanner(store: store)
        planners.register(planner, forKind: TrainJobKinds.trainName)
        planners.register(planner, forKind: TrainJobKinds.evalName)
    }

    public func taskSpecs(for manifest: JobManifest) throws -> [AnyJSON] {
        let spec = manifest.spec
        let raw: AnyJSON = try spec.settings.map { try AnyJSON(encoding: $0) } ?? .object([:])
        let count = spec.replicas > 1 ? spec.replicas : 1
        if spec.type == TrainJobKinds.evalName {
            var settings = try decode(EvalSettings.self, raw, field: "spec.eval")
            settings.data = try resolve(settings.data, field: "spec.eval.data", check: nil, after: spec.after)
            settings.checkpoint = try resolve(
                settings.checkpoint, field: "spec.eval.checkpoint", model: nil, after: spec.after)
            return Array(repeating: try AnyJSON(encoding: settings), count: count)
        }
        var settings = try decode(TrainSettings.self, raw, field: "spec.train")
        let sequence = settings.effectiveSequenceLength
        let needed = settings.batchSize * count
        let check = DataCheck(
            sequenceLength: sequence, samplesNeeded: needed, vocabularySize: settings.model.vocabularySize,
            batchSize: settings.batchSize, replicas: count)
        settings.data = try resolve(settings.data, field: "spec.train.data", check: check, after: spec.after)
        if var eval = settings.eval {
            eval.data = try resolve(
                eval.data, field: "spec.train.eval.data",
                check: DataCheck(
                    sequenceLength: sequence, samplesNeeded: 1, vocabularySize: settings.model.vocabularySize,
                    batchSize: 1, replicas: 1), after: spec.after)
            settings.eval = eval
        }
        if let evals = settings.evals {
            // Resolved now, so every checkpoint's eval job reads what the run was submitted with.
            let sources = try resolve(
                evals.map(\.dataSource), field: "spec.train.evals",
                check: DataCheck(
                    sequenceLength: sequence, samplesNeeded: 1, vocabularySize: settings.model.vocabularySize,
                    batchSize: 1, replicas: 1), after: spec.after)
            settings.evals = zip(evals, sources).map { eval, source in
                var eval = eval
                eval.location = source.location
                return eval
            }
        }
        if let initFrom = settings.initFrom {
            settings.initFrom = try resolve(
                initFrom, field: "spec.train.initFrom", model: settings.model, after: spec.after)
        }
        return Array(repeating: try AnyJSON(encoding: settings), count: count)
    }

    private func decode<T: Decodable>(_ type: T.Type, _ value: AnyJSON, field: String) throws -> T {
        do { return try value.decode(as: T.self) } catch {
            throw StoreError.invalid(field: field, message: WireCoding.describe(error))
        }
    }

    // MARK: Datasets

    struct DataCheck {
        let sequenceLength: Int
        let samplesNeeded: Int
        let vocabularySize: Int
        let batchSize: Int
        let replicas: Int
    }

    /// Resolves dataset names to locations. A job that runs `after:` others may name a dataset one of them will
    /// register: it is planned as a dataset by name (`cp://datasets/<name>`), which the worker looks up when the
    /// task runs (the size check then happens on the worker).
    private func resolve(_ sources: [TrainDataSource], field: String, check: DataCheck?, after: [String]) throws
        -> [TrainDataSource]
    {
        var resolved: [TrainDataSource] = []
        var samples = 0
        var readable = true
        for (offset, var source) in sources.enumerated() {
            let path = "\(field)[\(offset)]"
            if let name = source.dataset {
                guard let record = try datasets.dataset(named: name) else {
                    if !after.isEmpty {
                        source.location = DatasetByName.location(name)
                        resolved.append(source)
                        readable = false
                        continue
                    }
                    let known = (try? datasets.list().map(\.name)) ?? []
                    throw StoreError.invalid(
                        field: "\(path).dataset",
                        message: "unknown dataset \"\(name)\""
                            + (known.isEmpty
                                ? " (no datasets are registered yet"
                                : " (registered: \(known.prefix(20).joined(separator: ", "))")
                            + "); if a job of this pipeline produces it, list that job in after:")
                }
                source.location = record.location
            }
            let location = source.resolvedLocation ?? ""
            if let summary = DatasetSummary.read(location: location) {
                if let check, summary.vocabularySize > check.vocabularySize {
                    throw StoreError.invalid(
                        field: path,
                        message:
                            "dataset \(source.displayName) has vocabulary size \(summary.vocabularySize), larger than model.vocabularySize \(check.vocabularySize)"
                    )
                }
                samples += summary.samples(sequenceLength: check?.sequenceLength ?? 1)
            } else {
                readable = false
            }
            resolved.append(source)
        }
        if let check, readable, samples < check.samplesNeeded {
            throw StoreError.invalid(
                field: field,
                message:
                    "one step needs \(check.samplesNeeded) sequences of \(check.sequenceLength + 1) tokens (batchSize \(check.batchSize) x \(check.replicas) replicas) but the data holds only \(samples); lower batchSize or sequenceLength, or add data"
            )
        }
        return resolved
    }

    // MARK: Checkpoints

    private func resolve(_ reference: CheckpointReference, field: String, model: TrainModelSettings?, after: [String])
        throws -> CheckpointReference
    {
        var reference = reference
        if let directory = reference.huggingFace {
            try Self.checkHuggingFaceDirectory(directory, field: field, model: model)
            return reference
        }
        if let path = reference.path {
            try Self.checkCheckpointFile(path, field: field, model: model)
            return reference
        }
        guard let job = reference.job else { return reference }
        guard let record = try jobs.job(named: job) else {
            if after.contains(job) { return reference }
            throw StoreError.invalid(
                field: "\(field).job",
                message: "unknown job \"\(job)\" (submit it first, or list it in after: when this file submits it)")
        }
        guard let newest = Self.newestCheckpoint(try artifacts.list(job: record.id)) else {
            if after.contains(job) { return reference } // it will have one when it succeeds; the worker resolves it
            throw StoreError.invalid(
                field: "\(field).job",
                message: "job \"\(job)\" has no checkpoint artifact (yet); list it in after: to wait for it")
        }
        if let model, let config = Self.modelConfig(fromMetadata: newest.metadata) {
            try Self.requireMatch(config, model, field: field, what: "the checkpoint \(newest.name) of job \(job)")
        }
        reference.location = newest.location
        reference.sha256 = newest.sha256
        return reference
    }

    /// A `{path}` checkpoint is opened as the worker will open it, so a crafted, truncated or foreign file is
    /// refused here with the reason (`checkpoint P is not usable: tensor T has shape [...]...`). The weights are
    /// not read: NaN is found by the worker when it loads them (scanning gigabytes here would hold up apply).
    static func checkCheckpointFile(_ path: String, field: String, model: TrainModelSettings?) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw StoreError.invalid(field: "\(field).path", message: "no checkpoint file at \(path)")
        }
        let checkpoint: Checkpoint
        do { checkpoint = try Checkpoint(path: path) } catch {
            throw StoreError.invalid(field: "\(field).path", message: "\(error)")
        }
        if let model { try requireMatch(settings(of: checkpoint.config), model, field: field, what: path) }
    }

    /// A `{huggingFace}` directory's config.json is read as the worker will read it (a GPT-2 the engine computes
    /// exactly, with model.safetensors beside it) and must describe the spec's model; the weights are read by the
    /// worker.
    static func checkHuggingFaceDirectory(_ directory: String, field: String, model: TrainModelSettings?) throws {
        let config: GPTConfig
        do { config = try HuggingFaceGPT2.config(directory: directory) } catch {
            throw StoreError.invalid(field: "\(field).huggingFace", message: "\(error)")
        }
        let weights = (directory as NSString).appendingPathComponent(HuggingFaceGPT2.weightsFileName)
        guard FileManager.default.fileExists(atPath: weights) else {
            throw StoreError.invalid(
                field: "\(field).huggingFace",
                message:
                    "no \(HuggingFaceGPT2.weightsFileName) in \(directory) (the weights must be one safetensors file)")
        }
        if let model {
            try requireMatch(settings(of: config), model, field: field, what: "the Hugging Face model \(directory)")
        }
    }

    private static func settings(of config: GPTConfig) -> TrainModelSettings {
        TrainModelSettings(
            vocabularySize: config.vocabularySize, contextLength: config.contextLength, layers: config.layers,
            heads: config.heads, width: config.width, mlpWidth: config.mlpWidth, slidingWindow: config.slidingWindow)
    }

    /// The checkpoint artifact of the highest step among `artifacts` (a run's or a DiLoCo gang's).
    static func newestCheckpoint(_ artifacts: [StoredArtifact]) -> StoredArtifact? {
        artifacts.filter { $0.kind == "checkpoint" }.max { step(of: $0) < step(of: $1) }
    }

    private static func step(of artifact: StoredArtifact) -> Int64 {
        guard let data = artifact.metadata.data(using: .utf8),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return -1 }
        return (object["step"] as? NSNumber)?.int64Value ?? -1
    }

    static func modelConfig(fromMetadata metadata: String) -> TrainModelSettings? {
        guard let data = metadata.data(using: .utf8),
            let object = try? JSONDecoder().decode([String: AnyJSON].self, from: data),
            let config = object["config"]
        else { return nil }
        return try? config.decode(as: TrainModelSettings.self)
    }

    private static func requireMatch(
        _ found: TrainModelSettings, _ wanted: TrainModelSettings, field: String, what: String
    ) throws {
        func normal(_ m: TrainModelSettings) -> TrainModelSettings {
            var m = m
            m.mlpWidth = m.mlpWidth ?? 4 * m.width
            return m
        }
        guard normal(found) == normal(wanted) else {
            throw StoreError.invalid(
                field: field,
                message:
                    "\(what) has model \(Self.describe(normal(found))), the spec's model is \(Self.describe(normal(wanted))); use the same spec.train.model"
            )
        }
    }

    static func describe(_ m: TrainModelSettings) -> String {
        "{vocabularySize: \(m.vocabularySize), contextLength: \(m.contextLength), layers: \(m.layers), heads: \(m.heads), width: \(m.width), mlpWidth: \(m.mlpWidth ?? 4 * m.width)\(m.slidingWindow.map { ", slidingWindow: \($0)" } ?? "")}"
    }
}

/// What the planner needs from a dataset directory's index.json (read without the DataShards module).
struct DatasetSummary: Decodable {
    struct Shard: Decodable { let tokens: Int64 }
    let vocabularySize: Int
    let shards: [Shard]

    /// Packed samples of T + 1 tokens with stride T (the stream's packing), summed as one run.
    func samples(sequenceLength: Int) -> Int {
        let tokens = shards.reduce(Int64(0)) { $0 + $1.tokens }
        guard tokens > Int64(sequenceLength) else { return 0 }
        return Int((tokens - 1) / Int64(sequenceLength))
    }

    static func read(location: String) -> DatasetSummary? {
        let directory = location.hasPrefix("file://") ? String(location.dropFirst("file://".count)) : location
        guard directory.hasPrefix("/"),
            let data = FileManager.default.contents(
                atPath: (directory as NSString).appendingPathComponent("index.json"))
        else { return nil }
        return try? JSONDecoder().decode(DatasetSummary.self, from: data)
    }
}

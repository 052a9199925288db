// Plans `stream` jobs: resolves the input datasets (by name through the control plane's records, or by
// location), splits the mixture's sample positions into one task per output shard
// (`StreamMaterializer.plan`), and, in verify mode, splits a dataset's shards over tasks.
// Problems are `StoreError.invalid` naming the manifest field, so `opsctl apply` gets a 400 that says what to fix.

import APITypes
import DataShards
import Foundation

public struct StreamPlanner: JobPlanner {
    /// The stores used to resolve dataset names; nil plans only datasets given by location (unit tests).
    let datasets: DatasetStore?
    let shards: ShardStore?
    /// The job runs `after:` others, so a dataset it names may be written by one of them: an unregistered name
    /// is then planned as a dataset by name (`cp://datasets/<name>`), which the worker looks up when it runs.
    var namesMayComeLater = false

    public init(datasets: DatasetStore? = nil, shards: ShardStore? = nil) {
        self.datasets = datasets
        self.shards = shards
    }

    public func taskSpecs(for manifest: JobManifest) throws -> [AnyJSON] {
        let kind = manifest.spec.type
        let field = "spec.\(kind)"
        guard let value = manifest.spec.settings else {
            throw StoreError.invalid(field: field, message: "missing settings for job type \"\(kind)\"")
        }
        let settings: StreamSettings
        do { settings = try value.decode(StreamSettings.self) } catch {
            throw StoreError.invalid(field: field, message: "cannot be read: \(error)")
        }
        var planner = self
        planner.namesMayComeLater = !manifest.spec.after.isEmpty
        if kind == StreamJobKinds.verifyName || settings.isVerify {
            return try planner.verifyTasks(settings, field: field).map { try AnyJSON(encoding: $0) }
        }
        return try planner.materializeTasks(settings, field: field).map { try AnyJSON(encoding: $0) }
    }

    // MARK: Materialize

    func materializeTasks(_ settings: StreamSettings, field: String) throws -> [StreamTaskSpec] {
        guard let inputs = settings.inputs, !inputs.isEmpty else {
            throw StoreError.invalid(
                field: "\(field).inputs", message: "expected a non-empty list of {dataset|location, weight}")
        }
        guard let sequenceLength = settings.sequenceLength, sequenceLength >= 1 else {
            throw StoreError.invalid(field: "\(field).sequenceLength", message: "expected an integer >= 1")
        }
        guard let output = settings.output else {
            throw StoreError.invalid(
                field: "\(field).output", message: "missing required field (expected {dataset, location})")
        }
        let resolved = try inputs.enumerated().map { i, input in
            let (name, location) = try resolve(
                dataset: input.dataset, location: input.location, field: "\(field).inputs[\(i)]")
            return StreamTaskInput(dataset: name, location: location, weight: input.weight ?? 1)
        }
        if let clash = resolved.firstIndex(where: { $0.dataset == output.dataset }) {
            throw StoreError.invalid(
                field: "\(field).output.dataset",
                message:
                    "\"\(output.dataset)\" is also input \(clash) of the mixture; write the mixture to a new dataset name"
            )
        }
        let directory =
            (output.location.hasSuffix("/") ? String(output.location.dropLast()) : output.location) + "/"
            + output.dataset
        // A dataset of that name elsewhere is another dataset; at the same directory it is this job's own
        // output (re-applied or resubmitted), whose shards the exactly-once commit keeps consistent.
        if let datasets, let existing = try datasets.dataset(named: output.dataset), existing.location != directory {
            throw StoreError.invalid(
                field: "\(field).output.dataset",
                message:
                    "a dataset named \"\(output.dataset)\" already exists at \(existing.location) (opsctl get datasets); choose a new name for the mixture"
            )
        }
        let totalSamples: Int64
        if let samples = settings.samples {
            totalSamples = samples
        } else if let tokens = settings.tokens {
            totalSamples = (tokens + Int64(sequenceLength) - 1) / Int64(sequenceLength)
        } else {
            throw StoreError.invalid(field: field, message: "expected exactly one of samples or tokens")
        }
        guard totalSamples >= 1 else {
            throw StoreError.invalid(field: "\(field).samples", message: "expected at least 1 sample")
        }
        let perShard = settings.samplesPerShard ?? StreamSettings.defaultSamplesPerShard
        guard perShard >= 1 else {
            throw StoreError.invalid(field: "\(field).samplesPerShard", message: "expected an integer >= 1")
        }
        let slices = StreamMaterializer.plan(totalSamples: totalSamples, samplesPerShard: perShard)
        guard slices.count <= StreamSettings.maxTasks else {
            throw StoreError.invalid(
                field: "\(field).samplesPerShard",
                message:
                    "\(totalSamples) samples in shards of \(perShard) make \(slices.count) tasks, more than \(StreamSettings.maxTasks); raise samplesPerShard"
            )
        }
        return slices.map { slice in
            StreamTaskSpec(
                inputs: resolved, sequenceLength: sequenceLength, seed: settings.seed ?? 0,
                shuffleWindow: settings.shuffleWindow ?? 4096, shardIndex: slice.index, shardCount: slices.count,
                start: slice.positions.lowerBound, end: slice.positions.upperBound, totalSamples: totalSamples,
                outputDataset: output.dataset, outputDirectory: directory, cacheDirectory: settings.cacheDirectory)
        }
    }

    // MARK: Verify

    func verifyTasks(_ settings: StreamSettings, field: String) throws -> [VerifyTaskSpec] {
        let (name, location) = try resolve(
            dataset: settings.dataset, location: settings.location, field: field, refuseBadShards: false)
        let perTask = settings.shardsPerTask ?? StreamSettings.defaultShardsPerTask
        guard perTask >= 1 else {
            throw StoreError.invalid(field: "\(field).shardsPerTask", message: "expected an integer >= 1")
        }
        // How many shards: the local index when the control plane sees it, else the recorded shards;
        // a remote dataset not recorded here is checked by one task.
        var count: Int?
        if let local = Self.localDirectory(location) {
            count = try Self.loadIndex(
                local, field: settings.location != nil ? "\(field).location" : "\(field).dataset"
            ).shards.count
        } else if let name, let datasets, let shards, let record = try datasets.dataset(named: name) {
            count = try shards.list(dataset: record.id).count
        }
        let parts = max(1, min(StreamSettings.maxTasks, ((count ?? 1) + perTask - 1) / perTask))
        return (0..<parts).map {
            VerifyTaskSpec(
                dataset: name, location: location, part: $0, parts: parts, cacheDirectory: settings.cacheDirectory)
        }
    }

    // MARK: Resolution

    /// The dataset's control-plane name (when registered) and location. A name must be registered; a
    /// local location must hold an index.json the control plane can read.
    func resolve(dataset: String?, location: String?, field: String, refuseBadShards: Bool = true) throws -> (
        String?, String
    ) {
        if let dataset {
            guard let datasets else {
                throw StoreError.invalid(
                    field: "\(field).dataset",
                    message: "datasets cannot be resolved by name here; give location instead")
            }
            guard let record = try datasets.dataset(named: dataset) else {
                if namesMayComeLater { return (dataset, DatasetByName.location(dataset)) }
                throw StoreError.invalid(
                    field: "\(field).dataset",
                    message:
                        "no dataset named \"\(dataset)\" is registered (opsctl get datasets lists them); tokenize it first or give its location"
                )
            }
            if refuseBadShards, let shards {
                let bad = try shards.list(dataset: record.id, state: .bad)
                if !bad.isEmpty {
                    throw StoreError.invalid(
                        field: "\(field).dataset",
                        message:
                            "dataset \"\(dataset)\" has \(bad.count) shard(s) marked bad (\(bad.prefix(3).map { "\($0.index): \($0.badReason ?? "bad")" }.joined(separator: "; "))); repair or re-create it before streaming from it (opsctl get shards \(dataset))"
                    )
                }
            }
            return (dataset, record.location)
        }
        guard let location else {
            throw StoreError.invalid(field: field, message: "expected exactly one of dataset or location")
        }
        if let local = Self.localDirectory(location) {
            _ = try Self.loadIndex(local, field: "\(field).location")
        }
        var name: String?
        if let datasets, let local = Self.localDirectory(location) {
            // A location that is a registered dataset's directory: use its name (its shards can be marked bad).
            name = try datasets.list().first { $0.location == local || $0.location == location }?.name
        }
        return (name, location)
    }

    /// The directory of a local or `file://` location; nil for http(s) and datasets by name.
    static func localDirectory(_ location: String) -> String? {
        let lower = location.lowercased()
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") { return nil }
        if DatasetByName.name(of: location) != nil { return nil }
        if lower.hasPrefix("file://") { return String(location.dropFirst("file://".count)) }
        return location
    }

    static func loadIndex(_ directory: String, field: String) throws -> DatasetIndex {
        do {
            return try LocalShardLocator(directory: directory).loadIndex()
        } catch {
            throw StoreError.invalid(
                field: field,
                message:
                    "cannot read the dataset at \(directory) on the control plane's filesystem (\(error)); datasets must be on a filesystem the control plane and every worker see at the same path"
            )
        }
    }
}

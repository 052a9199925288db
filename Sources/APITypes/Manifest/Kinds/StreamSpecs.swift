// Settings of the `stream` and `verify` job kinds as the control plane's planner reads them, and the
// per-task specs the planner hands to the workers' executors (JSON in the task row).

import Foundation

/// `spec.stream` (also the settings of `spec.verify`, which uses only the verify fields).
public struct StreamSettings: Codable, Sendable, Equatable {
    public struct Input: Codable, Sendable, Equatable {
        /// A dataset registered in the control plane (resolved to its location at submission).
        public var dataset: String?
        /// Or a dataset directory, `file://` or `http(s)://` URL with an `index.json`.
        public var location: String?
        public var weight: Double?
    }

    public struct Output: Codable, Sendable, Equatable {
        public var dataset: String
        /// Parent directory: shards go to `<location>/<dataset>/`.
        public var location: String
    }

    public var mode: String?
    public var inputs: [Input]?
    public var sequenceLength: Int?
    public var seed: UInt64?
    public var samples: Int64?
    public var tokens: Int64?
    public var samplesPerShard: Int64?
    public var shuffleWindow: Int?
    public var output: Output?
    /// Verify mode: the dataset to check (by name or location).
    public var dataset: String?
    public var location: String?
    public var shardsPerTask: Int?
    /// Local cache directory for remote (http) datasets; default: a `shard-cache` directory in the worker's work directory.
    public var cacheDirectory: String?

    public static let defaultSamplesPerShard: Int64 = 16_384
    public static let defaultShardsPerTask = 4
    public static let maxTasks = 10_000

    public var isVerify: Bool { mode == StreamSettings.verifyMode }
    public static let materializeMode = "materialize"
    public static let verifyMode = "verify"
}

/// One dataset of a mixture, resolved: where the worker reads it.
public struct StreamTaskInput: Codable, Sendable, Equatable {
    /// The control plane's name of the dataset when it is registered (used to mark its shards bad).
    public var dataset: String?
    public var location: String
    public var weight: Double

    public init(dataset: String?, location: String, weight: Double) {
        self.dataset = dataset
        self.location = location
        self.weight = weight
    }
}

/// What one `stream` (materialize) task does: write the global sample positions `start..<end` of the
/// mixture as shard `index` of the output dataset.
public struct StreamTaskSpec: Codable, Sendable, Equatable {
    public static let kind = "stream-materialize"
    public var kind: String = StreamTaskSpec.kind
    public var inputs: [StreamTaskInput]
    public var sequenceLength: Int
    public var seed: UInt64
    public var shuffleWindow: Int
    public var shardIndex: Int
    public var shardCount: Int
    public var start: Int64
    public var end: Int64
    public var totalSamples: Int64
    public var outputDataset: String
    /// The output dataset's directory (`<output.location>/<output.dataset>`).
    public var outputDirectory: String
    public var cacheDirectory: String?

    public init(
        inputs: [StreamTaskInput], sequenceLength: Int, seed: UInt64, shuffleWindow: Int, shardIndex: Int,
        shardCount: Int,
        start: Int64, end: Int64, totalSamples: Int64, outputDataset: String, outputDirectory: String,
        cacheDirectory: String?
    ) {
        self.inputs = inputs
        self.sequenceLength = sequenceLength
        self.seed = seed
        self.shuffleWindow = shuffleWindow
        self.shardIndex = shardIndex
        self.shardCount = shardCount
        self.start = start
        self.end = end
        self.totalSamples = totalSamples
        self.outputDataset = outputDataset
        self.outputDirectory = outputDirectory
        self.cacheDirectory = cacheDirectory
    }
}

/// What one verify task does: re-check the shards of a dataset whose position in its `index.json` is
/// `part` modulo `parts`.
public struct VerifyTaskSpec: Codable, Sendable, Equatable {
    public static let kind = "stream-verify"
    public var kind: String = VerifyTaskSpec.kind
    public var dataset: String?
    public var location: String
    public var part: Int
    public var parts: Int
    public var cacheDirectory: String?

    public init(dataset: String?, location: String, part: Int, parts: Int, cacheDirectory: String?) {
        self.dataset = dataset
        self.location = location
        self.part = part
        self.parts = parts
        self.cacheDirectory = cacheDirectory
    }
}

/// A shard found bad by a worker (a failed checksum, a truncated file), reported in a task's failure
/// details or result under `badShards`; the control plane marks it bad in its dataset.
public struct BadShardReport: Codable, Sendable, Equatable, CustomStringConvertible {
    public static let resultKey = "badShards"
    /// The control plane's dataset name (nil when the dataset was read by location only).
    public var dataset: String?
    /// The shard's name (`web-00003`, its files are `web-00003.bin` / `.idx`).
    public var shard: String
    /// Where the dataset was read from.
    public var location: String
    public var reason: String

    public init(dataset: String?, shard: String, location: String, reason: String) {
        self.dataset = dataset
        self.shard = shard
        self.location = location
        self.reason = reason
    }

    public var description: String { "shard \(shard) of dataset \(dataset ?? location): \(reason)" }
}

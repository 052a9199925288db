// The typed forms of the tokenize kinds: the manifest settings (decoded by the control plane's planner),
// the per-task specs the planner hands to workers, and the shard facts a task completes with (read by the
// control plane to record the dataset and shard in the same transaction as the completion).

import Foundation

/// `spec.tokenize` after validation.
public struct TokenizeSettings: Codable, Sendable, Equatable {
    public struct Output: Codable, Sendable, Equatable {
        public var dataset: String
        /// A host directory every worker sees; nil (the default): shards are uploaded as blobs and the dataset
        /// is read by name (`DatasetByName`).
        public var location: String?
    }
    public struct Training: Codable, Sendable, Equatable {
        public var vocabularySize: Int
        public var sampleBytes: ByteSize?
        public var specialTokens: [String]?
        public var splitPattern: String?
    }
    public struct TokenizerSource: Codable, Sendable, Equatable {
        public var path: String?
        public var train: Training?
        public var endOfText: String?
        /// A stored tokenizer.json (`cp://blobs/<sha256>` as `opsctl apply` uploads a local `path`, s3://, http(s)://).
        public var location: String?
        public var sha256: String?
        /// The tokenizer a named dataset was made with (resolved by the worker when the task runs).
        public var dataset: String?
    }

    public var inputs: [TokenizeInput]
    public var format: String?
    public var textField: String?
    public var txtMode: String?
    public var badInput: String?
    public var invalidUTF8: String?
    public var output: Output
    public var tokenizer: TokenizerSource
    public var filesPerTask: Int?
    public var bytesPerTask: ByteSize?
    public var dedup: Bool?
    /// Near-duplicate removal and decontamination (NearDedupKind.swift).
    public var nearDedup: NearDedupSettings?
    public var decontaminate: DecontaminateSettings?

    /// Default input bytes (on disk) per task when neither filesPerTask nor bytesPerTask is set.
    public static let defaultBytesPerTask: Int64 = 64 << 20
    public static let defaultSampleBytes: Int64 = 20_000_000
    public static let defaultSpecialTokens = ["<|endoftext|>"]

    /// `<location>/<dataset>`: the dataset directory (shards, index.json, a trained tokenizer.json); for a
    /// dataset with no host location, its by-name location `cp://datasets/<dataset>`.
    public var datasetDirectory: String {
        guard let location = output.location else { return DatasetByName.location(output.dataset) }
        return (location.hasSuffix("/") ? String(location.dropLast()) : location) + "/" + output.dataset
    }

    public var inputOptions: TokenizeInputOptions {
        TokenizeInputOptions(
            format: format ?? "auto", textField: textField ?? "text", txtMode: txtMode ?? "document",
            badInput: badInput ?? "fail", invalidUTF8: invalidUTF8 ?? "replace")
    }
}

/// How task inputs are read (the reader options of `DataShards`, as plain strings on the wire).
public struct TokenizeInputOptions: Codable, Sendable, Equatable {
    /// auto | txt | jsonl
    public var format: String
    public var textField: String
    /// document | lines | paragraphs
    public var txtMode: String
    /// fail | skip
    public var badInput: String
    /// replace | reject
    public var invalidUTF8: String

    public init(
        format: String = "auto", textField: String = "text", txtMode: String = "document",
        badInput: String = "fail", invalidUTF8: String = "replace"
    ) {
        self.format = format
        self.textField = textField
        self.txtMode = txtMode
        self.badInput = badInput
        self.invalidUTF8 = invalidUTF8
    }

    /// Whether `path` has an extension the readers know (`.txt`, `.text`, `.jsonl`, `.ndjson`, each optionally
    /// `.gz`, `.zst`, `.zstd`). With an explicit format any name is accepted.
    public func accepts(path: String) -> Bool {
        if format != "auto" { return true }
        var name = (path as NSString).lastPathComponent.lowercased()
        for compression in [".gz", ".zst", ".zstd"] where name.hasSuffix(compression) {
            name.removeLast(compression.count)
            break
        }
        return [".txt", ".text", ".jsonl", ".ndjson"].contains { name.hasSuffix($0) }
    }
}

/// What one tokenize task does: read `files` in order and write shard `shardIndex` of the dataset.
public struct TokenizeTaskSpec: Codable, Sendable, Equatable {
    public var dataset: String
    /// `<location>/<dataset>`.
    public var datasetDirectory: String
    public var shardIndex: Int
    public var shardCount: Int
    public var files: [String]
    public var input: TokenizeInputOptions
    public var tokenizerPath: String
    /// The end-of-text token appended to every document (nil: `<|endoftext|>`, else `<|end_of_text|>`, else `</s>`).
    public var endOfText: String?
    /// Exact de-duplication across the dataset: drop documents whose normalized text appeared earlier
    /// (in an earlier shard's hash file, written by the `<job>-dedup` scan, or earlier in this task).
    public var dedup: Bool
    /// Where `files` are read from when they are not paths every worker sees (same order); nil: `files` are paths.
    public var sources: [ResolvedInput]?
    /// true: the shard is written in the attempt's private directory and uploaded through the artifact store
    /// (a dataset by name); nil/false: it is committed in `datasetDirectory` on a shared filesystem.
    public var uploadShards: Bool?
    /// sha256 of the tokenizer at `tokenizerPath` when that is a stored location (checked after fetching).
    public var tokenizerSHA256: String?
    /// Read the tokenizer of this dataset instead of `tokenizerPath` (looked up when the task runs).
    public var tokenizerDataset: String?
    /// The `<job>-tokenizer` job whose stored tokenizer artifact this task reads (a trained tokenizer with no
    /// host location): the control plane fills `tokenizerPath` and `tokenizerSHA256` when it hands the task out.
    public var tokenizerJob: String?
    /// The `<job>-dedup` scan job whose exchange holds the chunks' hash files (de-duplication with no host
    /// location); the control plane fills `dedupJobID` when it hands the task out.
    public var dedupJob: String?
    public var dedupJobID: Int64?
    /// Near-duplicate removal: drop documents the `<job>-lsh` pairs make duplicates of a lower id.
    public var nearDedup: NearDedupTaskSettings?
    /// Drop documents sharing a long n-gram with an eval file.
    public var decontamination: DecontaminationTaskSettings?

    public init(
        dataset: String, datasetDirectory: String, shardIndex: Int, shardCount: Int, files: [String],
        input: TokenizeInputOptions, tokenizerPath: String, endOfText: String?, dedup: Bool
    ) {
        self.dataset = dataset
        self.datasetDirectory = datasetDirectory
        self.shardIndex = shardIndex
        self.shardCount = shardCount
        self.files = files
        self.input = input
        self.tokenizerPath = tokenizerPath
        self.endOfText = endOfText
        self.dedup = dedup
    }

    /// `shard-00007`: zero-padded so names sort in index order.
    public static func shardName(index: Int) -> String {
        let digits = String(index)
        return "shard-" + String(repeating: "0", count: max(0, 5 - digits.count)) + digits
    }
}

/// What the train-tokenizer task does.
public struct TrainTokenizerTaskSpec: Codable, Sendable, Equatable {
    public var files: [String]
    /// Where `files` are read from when they are not paths every worker sees (same order).
    public var sources: [ResolvedInput]?
    public var input: TokenizeInputOptions
    /// Where the tokenizer.json goes; "" with `storeOutput`.
    public var output: String
    /// true: the tokenizer.json is stored through the artifact store and registered as the job's artifact (kind
    /// tokenizer) instead of written to `output` (no host location).
    public var storeOutput: Bool?
    public var vocabularySize: Int
    public var sampleBytes: Int64
    public var specialTokens: [String]
    /// gpt2 | llama3
    public var splitPattern: String

    public init(
        files: [String], input: TokenizeInputOptions, output: String, vocabularySize: Int, sampleBytes: Int64,
        specialTokens: [String], splitPattern: String
    ) {
        self.files = files
        self.input = input
        self.output = output
        self.vocabularySize = vocabularySize
        self.sampleBytes = sampleBytes
        self.specialTokens = specialTokens
        self.splitPattern = splitPattern
    }
}

/// The facts of one committed shard, under `datasetShard` in a tokenize task's result. The control plane
/// records the dataset (once) and the shard from it, in the transaction that completes the task.
public struct DatasetShardFacts: Codable, Sendable, Equatable {
    public static let resultKey = "datasetShard"
    public static let format = "megatron-mmidx"

    public var dataset: String
    public var datasetDirectory: String
    public var index: Int
    public var name: String
    /// Path of the `.bin` file (the `.idx` is beside it).
    public var location: String
    /// sha256 of the `.bin` file.
    public var sha256: String
    public var bytes: Int64
    public var idxSHA256: String
    public var idxBytes: Int64
    public var tokens: Int64
    public var documents: Int64
    public var dtype: String
    public var tokenizerHash: String
    public var tokenizerPath: String
    public var vocabularySize: Int
    public var endOfTextID: Int
    /// The `.idx` file's blob location (datasets by name); nil when it is beside the `.bin`.
    public var idxLocation: String?
    /// How many shards the dataset has (tokenize tasks say it; the control plane lists a dataset by name only
    /// once all are registered).
    public var shardCount: Int?
    /// The tokenizer's sha256 when `tokenizerPath` is a stored location (so `tokenizer: {dataset:}` can fetch it).
    public var tokenizerSHA256: String?
    /// Where a derived dataset came from (a stream job's inputs, weights, seed, sample length); recorded in
    /// the dataset's metadata. Absent for tokenized datasets.
    public var provenance: AnyJSON?

    public init(
        dataset: String, datasetDirectory: String, index: Int, name: String, location: String, sha256: String,
        bytes: Int64, idxSHA256: String, idxBytes: Int64, tokens: Int64, documents: Int64, dtype: String,
        tokenizerHash: String, tokenizerPath: String, vocabularySize: Int, endOfTextID: Int
    ) {
        self.dataset = dataset
        self.datasetDirectory = datasetDirectory
        self.index = index
        self.name = name
        self.location = location
        self.sha256 = sha256
        self.bytes = bytes
        self.idxSHA256 = idxSHA256
        self.idxBytes = idxBytes
        self.tokens = tokens
        self.documents = documents
        self.dtype = dtype
        self.tokenizerHash = tokenizerHash
        self.tokenizerPath = tokenizerPath
        self.vocabularySize = vocabularySize
        self.endOfTextID = endOfTextID
    }
}

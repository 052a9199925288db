// Near-duplicate removal (MinHash LSH) and decontamination as options of a tokenize job (docs/dedup.md):
//
//   spec:
//     type: tokenize
//     tokenize:
//       ...
//       output: {dataset: web-v1, location: /data/tokens}   # a shared directory (the passes meet there)
//       nearDedup:
//         shingleWords: 5           # words per shingle
//         bands: 14                 # LSH bands × rows per band = permutations (datatrove's defaults)
//         rowsPerBand: 8
//         permutations: 112
//         seed: 1
//         reducers: 4               # bucket tasks: each owns a range of bucket keys
//         memoryLimitBytes: 256MiB  # per bucket task; over it, sorted runs spill to disk and are merged
//       decontaminate:
//         evals: ["/data/evals/*.jsonl"]   # every file an eval set (named by its file name)
//         ngramWords: 13
//
// Options rather than a job kind of their own: the passes read the same input chunks as the tokenize tasks, and
// the document ids they agree on (chunk, ordinal) only mean something to the job that writes those chunks. The
// planner turns the option into two helper jobs that the tokenize job runs after: `<name>-minhash` (one task per
// input chunk: signatures → band records partitioned by bucket key range) and `<name>-lsh` (one task per reducer:
// external sort within the memory limit → duplicate pairs). Each tokenize task then joins the pairs into clusters
// and drops what is not its cluster's keeper (the lowest id: first occurrence), writing the lineage.

import Foundation
import NearDedup

public enum NearDedupJobKinds {
    public static let minhashName = "tokenize-minhash"
    public static let lshName = "tokenize-lsh"
    public static let nearDedupFields = [
        "shingleWords", "permutations", "bands", "rowsPerBand", "seed", "reducers", "memoryLimitBytes",
    ]
    public static let maxReducers = 4096
    public static let maxEvalFiles = ContaminationIndex.maxEvalSets

    /// `spec.type: tokenize-minhash`: pass 1 of near-duplicate removal (submitted as `<name>-minhash`).
    public static let minhash = JobKind(
        name: minhashName, summary: "MinHash signatures of a tokenize job's chunks, as LSH bucket records",
        settingsRequired: true
    ) { settings, context in TokenizeJobKinds.tokenize.validate(settings, context) }

    /// `spec.type: tokenize-lsh`: pass 2 (submitted as `<name>-lsh`), one task per reducer.
    public static let lsh = JobKind(
        name: lshName, summary: "sorts LSH buckets within a memory limit into duplicate pairs",
        settingsRequired: true
    ) { settings, context in TokenizeJobKinds.tokenize.validate(settings, context) }

    /// The `nearDedup` and `decontaminate` options of `spec.tokenize`.
    static func validate(_ settings: ManifestObjectReader) {
        let near = settings.object("nearDedup")
        let decontaminate = settings.object("decontaminate")
        // Read without reporting: the tokenize validator reports a bad output itself.
        if near != nil || decontaminate != nil, let output = settings.value("output"), case .object = output.content,
            !ManifestObjectReader(output, path: settings.path + ".output", problems: settings.problems).has("location")
        {
            settings.report(
                near != nil ? "nearDedup" : "decontaminate",
                "needs output.location (a directory every worker sees, where the passes meet); datasets by name are not supported with it yet"
            )
        }
        if let near {
            near.rejectUnknownKeys(allowed: nearDedupFields)
            let defaults = MinHashParameters()
            let words = near.integer("shingleWords", min: 1, max: Int64(MinHashParameters.maxShingleWords))
            let bands = near.integer("bands", min: 1, max: Int64(MinHashParameters.maxPermutations))
            let rows = near.integer("rowsPerBand", min: 1, max: Int64(MinHashParameters.maxPermutations))
            let permutations = near.integer("permutations", min: 1, max: Int64(MinHashParameters.maxPermutations))
            _ = near.integer("seed", min: 0)
            _ = near.integer("reducers", min: 1, max: Int64(maxReducers))
            if near.has("memoryLimitBytes") {
                _ = TokenizeJobKinds.byteSize(
                    near, "memoryLimitBytes", min: Int64(ExternalSorter.minimumMemoryLimitBytes))
            }
            // Range problems are reported above; the split is checked once the numbers are in range.
            if near.has("bands") == (bands != nil), near.has("rowsPerBand") == (rows != nil),
                near.has("permutations") == (permutations != nil)
            {
                let b = Int(bands ?? Int64(defaults.bands))
                let r = Int(rows ?? Int64(defaults.rowsPerBand))
                let parameters = MinHashParameters(
                    shingleWords: Int(words ?? Int64(defaults.shingleWords)),
                    permutations: Int(permutations ?? Int64(b * r)),
                    bands: b, rowsPerBand: r)
                for problem in parameters.problems() where problem.field == "bands" {
                    near.report(problem.field, problem.message)
                }
            }
        }
        if let decontaminate {
            decontaminate.rejectUnknownKeys(allowed: ["evals", "ngramWords"])
            if let evals = decontaminate.stringList(
                "evals", required: true, expectedList: "a non-empty list of absolute paths or globs of eval files",
                expectedItem: "an absolute path or glob such as \"/data/evals/*.jsonl\"",
                isValid: TokenizeJobKinds.isAbsolutePath), evals.isEmpty
            {
                decontaminate.report("evals", "expected a non-empty list of absolute paths or globs of eval files")
            }
            _ = decontaminate.integer("ngramWords", min: 1, max: Int64(MinHashParameters.maxShingleWords))
        }
    }
}

/// `spec.tokenize.nearDedup` as the planner reads it.
public struct NearDedupSettings: Codable, Sendable, Equatable {
    public var shingleWords: Int?
    public var permutations: Int?
    public var bands: Int?
    public var rowsPerBand: Int?
    public var seed: UInt64?
    public var reducers: Int?
    public var memoryLimitBytes: ByteSize?

    public static let defaultReducers = 4
    public static let defaultMemoryLimitBytes: Int64 = 256 << 20

    public var parameters: MinHashParameters {
        let defaults = MinHashParameters()
        let bands = bands ?? defaults.bands
        let rows = rowsPerBand ?? defaults.rowsPerBand
        return MinHashParameters(
            shingleWords: shingleWords ?? defaults.shingleWords, permutations: permutations ?? bands * rows,
            bands: bands, rowsPerBand: rows, seed: seed ?? defaults.seed)
    }

    public var resolved: NearDedupTaskSettings {
        NearDedupTaskSettings(
            parameters: parameters, reducers: reducers ?? Self.defaultReducers,
            memoryLimitBytes: memoryLimitBytes?.bytes ?? Self.defaultMemoryLimitBytes)
    }
}

/// `spec.tokenize.decontaminate` as the planner reads it.
public struct DecontaminateSettings: Codable, Sendable, Equatable {
    public var evals: [String]
    public var ngramWords: Int?
}

/// What every task of the three passes needs to agree on.
public struct NearDedupTaskSettings: Codable, Sendable, Equatable {
    public var parameters: MinHashParameters
    public var reducers: Int
    public var memoryLimitBytes: Int64

    public init(parameters: MinHashParameters, reducers: Int, memoryLimitBytes: Int64) {
        self.parameters = parameters
        self.reducers = reducers
        self.memoryLimitBytes = memoryLimitBytes
    }
}

/// The eval files a tokenize task checks its documents against (expanded by the planner, in path order).
public struct DecontaminationTaskSettings: Codable, Sendable, Equatable {
    public var evalFiles: [String]
    public var ngramWords: Int

    public init(evalFiles: [String], ngramWords: Int) {
        self.evalFiles = evalFiles
        self.ngramWords = ngramWords
    }
}

/// One task of `<name>-lsh`: reducer `reducer` of `settings.reducers` reads its partition of every chunk's band
/// records and writes its duplicate pairs.
public struct LSHReduceTaskSpec: Codable, Sendable, Equatable {
    public var datasetDirectory: String
    public var reducer: Int
    public var chunkCount: Int
    public var settings: NearDedupTaskSettings

    public init(datasetDirectory: String, reducer: Int, chunkCount: Int, settings: NearDedupTaskSettings) {
        self.datasetDirectory = datasetDirectory
        self.reducer = reducer
        self.chunkCount = chunkCount
        self.settings = settings
    }

    /// `<dataset>/.neardup`: where the passes meet (band records, pairs, lineage).
    public static func directory(_ datasetDirectory: String) -> String { datasetDirectory + "/.neardup" }

    public static func bucketFile(_ datasetDirectory: String, chunk: Int, reducer: Int) -> String {
        directory(datasetDirectory) + "/buckets-\(TokenizeTaskSpec.shardName(index: chunk))-r\(reducer).records"
    }

    public static func pairFile(_ datasetDirectory: String, reducer: Int) -> String {
        directory(datasetDirectory) + "/pairs-r\(reducer).records"
    }

    public static func lineageFile(_ datasetDirectory: String, chunk: Int) -> String {
        directory(datasetDirectory) + "/removed-\(TokenizeTaskSpec.shardName(index: chunk)).tsv"
    }
}

// The dataset index: `index.json` in a dataset directory, listing every committed shard with its checksums,
// sizes and counts, the tokenizer it was made with, and — for derived datasets — where it came from.
// Written atomically (temporary file + fsync + rename + directory fsync); readers never see a partial index.
import Checksum
import Foundation

public struct DatasetProvenance: Codable, Sendable, Equatable {
    public struct Input: Codable, Sendable, Equatable {
        public var dataset: String
        public var location: String
        public var weight: Double
        public var tokenizerHash: String
        public init(dataset: String, location: String, weight: Double, tokenizerHash: String) {
            self.dataset = dataset
            self.location = location
            self.weight = weight
            self.tokenizerHash = tokenizerHash
        }
    }
    public var inputs: [Input]
    public var seed: UInt64
    /// Tokens per materialized sample (T + 1).
    public var sampleTokens: Int
    public var createdBy: String
    public init(inputs: [Input], seed: UInt64, sampleTokens: Int, createdBy: String) {
        self.inputs = inputs
        self.seed = seed
        self.sampleTokens = sampleTokens
        self.createdBy = createdBy
    }
}

public enum DatasetIndexError: Error, CustomStringConvertible, Sendable, Equatable {
    case unreadable(file: String, reason: String)
    case malformed(file: String, reason: String)
    case unwritable(file: String, reason: String)
    case incompatibleShard(dataset: String, shard: String, reason: String)
    case unknownShard(dataset: String, shard: String)

    public var description: String {
        switch self {
        case .unreadable(let file, let reason): return "cannot read dataset index \(file): \(reason)"
        case .malformed(let file, let reason): return "dataset index \(file) is malformed: \(reason)"
        case .unwritable(let file, let reason): return "cannot write dataset index \(file): \(reason)"
        case .incompatibleShard(let dataset, let shard, let reason):
            return "shard \(shard) does not fit dataset \(dataset): \(reason)"
        case .unknownShard(let dataset, let shard): return "dataset \(dataset) has no shard named \(shard)"
        }
    }
}

public struct DatasetIndex: Codable, Sendable, Equatable {
    public static let fileName = "index.json"
    public static let currentFormatVersion = 1

    public var formatVersion: Int
    public var name: String
    public var tokenizerHash: String
    public var vocabularySize: Int
    public var dtype: TokenDType
    public var endOfTextID: UInt32
    public var shards: [ShardInfo]
    public var provenance: DatasetProvenance?

    public init(
        name: String, tokenizerHash: String, vocabularySize: Int, endOfTextID: UInt32,
        dtype: TokenDType? = nil, shards: [ShardInfo] = [], provenance: DatasetProvenance? = nil
    ) {
        formatVersion = Self.currentFormatVersion
        self.name = name
        self.tokenizerHash = tokenizerHash
        self.vocabularySize = vocabularySize
        self.dtype = dtype ?? TokenDType.optimal(forVocabularySize: vocabularySize)
        self.endOfTextID = endOfTextID
        self.shards = shards
        self.provenance = provenance
    }

    public var totalTokens: Int64 { shards.reduce(0) { $0 + $1.tokens } }
    public var totalDocuments: Int64 { shards.reduce(0) { $0 + $1.documents } }
    public var totalBytes: Int64 { shards.reduce(0) { $0 + $1.binBytes + $1.idxBytes } }

    public func shard(named name: String) -> ShardInfo? { shards.first { $0.name == name } }

    /// Adds or replaces (by name) a shard; replacing with identical facts is a no-op, so a retried task
    /// that records its shard again leaves the index unchanged. Shards stay sorted by name.
    public mutating func record(_ shard: ShardInfo) throws(DatasetIndexError) {
        guard shard.dtype == dtype else {
            throw .incompatibleShard(
                dataset: name, shard: shard.name,
                reason: "dtype \(shard.dtype.rawValue), the dataset uses \(dtype.rawValue)")
        }
        shards.removeAll { $0.name == shard.name }
        shards.append(shard)
        shards.sort { $0.name < $1.name }
    }

    // MARK: Files

    public static func load(fromDirectory directory: String) throws(DatasetIndexError) -> DatasetIndex {
        let path = directory + "/" + fileName
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .unreadable(file: path, reason: "\(error.localizedDescription)")
        }
        return try decode(data, file: path)
    }

    public static func decode(_ data: Data, file: String) throws(DatasetIndexError) -> DatasetIndex {
        let index: DatasetIndex
        do { index = try JSONDecoder().decode(DatasetIndex.self, from: data) } catch {
            throw .malformed(file: file, reason: describe(error))
        }
        guard index.formatVersion == currentFormatVersion else {
            throw .malformed(
                file: file, reason: "formatVersion \(index.formatVersion), expected \(currentFormatVersion)")
        }
        for shard in index.shards where shard.dtype != index.dtype {
            throw .malformed(
                file: file,
                reason: "shard \(shard.name) has dtype \(shard.dtype.rawValue), the dataset \(index.dtype.rawValue)")
        }
        return index
    }

    public func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return (try? encoder.encode(self)) ?? Data()
    }

    /// Writes `index.json` atomically into `directory`.
    public func write(toDirectory directory: String) throws(DatasetIndexError) {
        let final = directory + "/" + Self.fileName
        let temp = directory + "/." + Self.fileName + ShardWriter.temporaryMarker + UUID().uuidString.prefix(8)
        do throws(ShardError) {
            let fd = try PosixFile.createExclusive(temp)
            do throws(ShardError) {
                try PosixFile.writeAll(fd, data: encoded(), path: temp)
                try PosixFile.sync(fd, path: temp)
            } catch {
                close(fd)
                throw error
            }
            close(fd)
            try PosixFile.renameAtomically(temp, to: final)
            try PosixFile.syncDirectory(directory)
        } catch {
            PosixFile.removeIfPresent(temp)
            throw .unwritable(file: final, reason: error.description)
        }
    }

    /// Read-modify-write of `index.json` under the directory lock, for writers that commit shards
    /// concurrently (tasks on workers sharing a filesystem). Creates the index from `template` if absent.
    @discardableResult
    public static func update(
        directory: String, creatingFrom template: DatasetIndex,
        _ change: (inout DatasetIndex) throws(DatasetIndexError) -> Void
    ) throws(DatasetIndexError) -> DatasetIndex {
        var outcome: Result<DatasetIndex, DatasetIndexError> = .failure(.unwritable(file: directory, reason: "not run"))
        do {
            try PosixFile.withDirectoryLock(directory) { () throws(ShardError) in
                outcome = Result { () throws(DatasetIndexError) -> DatasetIndex in
                    var index =
                        PosixFile.exists(directory + "/" + fileName) ? try load(fromDirectory: directory) : template
                    try change(&index)
                    try index.write(toDirectory: directory)
                    return index
                }
            }
        } catch {
            throw .unwritable(file: directory + "/" + fileName, reason: error.description)
        }
        return try outcome.get()
    }

    private static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            return "missing field '\(path(context.codingPath + [key]))'"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "field '\(path(context.codingPath))': \(context.debugDescription)"
        case DecodingError.dataCorrupted(let context):
            return context.codingPath.isEmpty
                ? "not valid JSON" : "field '\(path(context.codingPath))': \(context.debugDescription)"
        default:
            return "\(error)"
        }
    }

    private static func path(_ keys: [CodingKey]) -> String {
        keys.reduce(into: "") { path, key in
            if let i = key.intValue { path += "[\(i)]" } else { path += (path.isEmpty ? "" : ".") + key.stringValue }
        }
    }
}

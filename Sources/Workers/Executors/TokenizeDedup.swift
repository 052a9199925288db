// Exact de-duplication of documents across a tokenize job's whole dataset, in two passes:
// 1. the `<job>-dedup` scan job (kind tokenize-dedup-scan; the same tasks as the tokenize job) writes, per
//    chunk, the sorted distinct hashes of its documents to `<dataset>/.dedup/shard-NNNNN.hashes`;
// 2. tokenize task i loads the hashes of chunks 0..<i and drops every document whose hash is among them or
//    appeared earlier in its own chunk. So the first occurrence in dataset order (shard, file, line) is kept,
//    whichever worker runs what when: the result is deterministic and retries change nothing.
// With no host location (a dataset by name) the hash files do not meet in a directory: each scan task publishes
// its file in the training exchange of the scan job (bytes through the artifact store, `ControlPlaneExchange`),
// and tokenize task i, told the scan job's id when it is handed out (`TokenizeReferencesAtDispatch`), fetches
// entries 0..<i (verified by checksum) into its private directory before it starts. No waiting: the tokenize job
// runs `after:` the scan job.
// The hash is SHA-256 (first 128 bits) of the normalized text: Unicode NFC, runs of whitespace turned into one
// space, leading/trailing whitespace removed. Case is kept.

import APITypes
import Checksum
import ClusterModel
import DataShards
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

struct DocumentHash: Hashable, Comparable, Sendable {
    var high: UInt64
    var low: UInt64
    static func < (a: DocumentHash, b: DocumentHash) -> Bool { (a.high, a.low) < (b.high, b.low) }
}

enum TokenizeDedup {
    static let directoryName = ".dedup"

    static func normalized(_ text: String) -> String {
        let composed = text.precomposedStringWithCanonicalMapping
        var out = ""
        out.reserveCapacity(composed.utf8.count)
        var pendingSpace = false
        for scalar in composed.unicodeScalars {
            if scalar.properties.isWhitespace {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace {
                    out.unicodeScalars.append(" ")
                    pendingSpace = false
                }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    static func hash(_ text: String) -> DocumentHash {
        var hasher = SHA256()
        hasher.update(normalized(text).utf8)
        let digest = hasher.finalize()
        var high: UInt64 = 0
        var low: UInt64 = 0
        for i in 0..<8 {
            high = high << 8 | UInt64(digest[i])
            low = low << 8 | UInt64(digest[8 + i])
        }
        return DocumentHash(high: high, low: low)
    }

    static func hashFile(directory: String, shardIndex: Int) -> String {
        directory + "/" + directoryName + "/" + TokenizeTaskSpec.shardName(index: shardIndex) + ".hashes"
    }

    /// Sorted, 16 bytes per hash (big-endian high then low), written atomically.
    static func write(_ hashes: Set<DocumentHash>, to path: String) throws {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(hashes.count * 16)
        for hash in hashes.sorted() {
            for shift in stride(from: 56, through: 0, by: -8) {
                bytes.append(UInt8(truncatingIfNeeded: hash.high >> UInt64(shift)))
            }
            for shift in stride(from: 56, through: 0, by: -8) {
                bytes.append(UInt8(truncatingIfNeeded: hash.low >> UInt64(shift)))
            }
        }
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try TokenizeDatasetIndex.writeAtomically(Data(bytes), to: path)
    }

    static func read(_ path: String, into set: inout Set<DocumentHash>) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TaskFailure(
                "de-duplication: the hash file \(path) of the dedup scan is missing; re-run the job (the -dedup job writes it)",
                retryable: false)
        }
        guard data.count % 16 == 0 else {
            throw TaskFailure(
                "de-duplication: \(path) is damaged (\(data.count) bytes is not a multiple of 16)", retryable: false)
        }
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                var high: UInt64 = 0
                var low: UInt64 = 0
                for i in 0..<8 {
                    high = high << 8 | UInt64(raw[offset + i])
                    low = low << 8 | UInt64(raw[offset + 8 + i])
                }
                set.insert(DocumentHash(high: high, low: low))
                offset += 16
            }
        }
    }

    /// The exchange entry name of chunk `index`'s hash file.
    static func entryName(shardIndex: Int) -> String { TokenizeTaskSpec.shardName(index: shardIndex) + ".hashes" }

    /// The control plane's exchange of `job`, where the scan tasks of a dataset by name publish their hash files.
    static func exchange(job: JobID, context: ExecutionContext) throws -> ControlPlaneExchange {
        guard let api = context.exchangeAPI else {
            throw TaskFailure(
                "de-duplication with no output.location needs the control plane's exchange; this worker has no control plane connection",
                retryable: false)
        }
        return try ControlPlaneExchange(
            job: job, api: api, artifactStore: context.artifactStore,
            scratchDirectory: context.workDirectory.appendingPathComponent("exchange"))
    }

    /// Fetches the hash files of chunks 0..<`spec.shardIndex` from the scan job's exchange into `directory`'s
    /// `.dedup`, where `earlierHashes` reads them.
    static func fetchEarlierHashFiles(_ spec: TokenizeTaskSpec, into directory: String, context: ExecutionContext)
        throws
    {
        guard spec.shardIndex > 0 else { return }
        guard let id = spec.dedupJobID else {
            throw TaskFailure(
                "de-duplication: the scan job \(spec.dedupJob ?? "?") was not found when this task was handed out; re-run the job",
                retryable: false)
        }
        let exchange = try exchange(job: JobID(id), context: context)
        for index in 0..<spec.shardIndex {
            try TokenizeTaskSupport.stopIfAsked(context)
            let name = entryName(shardIndex: index)
            guard let fetched = try exchange.localFile(name) else {
                throw TaskFailure(
                    "de-duplication: \(name) is missing from \(exchange.description) (its scan task publishes it); re-run the job",
                    retryable: false)
            }
            let target = hashFile(directory: directory, shardIndex: index)
            do {
                try FileManager.default.createDirectory(
                    atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try? FileManager.default.removeItem(atPath: target)
                try FileManager.default.copyItem(atPath: fetched.path, toPath: target)
            } catch {
                throw TaskFailure("de-duplication: cannot copy \(name) to \(target): \(error)")
            }
        }
    }

    /// The hashes of every document in the chunks before `spec.shardIndex`.
    static func earlierHashes(_ spec: TokenizeTaskSpec) throws -> Set<DocumentHash> {
        var set = Set<DocumentHash>()
        for index in 0..<spec.shardIndex {
            try read(hashFile(directory: spec.datasetDirectory, shardIndex: index), into: &set)
        }
        return set
    }
}

/// `type: tokenize-dedup-scan` — pass 1 of de-duplication: hashes the documents of one chunk.
public struct TokenizeDedupScanExecutor: JobExecutor {
    public static let kind = TokenizeJobKinds.dedupScanName
    public init() {}

    public func run(_ task: TaskAssignment, context: ExecutionContext) async throws -> TaskResult {
        let spec = try TokenizeTaskSupport.decode(TokenizeTaskSpec.self, task, kind: "tokenize")
        let publishes = spec.uploadShards == true
        var local = spec
        if publishes { local.datasetDirectory = context.workDirectory.appendingPathComponent("dataset").path }
        let (documents, distinct) = try await context.runBlocking { [local] in
            let paths = try TokenizeInputFetch.localPaths(files: spec.files, sources: spec.sources, context: context)
            let counts = try Self.scan(local, context: context, localPaths: paths)
            if publishes {
                // Replaced, not exclusive: a retried task publishes the same hashes under the same name.
                let name = TokenizeDedup.entryName(shardIndex: spec.shardIndex)
                let file = TokenizeDedup.hashFile(directory: local.datasetDirectory, shardIndex: spec.shardIndex)
                try TokenizeDedup.exchange(job: task.jobID, context: context).publish(
                    file: URL(fileURLWithPath: file), as: name, exclusive: false, stored: nil)
            }
            return counts
        }
        context.progress(1, message: "\(distinct) distinct of \(documents) documents")
        return TaskResult(result: ["documents": .int(Int64(documents)), "distinct": .int(Int64(distinct))])
    }

    static func scan(_ spec: TokenizeTaskSpec, context: ExecutionContext?, localPaths: [String: String] = [:]) throws
        -> (documents: Int, distinct: Int)
    {
        TokenizeDatasetIndex.removeTemporaries(
            of: TokenizeTaskSpec.shardName(index: spec.shardIndex), in: spec.datasetDirectory)
        let options = TokenizeTaskSupport.readerOptions(spec.input)
        var hashes = Set<DocumentHash>()
        var documents = 0
        for file in spec.files {
            let reader = try TokenizeTaskSupport.openReader(
                localPaths[file] ?? file, input: spec.input, options: options, context: context)
            while true {
                let document: InputDocument?
                do { document = try reader.next() } catch { throw TokenizeTaskSupport.failure(error) }
                guard let document else { break }
                hashes.insert(TokenizeDedup.hash(document.text))
                documents += 1
            }
        }
        do {
            try TokenizeDedup.write(
                hashes, to: TokenizeDedup.hashFile(directory: spec.datasetDirectory, shardIndex: spec.shardIndex))
        } catch {
            throw TaskFailure("de-duplication: cannot write the hash file: \(error)")
        }
        return (documents, hashes.count)
    }
}

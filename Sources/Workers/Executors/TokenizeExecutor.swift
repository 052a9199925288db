// `type: tokenize` — one task reads its input files in order and writes one shard
// (`<location>/<dataset>/shard-NNNNN.{bin,idx}`) with `ShardWriter`: temporaries, fsync, rename, exactly
// once (a retry with the same inputs produces the same bytes, and committing them again is a no-op).
// The task completes with the shard's facts (`datasetShard`), which the control plane records together
// with the completion. The task that commits the last missing shard writes the dataset's `index.json`.
// A dataset by name (`uploadShards`, no host location): the shard is written in the attempt's private
// directory, its `.bin` and `.idx` are uploaded through the artifact store, and only then does the task
// complete with their blob locations — the control plane registers the shard with that completion, so a
// failed upload registers nothing, and it builds the dataset's index from the rows (no index.json is written).
// Such a task reads a tokenizer trained by its `-tokenizer` job as that job's artifact, and with dedup the hash
// files from its `-dedup` job's exchange (the control plane names both when it hands the task out).

import APITypes
import DataShards
import Foundation

public struct TokenizeExecutor: JobExecutor {
    public static let kind = TokenizeJobKinds.tokenizeName
    public init() {}

    public func run(_ task: TaskAssignment, context: ExecutionContext) async throws -> TaskResult {
        let spec = try TokenizeTaskSupport.decode(TokenizeTaskSpec.self, task, kind: "tokenize")
        context.log(
            "shard \(spec.shardIndex) of \(spec.shardCount): \(spec.files.count) file(s) -> \(spec.datasetDirectory)",
            stream: .system)
        let outcome = try await context.runBlocking { try Self.tokenizeFetched(spec, context: context) }
        context.metric("tokens", step: Int64(spec.shardIndex), value: Double(outcome.facts.tokens))
        context.metric("documents", step: Int64(spec.shardIndex), value: Double(outcome.facts.documents))
        context.progress(1, message: "shard \(outcome.facts.name) committed")
        if outcome.wroteIndex {
            context.log(
                "all \(spec.shardCount) shards committed; wrote \(spec.datasetDirectory)/index.json", stream: .system)
        }
        let facts = outcome.facts
        let artifact = ArtifactRecord(
            name: facts.name, location: facts.location, sha256: facts.sha256, bytes: facts.bytes, kind: "shard",
            metadata: .object([
                "idxSHA256": .string(facts.idxSHA256), "idxBytes": .int(facts.idxBytes),
                "tokens": .int(facts.tokens), "documents": .int(facts.documents),
            ]))
        return TaskResult(
            result: .object([
                DatasetShardFacts.resultKey: try AnyJSON(encoding: facts),
                "input": outcome.stats,
                ShardLineageFacts.resultKey: try AnyJSON(encoding: outcome.lineage),
            ]), artifacts: [artifact])
    }

    struct Outcome: Sendable {
        var facts: DatasetShardFacts
        var stats: AnyJSON
        var wroteIndex: Bool
        var lineage: ShardLineageFacts
    }

    /// Fetches the inputs and tokenizer that are not local paths, tokenizes, and for a dataset by name uploads
    /// the shard's files and reports their blob locations.
    static func tokenizeFetched(_ spec: TokenizeTaskSpec, context: ExecutionContext) throws -> Outcome {
        if spec.tokenizerJob != nil && spec.tokenizerSHA256 == nil {
            throw TaskFailure(
                "the tokenizer job \(spec.tokenizerJob ?? "") had registered no tokenizer artifact when this task was handed out; re-run the job",
                retryable: false)
        }
        let paths = try TokenizeInputFetch.localPaths(files: spec.files, sources: spec.sources, context: context)
        let tokenizer = try TokenizeInputFetch.tokenizer(spec, context: context)
        var local = spec
        local.tokenizerPath = tokenizer.path
        let uploads = spec.uploadShards == true
        if uploads { local.datasetDirectory = context.workDirectory.appendingPathComponent("dataset").path }
        if uploads && spec.dedup {
            try TokenizeDedup.fetchEarlierHashFiles(spec, into: local.datasetDirectory, context: context)
        }
        var outcome = try tokenize(local, context: context, localPaths: paths)
        outcome.facts.datasetDirectory = spec.datasetDirectory
        outcome.facts.tokenizerPath = tokenizer.location
        outcome.facts.tokenizerSHA256 = tokenizer.sha256 ?? blobSHA256(tokenizer.location)
        outcome.wroteIndex = outcome.wroteIndex && !uploads
        guard uploads else { return outcome }
        try TokenizeTaskSupport.stopIfAsked(context)
        let name = outcome.facts.name
        let bin = try upload(local.datasetDirectory + "/" + ShardInfo.binFileName(name), context: context)
        let idx = try upload(local.datasetDirectory + "/" + ShardInfo.idxFileName(name), context: context)
        guard bin.sha256 == outcome.facts.sha256, idx.sha256 == outcome.facts.idxSHA256 else {
            throw TaskFailure("shard \(name) changed while it was uploaded (sha256 \(bin.sha256), \(idx.sha256))")
        }
        outcome.facts.location = bin.location
        outcome.facts.idxLocation = idx.location
        outcome.facts.shardCount = spec.shardCount
        return outcome
    }

    /// `<sha256>` of a `cp://blobs/<sha256>` location, nil for others.
    static func blobSHA256(_ location: String) -> String? {
        guard InputLocationKind(location) == .blob else { return nil }
        return String(location.dropFirst(ControlPlaneArtifactStore.scheme.count))
    }

    private static func upload(_ path: String, context: ExecutionContext) throws -> ArtifactRecord {
        let name = (path as NSString).lastPathComponent
        do {
            return try context.artifactStore.store(
                file: URL(fileURLWithPath: path), name: name, kind: "shard", metadata: nil)
        } catch {
            // Nothing is registered: the completion that would record the shard is never sent.
            throw TaskFailure("cannot upload \(name): \(error)")
        }
    }

    /// The whole task, synchronously (on its own thread); `context` nil in tests. `localPaths` maps the names of
    /// fetched inputs to where they were fetched.
    static func tokenize(_ spec: TokenizeTaskSpec, context: ExecutionContext?, localPaths: [String: String] = [:])
        throws -> Outcome
    {
        let tokenizer = try loadTokenizer(spec.tokenizerPath)
        let endOfText = try TokenizeTaskSupport.endOfTextID(tokenizer, named: spec.endOfText)
        let dtype = TokenDType.optimal(forVocabularySize: tokenizer.vocabularySize)
        let directory = spec.datasetDirectory
        let name = TokenizeTaskSpec.shardName(index: spec.shardIndex)
        let writer = try startShard(name, in: directory, dtype: dtype, endOfText: endOfText)
        let input: (stats: InputStats, duplicates: Int)
        let filter: TokenizeDocumentFilter
        let lineage: TokenizeLineage
        do {
            filter = try TokenizeDocumentFilter(spec, context: context)
            lineage = TokenizeLineage()
            input = try writeDocuments(
                spec, tokenizer: tokenizer, to: writer, name: name, filter: filter, lineage: lineage,
                context: context, localPaths: localPaths)
            try lineage.recordInputs(spec, localPaths: localPaths)
            try lineage.resolveEarlierKeepers(spec)
            try filter.writeLineage(datasetDirectory: directory)
        } catch {
            writer.abort()
            throw error
        }
        let info = try commit(writer, name: name)
        let facts = DatasetShardFacts(
            dataset: spec.dataset, datasetDirectory: directory, index: spec.shardIndex, name: name,
            location: directory + "/" + info.binFile, sha256: info.binSHA256, bytes: info.binBytes,
            idxSHA256: info.idxSHA256, idxBytes: info.idxBytes, tokens: info.tokens, documents: info.documents,
            dtype: info.dtype.rawValue, tokenizerHash: tokenizer.hash, tokenizerPath: spec.tokenizerPath,
            vocabularySize: tokenizer.vocabularySize, endOfTextID: Int(endOfText))
        let wroteIndex: Bool
        do {
            wroteIndex = try TokenizeDatasetIndex.recordShard(
                info, shardCount: spec.shardCount, directory: directory,
                template: DatasetIndex(
                    name: spec.dataset, tokenizerHash: tokenizer.hash, vocabularySize: tokenizer.vocabularySize,
                    endOfTextID: endOfText, dtype: dtype))
        } catch {
            throw TaskFailure("shard \(name) is committed but the dataset index could not be updated: \(error)")
        }
        var statsJSON = TokenizeTaskSupport.statsJSON(input.stats, files: spec.files.count)
        if spec.dedup, case .object(var fields) = statsJSON {
            fields["duplicatesDropped"] = .int(Int64(input.duplicates))
            statsJSON = .object(fields)
        }
        if filter.isActive, case .object(var fields) = statsJSON {
            filter.add(to: &fields)
            statsJSON = .object(fields)
        }
        return Outcome(facts: facts, stats: statsJSON, wroteIndex: wroteIndex, lineage: lineage.facts)
    }

    private static func loadTokenizer(_ path: String) throws -> Tokenizer {
        do { return try Tokenizer.load(path: path) } catch {
            throw TaskFailure("cannot load the tokenizer \(path): \(error)", retryable: false)
        }
    }

    /// Opens the shard's writer in a clean state: the dataset directory exists and no temporaries of this shard are left.
    private static func startShard(_ name: String, in directory: String, dtype: TokenDType, endOfText: UInt32) throws
        -> ShardWriter
    {
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw TaskFailure("cannot create the dataset directory \(directory): \(error)")
        }
        // Temporaries of an earlier attempt of this very shard (a killed worker) go first; other shards' are not touched.
        TokenizeDatasetIndex.removeTemporaries(of: name, in: directory)
        do { return try ShardWriter(directory: directory, name: name, dtype: dtype, endOfTextID: endOfText) } catch {
            throw TaskFailure("cannot start shard \(name) in \(directory): \(error)")
        }
    }

    /// Reads the input files in order and appends each document's ids to the shard, dropping the documents an
    /// earlier chunk or this one already holds when `spec.dedup`. The caller aborts the writer if this throws.
    private static func writeDocuments(
        _ spec: TokenizeTaskSpec, tokenizer: Tokenizer, to writer: ShardWriter, name: String,
        filter: TokenizeDocumentFilter, lineage: TokenizeLineage, context: ExecutionContext?,
        localPaths: [String: String]
    ) throws -> (stats: InputStats, duplicates: Int) {
        var earlier = Set<DocumentHash>()
        var seen = Set<DocumentHash>()
        var duplicates = 0
        if spec.dedup { earlier = try TokenizeDedup.earlierHashes(spec) }
        var stats = InputStats()
        let options = TokenizeTaskSupport.readerOptions(spec.input)
        let encoder = tokenizer.makeEncoder()
        var ids: [UInt32] = []
        ids.reserveCapacity(1 << 16)
        for (fileNumber, file) in spec.files.enumerated() {
            let reader = try TokenizeTaskSupport.openReader(
                localPaths[file] ?? file, input: spec.input, options: options, context: context)
            var sinceCheck = 0
            while true {
                let document: InputDocument?
                do { document = try reader.next() } catch { throw TokenizeTaskSupport.failure(error) }
                guard let document else { break }
                var exactDuplicate = false
                var hash: DocumentHash?
                if spec.dedup {
                    let text = TokenizeDedup.hash(document.text)
                    hash = text
                    let inEarlierChunk = earlier.contains(text)
                    if inEarlierChunk || !seen.insert(text).inserted {
                        duplicates += 1
                        exactDuplicate = true
                        lineage.droppedExactDuplicate(
                            input: fileNumber, line: document.line, hash: text, inEarlierChunk: inEarlierChunk)
                    }
                }
                if filter.isActive ? filter.drops(document, alreadyDropped: exactDuplicate) : exactDuplicate {
                    if !exactDuplicate, let drop = filter.lastDrop {
                        lineage.dropped(
                            input: fileNumber, line: document.line, reason: drop.reason, keeperShard: drop.keeperChunk)
                    }
                    continue
                }
                lineage.kept(input: fileNumber, line: document.line, hash: hash)
                ids.removeAll(keepingCapacity: true)
                encoder.encode(document.text, into: &ids, matchAddedTokens: false)
                do { try writer.appendDocument(ids) } catch {
                    throw TaskFailure("shard \(name): \(error)", retryable: false)
                }
                sinceCheck += 1
                if sinceCheck >= 256, let context {
                    sinceCheck = 0
                    try TokenizeTaskSupport.stopIfAsked(context)
                }
            }
            stats.add(reader.stats)
            context?.progress(
                Double(fileNumber + 1) / Double(max(1, spec.files.count)) * 0.95,
                step: Int64(fileNumber + 1), totalSteps: Int64(spec.files.count))
        }
        return (stats, duplicates)
    }

    /// Finishes the shard (fsync, rename into place); refused, not retried, when a different shard of this name is committed.
    private static func commit(_ writer: ShardWriter, name: String) throws -> ShardInfo {
        do { return try writer.finish() } catch {
            switch error {
            case .conflictingShard:
                throw TaskFailure(
                    "\(error) — the dataset directory already holds a different shard of this name; write to a new dataset or location",
                    retryable: false)
            default:
                throw TaskFailure("cannot commit shard \(name): \(error)")
            }
        }
    }
}

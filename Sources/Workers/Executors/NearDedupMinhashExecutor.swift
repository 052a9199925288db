// `type: tokenize-minhash` — pass 1 of near-duplicate removal (docs/dedup.md): one task per input chunk, the same
// chunks as the tokenize job. Every document read (in the order the tokenize task reads it, so that both agree on
// its id `chunk:ordinal`) gets a MinHash signature; each of its bands becomes a record (band key, document id) in
// the file of the reducer that owns the key's range: `<dataset>/.neardup/buckets-shard-<i>-r<r>.records`. Memory
// is one signature and one 64 KiB buffer per reducer, whatever the chunk's size. Files are written to temporaries
// and renamed, so a retried task rewrites the same bytes and a killed one leaves no short file.

import APITypes
import DataShards
import Foundation
import NearDedup

public struct TokenizeMinhashExecutor: JobExecutor {
    public static let kind = NearDedupJobKinds.minhashName
    public init() {}

    public func run(_ task: TaskAssignment, context: ExecutionContext) async throws -> TaskResult {
        let spec = try TokenizeTaskSupport.decode(TokenizeTaskSpec.self, task, kind: "tokenize")
        let counts = try await context.runBlocking {
            let paths = try TokenizeInputFetch.localPaths(files: spec.files, sources: spec.sources, context: context)
            return try Self.sign(spec, context: context, localPaths: paths)
        }
        context.progress(1, message: "\(counts.records) bucket records of \(counts.documents) documents")
        return TaskResult(
            result: [
                "documents": .int(Int64(counts.documents)), "withoutWords": .int(Int64(counts.withoutWords)),
                "records": .int(Int64(counts.records)),
            ])
    }

    static func sign(_ spec: TokenizeTaskSpec, context: ExecutionContext?, localPaths: [String: String] = [:]) throws
        -> (documents: Int, withoutWords: Int, records: Int)
    {
        guard let settings = spec.nearDedup else {
            throw TaskFailure("a \(kind) task needs nearDedup settings; re-submit the tokenize job", retryable: false)
        }
        let hasher: MinHasher
        do { hasher = try MinHasher(settings.parameters) } catch {
            throw TaskFailure("spec.tokenize.nearDedup.\(error)", retryable: false)
        }
        let directory = LSHReduceTaskSpec.directory(spec.datasetDirectory)
        let writers: [RecordFileWriter]
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            writers = try (0..<settings.reducers).map {
                try RecordFileWriter(
                    path: LSHReduceTaskSpec.bucketFile(spec.datasetDirectory, chunk: spec.shardIndex, reducer: $0))
            }
        } catch { throw TaskFailure("near-duplicates: cannot create the bucket files in \(directory): \(error)") }
        let options = TokenizeTaskSupport.readerOptions(spec.input)
        var scratch = MinHasher.Scratch()
        var signature: [UInt32] = []
        var documents = 0
        var withoutWords = 0
        var records = 0
        for file in spec.files {
            let reader = try TokenizeTaskSupport.openReader(
                localPaths[file] ?? file, input: spec.input, options: options, context: context)
            while true {
                let document: InputDocument?
                do { document = try reader.next() } catch { throw TokenizeTaskSupport.failure(error) }
                guard let document else { break }
                let id = DocumentID(chunk: spec.shardIndex, ordinal: documents).rawValue
                documents += 1
                guard hasher.signature(of: document.text, scratch: &scratch, into: &signature) else {
                    withoutWords += 1
                    continue
                }
                for band in 0..<settings.parameters.bands {
                    let key = hasher.bandKey(signature, band: band)
                    do {
                        try writers[BucketRecord.reducer(ofKey: key, reducers: writers.count)].append(key, id)
                    } catch { throw TaskFailure("near-duplicates: \(error)") }
                    records += 1
                }
                if documents % 1024 == 0, let context { try TokenizeTaskSupport.stopIfAsked(context) }
            }
        }
        do { for writer in writers { try writer.finish(durable: true) } } catch {
            throw TaskFailure("near-duplicates: \(error)")
        }
        return (documents, withoutWords, records)
    }
}

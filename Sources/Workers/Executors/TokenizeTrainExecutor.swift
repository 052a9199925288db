// `type: train-tokenizer` — trains a byte-level BPE tokenizer on a sample of the input files and writes
// its tokenizer.json (atomically) where the tokenize tasks will read it. Deterministic: the sample is the
// first `sampleBytes` of text, reading the files in a fixed shuffled order (seeded by the file list), so a
// retried task trains the same tokenizer; an existing tokenizer.json with other content is an error.
// With `storeOutput` (no host location) the file is written in the attempt's private directory and stored
// through the artifact store; the completion registers it as the job's artifact (kind tokenizer), which the
// control plane hands to the tokenize tasks (`TokenizeReferencesAtDispatch`). A retry stores the same bytes
// under the same checksum.

import APITypes
import Checksum
import DataShards
import Foundation

public struct TokenizeTrainExecutor: JobExecutor {
    public static let kind = TokenizeJobKinds.trainTokenizerName
    public init() {}

    public func run(_ task: TaskAssignment, context: ExecutionContext) async throws -> TaskResult {
        let spec = try TokenizeTaskSupport.decode(TrainTokenizerTaskSpec.self, task, kind: "train-tokenizer")
        context.log(
            "training a \(spec.vocabularySize)-token vocabulary (\(spec.splitPattern)) on up to \(spec.sampleBytes) bytes of \(spec.files.count) file(s)",
            stream: .system)
        let stores = spec.storeOutput == true
        var local = spec
        if stores { local.output = context.workDirectory.appendingPathComponent("tokenizer.json").path }
        let (outcome, artifact) = try await context.runBlocking { [local] () throws -> (Outcome, ArtifactRecord) in
            let paths = try TokenizeInputFetch.localPaths(files: spec.files, sources: spec.sources, context: context)
            let outcome = try Self.train(local, context: context, localPaths: paths)
            let metadata = AnyJSON.object(["vocabularySize": .int(Int64(outcome.vocabularySize))])
            guard stores else {
                return (
                    outcome,
                    ArtifactRecord(
                        name: "tokenizer.json", location: spec.output, sha256: outcome.hash, bytes: outcome.bytes,
                        kind: "tokenizer", metadata: metadata)
                )
            }
            return (outcome, try Self.store(local.output, hash: outcome.hash, metadata: metadata, context: context))
        }
        context.log(
            "sampled \(outcome.sampledDocuments) documents, \(outcome.sampledBytes) bytes; wrote \(artifact.location) (sha256 \(outcome.hash))",
            stream: .system)
        return TaskResult(
            result: .object([
                "tokenizer": .string(artifact.location), "tokenizerHash": .string(outcome.hash),
                "vocabularySize": .int(Int64(outcome.vocabularySize)),
                "sampledDocuments": .int(Int64(outcome.sampledDocuments)),
                "sampledBytes": .int(Int64(outcome.sampledBytes)),
            ]), artifacts: [artifact])
    }

    /// Stores the trained file through the artifact store; its checksum must be the one trained.
    static func store(_ path: String, hash: String, metadata: AnyJSON, context: ExecutionContext) throws
        -> ArtifactRecord
    {
        let record: ArtifactRecord
        do {
            record = try context.artifactStore.store(
                file: URL(fileURLWithPath: path), name: "tokenizer.json", kind: "tokenizer", metadata: metadata)
        } catch {
            // Nothing is registered: the completion that would record the artifact is never sent.
            throw TaskFailure("cannot store the trained tokenizer.json: \(error)")
        }
        guard record.sha256 == hash else {
            throw TaskFailure(
                "the trained tokenizer.json changed while it was stored (sha256 \(record.sha256), trained \(hash))")
        }
        return record
    }

    struct Outcome: Sendable {
        var hash: String
        var bytes: Int64
        var vocabularySize: Int
        var sampledDocuments: Int
        var sampledBytes: Int
    }

    /// `localPaths`: where fetched inputs are, by name (the sample order is by name, so retries train the same).
    static func train(_ spec: TrainTokenizerTaskSpec, context: ExecutionContext?, localPaths: [String: String] = [:])
        throws -> Outcome
    {
        let pattern: SplitPattern = spec.splitPattern == "gpt2" ? .gpt2 : .llama3
        var trainer: BPETrainer
        do {
            trainer = try BPETrainer(
                vocabularySize: spec.vocabularySize, specialTokens: spec.specialTokens, splitPattern: pattern)
        } catch {
            throw TaskFailure("spec.train-tokenizer: \(error)", retryable: false)
        }
        let options = TokenizeTaskSupport.readerOptions(spec.input)
        var documents = 0
        var bytes = 0
        sampling: for file in sampleOrder(spec.files) {
            let reader = try TokenizeTaskSupport.openReader(
                localPaths[file] ?? file, input: spec.input, options: options, context: context)
            while true {
                let document: InputDocument?
                do { document = try reader.next() } catch { throw TokenizeTaskSupport.failure(error) }
                guard let document else { break }
                trainer.add(document.text)
                documents += 1
                bytes += document.text.utf8.count
                if bytes >= spec.sampleBytes { break sampling }
            }
        }
        let tokenizer: Tokenizer
        do { tokenizer = try trainer.train() } catch {
            throw TaskFailure("training failed: \(error)", retryable: false)
        }
        let output = spec.output
        if let existing = FileManager.default.contents(atPath: output) {
            // A retried attempt (the first one died after saving) trains the same file; anything else is not ours.
            guard SHA256.hex(of: [UInt8](existing)) == tokenizer.hash else {
                throw TaskFailure(
                    "\(output) already exists with other content; remove it or choose another output location",
                    retryable: false)
            }
        } else {
            do {
                try FileManager.default.createDirectory(
                    atPath: (output as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try tokenizer.save(to: output)
            } catch {
                throw TaskFailure("cannot write \(output): \(error)")
            }
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: output)[.size] as? NSNumber)??.int64Value ?? 0
        return Outcome(
            hash: tokenizer.hash, bytes: size, vocabularySize: tokenizer.vocabularySize,
            sampledDocuments: documents, sampledBytes: bytes)
    }

    /// The files in a fixed pseudo-random order (seeded by their paths), so the sample spreads over the inputs.
    static func sampleOrder(_ files: [String]) -> [String] { FileSampleOrder.shuffled(files) }
}

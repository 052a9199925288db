// Plans tokenize jobs: expands the input globs on the control plane's filesystem, splits the files into
// tasks of about one input chunk each (consecutive files in path order), and — when the tokenizer must be
// trained first — puts a `<name>-tokenizer` job (kind train-tokenizer) in front that the job waits for.

import APITypes
import ClusterModel
import Foundation

public struct TokenizePlanner: JobPlanner {
    public static let tokenizerJobSuffix = "-tokenizer"
    public static let dedupJobSuffix = "-dedup"
    public static let tokenizerFileName = "tokenizer.json"

    public init() {}

    static func settings(of manifest: JobManifest) throws -> TokenizeSettings {
        guard let value = manifest.spec.settings else {
            throw StoreError.invalid(field: "spec.tokenize", message: "missing settings for job type \"tokenize\"")
        }
        do { return try value.decode(TokenizeSettings.self) } catch {
            throw StoreError.invalid(field: "spec.tokenize", message: "cannot be read: \(error)")
        }
    }

    /// Where the tokenize tasks read the tokenizer: the given path, or the trained one in the dataset directory.
    static func tokenizerPath(_ settings: TokenizeSettings) -> String {
        settings.tokenizer.path ?? settings.datasetDirectory + "/" + tokenizerFileName
    }

    public func expand(_ manifest: JobManifest) throws -> [JobManifest] {
        guard manifest.spec.type == TokenizeJobKinds.tokenizeName else { return [manifest] }
        let settings = try Self.settings(of: manifest)
        let dedup = settings.dedup == true
        guard settings.tokenizer.train != nil || dedup else { return [manifest] }
        // Check the inputs here, so that a glob matching nothing is reported under spec.tokenize.
        _ = try Self.inputFiles(settings.inputs, options: settings.inputOptions, field: "spec.tokenize.inputs")
        let suffixes =
            (settings.tokenizer.train != nil ? [Self.tokenizerJobSuffix] : []) + (dedup ? [Self.dedupJobSuffix] : [])
        let longest = suffixes.map(\.count).max() ?? 0
        guard manifest.name.count + longest <= 63 else {
            throw StoreError.invalid(
                field: "metadata.name",
                message:
                    "expected at most \(63 - longest) characters for this tokenize job (its helper jobs are named \(suffixes.map { manifest.name + $0 }.joined(separator: ", "))), got \(manifest.name.count)"
            )
        }
        var jobs: [JobManifest] = []
        var main = manifest
        if let train = settings.tokenizer.train {
            let input = settings.inputOptions
            let trainSettings = TrainTokenizerSettings(
                inputs: settings.inputs, format: input.format, textField: input.textField, txtMode: input.txtMode,
                badInput: input.badInput, invalidUTF8: input.invalidUTF8, output: Self.tokenizerPath(settings),
                vocabularySize: train.vocabularySize,
                sampleBytes: train.sampleBytes ?? ByteSize(TokenizeSettings.defaultSampleBytes),
                specialTokens: train.specialTokens ?? TokenizeSettings.defaultSpecialTokens,
                splitPattern: train.splitPattern ?? "llama3")
            var trainer = manifest
            trainer.metadata.name = manifest.name + Self.tokenizerJobSuffix
            trainer.spec.type = TokenizeJobKinds.trainTokenizerName
            trainer.spec.settings = try WireCoding.decode(
                ManifestValue.self, from: try WireCoding.encode(trainSettings))
            jobs.append(trainer)
            if !main.spec.after.contains(trainer.name) { main.spec.after.append(trainer.name) }
        }
        if dedup {
            // The first pass: the same tasks hash their chunks' documents (no tokenizer needed, so it runs
            // alongside the training); the tokenize tasks then drop documents seen in an earlier chunk.
            var scan = manifest
            scan.metadata.name = manifest.name + Self.dedupJobSuffix
            scan.spec.type = TokenizeJobKinds.dedupScanName
            jobs.append(scan)
            if !main.spec.after.contains(scan.name) { main.spec.after.append(scan.name) }
        }
        return jobs + [main]
    }

    public func taskSpecs(for manifest: JobManifest) throws -> [AnyJSON] {
        let settings = try Self.settings(of: manifest)
        let input = settings.inputOptions
        let files = try Self.inputFiles(settings.inputs, options: input, field: "spec.tokenize.inputs")
        // A job that runs `after:` others may use a tokenizer one of them writes (a pipeline that tokenizes a
        // held-out set with the tokenizer trained for the main set); its tasks then check the file themselves.
        if let path = settings.tokenizer.path, manifest.spec.after.isEmpty,
            !FileManager.default.isReadableFile(atPath: path)
        {
            throw StoreError.invalid(
                field: "spec.tokenize.tokenizer.path",
                message:
                    "no readable file \(path) on the control plane's filesystem (it must be where every worker sees it, or be written by a job this one runs after:)"
            )
        }
        let chunks = Self.chunks(
            files, filesPerTask: settings.filesPerTask,
            bytesPerTask: settings.bytesPerTask?.bytes ?? TokenizeSettings.defaultBytesPerTask)
        let tokenizer = Self.tokenizerPath(settings)
        return try chunks.enumerated().map { index, chunk in
            try AnyJSON(
                encoding: TokenizeTaskSpec(
                    dataset: settings.output.dataset, datasetDirectory: settings.datasetDirectory, shardIndex: index,
                    shardCount: chunks.count, files: chunk.map(\.path), input: input, tokenizerPath: tokenizer,
                    endOfText: settings.tokenizer.endOfText
                        ?? settings.tokenizer.train.map { _ in
                            (settings.tokenizer.train?.specialTokens ?? TokenizeSettings.defaultSpecialTokens)[0]
                        }, dedup: settings.dedup == true))
        }
    }

    /// The files of every pattern (each file once, in pattern order then path order). A pattern that matches
    /// nothing, or a file whose format cannot be told from its name, fails the submission naming the pattern.
    static func inputFiles(_ patterns: [String], options: TokenizeInputOptions, field: String) throws -> [InputFile] {
        var seen = Set<String>()
        var files: [InputFile] = []
        for (i, pattern) in patterns.enumerated() {
            let matched = TokenizeInputGlob.expand(pattern)
            guard !matched.isEmpty else {
                throw StoreError.invalid(
                    field: "\(field)[\(i)]",
                    message:
                        "\"\(pattern)\" matches no files on the control plane's filesystem (inputs must be on a filesystem that the control plane and every worker see at the same path)"
                )
            }
            for file in matched where seen.insert(file.path).inserted {
                guard options.accepts(path: file.path) else {
                    throw StoreError.invalid(
                        field: "\(field)[\(i)]",
                        message:
                            "\(file.path): cannot tell the format from the name; expected .txt, .text, .jsonl or .ndjson, optionally with .gz or .zst, or set format: txt|jsonl"
                    )
                }
                files.append(file)
            }
        }
        return files
    }

    /// Consecutive files per task: `filesPerTask` each, or greedily up to `bytesPerTask` bytes on disk
    /// (at least one file per task; a file larger than the budget is a task of its own).
    static func chunks(_ files: [InputFile], filesPerTask: Int?, bytesPerTask: Int64) -> [[InputFile]] {
        if let filesPerTask {
            return stride(from: 0, to: files.count, by: filesPerTask).map {
                Array(files[$0..<min($0 + filesPerTask, files.count)])
            }
        }
        var chunks: [[InputFile]] = []
        var current: [InputFile] = []
        var bytes: Int64 = 0
        for file in files {
            if !current.isEmpty && bytes + file.bytes > bytesPerTask {
                chunks.append(current)
                current = []
                bytes = 0
            }
            current.append(file)
            bytes += file.bytes
        }
        if !current.isEmpty { chunks.append(current) }
        return chunks
    }
}

/// `spec.train-tokenizer`, as the planner reads it (and as a tokenize job's expansion writes it).
struct TrainTokenizerSettings: Codable, Equatable {
    var inputs: [String]
    var format: String?
    var textField: String?
    var txtMode: String?
    var badInput: String?
    var invalidUTF8: String?
    var output: String
    var vocabularySize: Int
    var sampleBytes: ByteSize?
    var specialTokens: [String]?
    var splitPattern: String?

    var inputOptions: TokenizeInputOptions {
        TokenizeInputOptions(
            format: format ?? "auto", textField: textField ?? "text", txtMode: txtMode ?? "document",
            badInput: badInput ?? "fail", invalidUTF8: invalidUTF8 ?? "replace")
    }
}

/// One task: train on a sample of every input file's documents, write the tokenizer.json.
public struct TrainTokenizerPlanner: JobPlanner {
    public init() {}

    public func taskSpecs(for manifest: JobManifest) throws -> [AnyJSON] {
        guard let value = manifest.spec.settings else {
            throw StoreError.invalid(
                field: "spec.train-tokenizer", message: "missing settings for job type \"train-tokenizer\"")
        }
        let settings: TrainTokenizerSettings
        do { settings = try value.decode(TrainTokenizerSettings.self) } catch {
            throw StoreError.invalid(field: "spec.train-tokenizer", message: "cannot be read: \(error)")
        }
        let input = settings.inputOptions
        let files = try TokenizePlanner.inputFiles(
            settings.inputs, options: input, field: "spec.train-tokenizer.inputs")
        return [
            try AnyJSON(
                encoding: TrainTokenizerTaskSpec(
                    files: files.map(\.path), input: input, output: settings.output,
                    vocabularySize: settings.vocabularySize,
                    sampleBytes: settings.sampleBytes?.bytes ?? TokenizeSettings.defaultSampleBytes,
                    specialTokens: settings.specialTokens ?? TokenizeSettings.defaultSpecialTokens,
                    splitPattern: settings.splitPattern ?? "llama3"))
        ]
    }
}

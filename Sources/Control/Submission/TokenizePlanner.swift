// Plans tokenize jobs: takes the resolved inputs `opsctl apply` uploaded (and URLs as they are), expands
// control-plane-local globs (plain paths a client submitted unresolved) on its own filesystem, splits the files into
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

    /// Where the tokenize tasks read the tokenizer: the given path or stored location, or the trained one in
    /// the dataset directory ("" for `tokenizer: {dataset:}`, which the task resolves when it runs, and for a
    /// trained tokenizer with no output.location, which is resolved when the task is handed out).
    static func tokenizerPath(_ settings: TokenizeSettings) -> String {
        if settings.tokenizer.dataset != nil { return "" }
        if settings.tokenizer.train != nil && settings.output.location == nil { return "" }
        return settings.tokenizer.path ?? settings.tokenizer.location ?? settings.datasetDirectory + "/"
            + tokenizerFileName
    }

    public func expand(_ manifest: JobManifest) throws -> [JobManifest] {
        guard manifest.spec.type == TokenizeJobKinds.tokenizeName else { return [manifest] }
        let settings = try Self.settings(of: manifest)
        let dedup = settings.dedup == true
        guard settings.tokenizer.train != nil || dedup || settings.nearDedup != nil else { return [manifest] }
        // Check the inputs here, so that a glob matching nothing is reported under spec.tokenize.
        _ = try Self.inputFiles(settings.inputs, options: settings.inputOptions, field: "spec.tokenize.inputs")
        let suffixes =
            (settings.tokenizer.train != nil ? [Self.tokenizerJobSuffix] : []) + (dedup ? [Self.dedupJobSuffix] : [])
            + NearDedupPlanning.suffixes(settings)
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
                badInput: input.badInput, invalidUTF8: input.invalidUTF8,
                // No host location: stored as the train job's artifact (`TokenizeReferencesAtDispatch`).
                output: settings.output.location == nil ? nil : Self.tokenizerPath(settings),
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
        if settings.nearDedup != nil { jobs += NearDedupPlanning.helperJobs(manifest, main: &main) }
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
        // Task i of a deduplicated dataset by name reads hash files 0..<i from one exchange listing.
        if settings.dedup == true && settings.output.location == nil
            && chunks.count > ExchangeStore.maxEntriesPerAnswer + 1
        {
            throw StoreError.invalid(
                field: "spec.tokenize.dedup",
                message:
                    "expected at most \(ExchangeStore.maxEntriesPerAnswer + 1) tasks for de-duplication with no output.location, got \(chunks.count); raise bytesPerTask or filesPerTask"
            )
        }
        if manifest.spec.type == NearDedupJobKinds.lshName {
            return try NearDedupPlanning.reduceTaskSpecs(settings, chunkCount: chunks.count)
        }
        let decontamination = try NearDedupPlanning.decontamination(settings)
        let tokenizer = Self.tokenizerPath(settings)
        return try chunks.enumerated().map { index, chunk in
            var spec = TokenizeTaskSpec(
                dataset: settings.output.dataset, datasetDirectory: settings.datasetDirectory, shardIndex: index,
                shardCount: chunks.count, files: chunk.map(\.path), input: input, tokenizerPath: tokenizer,
                endOfText: settings.tokenizer.endOfText
                    ?? settings.tokenizer.train.map { _ in
                        (settings.tokenizer.train?.specialTokens ?? TokenizeSettings.defaultSpecialTokens)[0]
                    }, dedup: settings.dedup == true)
            spec.sources = Self.sources(of: chunk)
            spec.uploadShards = settings.output.location == nil ? true : nil
            spec.tokenizerSHA256 = settings.tokenizer.sha256
            spec.tokenizerDataset = settings.tokenizer.dataset
            spec.nearDedup = settings.nearDedup?.resolved
            spec.decontamination = decontamination
            if settings.output.location == nil && manifest.spec.type == TokenizeJobKinds.tokenizeName {
                // Nothing is shared but the control plane: the helper jobs' outputs are found by job name when
                // the task is handed out (`TokenizeReferencesAtDispatch`).
                if settings.tokenizer.train != nil { spec.tokenizerJob = manifest.name + Self.tokenizerJobSuffix }
                if settings.dedup == true { spec.dedupJob = manifest.name + Self.dedupJobSuffix }
            }
            return try AnyJSON(encoding: spec)
        }
    }

    /// Where each file of a chunk is read: nil when all are control-plane-local paths (the workers read them
    /// in place), else one source per file (a local path then stands for itself).
    static func sources(of chunk: [InputFile]) -> [ResolvedInput]? {
        guard chunk.contains(where: { $0.source != nil }) else { return nil }
        return chunk.map { $0.source ?? ResolvedInput(name: $0.path, location: $0.path, sha256: nil, bytes: $0.bytes) }
    }

    /// The files of every input (each file once, in input order then path order): resolved inputs and URLs as
    /// given, control-plane-local patterns expanded here. A pattern that matches nothing, or a file whose format
    /// cannot be told from its name, fails the submission naming the input.
    static func inputFiles(_ inputs: [TokenizeInput], options: TokenizeInputOptions, field: String) throws
        -> [InputFile]
    {
        var seen = Set<String>()
        var files: [InputFile] = []
        for (i, input) in inputs.enumerated() {
            let pattern: String
            switch input {
            case .resolved(let resolved):
                files.append(try Self.remoteFile(resolved, options: options, field: "\(field)[\(i)]"))
                continue
            case .pattern(let text):
                guard let kind = InputLocationKind(text) else {
                    throw StoreError.invalid(
                        field: "\(field)[\(i)]", message: "expected \(InputLocationKind.expected), got \"\(text)\"")
                }
                if kind.isURL {
                    let url = ResolvedInput(name: text, location: text, sha256: nil, bytes: nil)
                    files.append(try Self.remoteFile(url, options: options, field: "\(field)[\(i)]"))
                    continue
                }
                pattern = text
            }
            let matched = TokenizeInputGlob.expand(pattern)
            guard !matched.isEmpty else {
                throw StoreError.invalid(
                    field: "\(field)[\(i)]",
                    message:
                        "\"\(pattern)\" matches no files on the control plane's filesystem (a path that reaches the control plane unresolved is control-plane-local and must be where every worker sees it; opsctl apply uploads local files instead)"
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

    /// A resolved input or URL as a planned file (its size, when unknown, counts as 0 against bytesPerTask).
    static func remoteFile(_ input: ResolvedInput, options: TokenizeInputOptions, field: String) throws -> InputFile {
        guard options.accepts(path: input.name) else {
            throw StoreError.invalid(
                field: field,
                message:
                    "\(input.name): cannot tell the format from the name; expected .txt, .text, .jsonl or .ndjson, optionally with .gz or .zst, or set format: txt|jsonl"
            )
        }
        return InputFile(path: input.name, bytes: input.bytes ?? 0, source: input)
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
    var inputs: [TokenizeInput]
    var format: String?
    var textField: String?
    var txtMode: String?
    var badInput: String?
    var invalidUTF8: String?
    /// nil: stored as an artifact of the job instead.
    var output: String?
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
                encoding: {
                    var spec = TrainTokenizerTaskSpec(
                        files: files.map(\.path), input: input, output: settings.output ?? "",
                        vocabularySize: settings.vocabularySize,
                        sampleBytes: settings.sampleBytes?.bytes ?? TokenizeSettings.defaultSampleBytes,
                        specialTokens: settings.specialTokens ?? TokenizeSettings.defaultSpecialTokens,
                        splitPattern: settings.splitPattern ?? "llama3")
                    spec.sources = TokenizePlanner.sources(of: files)
                    spec.storeOutput = settings.output == nil ? true : nil
                    return spec
                }())
        ]
    }
}

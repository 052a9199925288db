// The `tokenize` job kind (raw text → Megatron token shards) and its helper kind `train-tokenizer`:
// settings validation, shared by `opsctl apply` (local check with line numbers) and the control plane.
//
//   spec:
//     type: tokenize
//     tokenize:
//       inputs: ["/data/web/**/*.jsonl.zst", "/data/books/*.txt"]   # absolute globs: opsctl apply uploads them
//                                                                    # (or s3:// / http(s):// URLs, passed through)
//       format: auto              # auto (by extension) | txt | jsonl; .gz/.zst decompressed either way
//       textField: text           # jsonl
//       txtMode: document         # document | lines | paragraphs (txt)
//       badInput: fail            # fail | skip (skipped lines/files are counted)
//       invalidUTF8: replace      # replace (U+FFFD, counted) | reject (bad input)
//       output: {dataset: web-v1}                           # shards uploaded as blobs, read by name
//       # output: {dataset: web-v1, location: /data/tokens} # or shards in /data/tokens/web-v1/ (shared disk)
//       tokenizer: {path: /models/tokenizer.json}           # uploaded by opsctl apply; or {dataset: other}
//                                                           # (the tokenizer another dataset was made with), or train one first:
//       # tokenizer: {train: {vocabularySize: 32000, sampleBytes: 20MB, specialTokens: ["<|endoftext|>"], splitPattern: llama3}}
//       filesPerTask: 8           # or bytesPerTask: 256MiB (default 64MiB of input per task)
//       dedup: false              # exact de-duplication of documents across the dataset

import Foundation

public enum TokenizeJobKinds {
    public static let tokenizeName = "tokenize"
    public static let trainTokenizerName = "train-tokenizer"
    public static let dedupScanName = "tokenize-dedup-scan"

    static let settingsFields = [
        "inputs", "format", "textField", "txtMode", "badInput", "invalidUTF8", "output", "tokenizer",
        "filesPerTask", "bytesPerTask", "dedup", "nearDedup", "decontaminate",
    ]
    static let trainFields = ["vocabularySize", "sampleBytes", "specialTokens", "splitPattern"]

    /// `spec.type: tokenize`.
    public static let tokenize = JobKind(
        name: tokenizeName, summary: "turns text files (txt, jsonl, .gz, .zst) into token shards",
        settingsRequired: true
    ) { settings, context in
        settings.rejectUnknownKeys(allowed: settingsFields)
        if context.tasks != 1 {
            context.spec.report(
                "tasks",
                "expected 1 (or no tasks field): a tokenize job splits its inputs into tasks itself; use spec.tokenize.filesPerTask or bytesPerTask"
            )
        }
        if context.replicas > 1 {
            context.spec.report(
                "replicas", "expected 1 for a tokenize job (its tasks run independently), got \(context.replicas)")
        }
        validateInputOptions(settings)
        if let output = settings.object("output", required: true) {
            output.rejectUnknownKeys(allowed: ["dataset", "location"])
            _ = output.string("dataset", required: true, expected: datasetNameExpectation, isValid: isDatasetName)
            _ = output.string("location", expected: "an absolute directory path", isValid: isAbsolutePath)
        }
        if let tokenizer = settings.object("tokenizer", required: true) {
            tokenizer.rejectUnknownKeys(allowed: ["path", "train", "endOfText", "location", "sha256", "dataset"])
            let sources = ["path", "train", "location", "dataset"].filter(tokenizer.has)
            if sources.count != 1 {
                tokenizer.report(
                    nil,
                    "expected exactly one of path (an existing tokenizer.json), location (a stored one), dataset (the tokenizer a dataset was made with) or train (settings to train one first)"
                )
            }
            _ = tokenizer.string("path", expected: "an absolute path to a tokenizer.json", isValid: isAbsolutePath)
            _ = tokenizer.string(
                "location", expected: "a cp://blobs/<sha256>, s3:// or http(s):// location",
                isValid: { InputLocationKind($0)?.isURL == true })
            _ = tokenizer.string("sha256", expected: "64 lower-case hex digits", isValid: isSHA256)
            if tokenizer.has("sha256") && !tokenizer.has("location") {
                tokenizer.report("sha256", "only goes with location")
            }
            _ = tokenizer.string("dataset", expected: datasetNameExpectation, isValid: isDatasetName)
            let endOfText = tokenizer.string(
                "endOfText", expected: "a non-empty token text such as \"<|endoftext|>\"", isValid: { !$0.isEmpty })
            if let train = tokenizer.object("train") {
                let specials = validateTraining(train)
                if let endOfText, let specials, !specials.contains(endOfText) {
                    tokenizer.report(
                        "endOfText",
                        "expected one of the special tokens of train.specialTokens (\(specials.joined(separator: ", "))), got \"\(endOfText)\""
                    )
                }
            }
        }
        let files = settings.integer("filesPerTask", min: 1, max: 1_000_000)
        if settings.has("bytesPerTask") {
            _ = byteSize(settings, "bytesPerTask", min: 1)
            if files != nil {
                settings.report("bytesPerTask", "expected either filesPerTask or bytesPerTask, not both")
            }
        }
        _ = settings.bool("dedup")
        NearDedupJobKinds.validate(settings)
    }

    /// `spec.type: train-tokenizer`: trains a byte-level BPE tokenizer on a sample of the inputs and writes it
    /// to `output` (a tokenizer.json path). A tokenize job with `tokenizer.train` submits one of these first.
    public static let trainTokenizer = JobKind(
        name: trainTokenizerName,
        summary: "trains a byte-level BPE tokenizer on a sample of text files",
        settingsRequired: true
    ) { settings, context in
        settings.rejectUnknownKeys(
            allowed: ["inputs", "format", "textField", "txtMode", "badInput", "invalidUTF8", "output"] + trainFields)
        if context.tasks != 1 {
            context.spec.report("tasks", "expected 1 (or no tasks field): training runs as one task")
        }
        validateInputOptions(settings)
        // No output: the tokenizer.json is stored as an artifact of the job (what a tokenize job's trained
        // tokenizer with no output.location does).
        _ = settings.string(
            "output", expected: "an absolute path for the tokenizer.json (omit it to store it as an artifact)",
            isValid: isAbsolutePath)
        _ = validateTraining(settings)
    }

    /// `spec.type: tokenize-dedup-scan`: the first pass of a tokenize job with `dedup: true` (submitted by the
    /// control plane as `<name>-dedup`): each task hashes the documents of its input chunk. Same settings as tokenize.
    public static let dedupScan = JobKind(
        name: dedupScanName, summary: "hashes documents for a tokenize job's de-duplication",
        settingsRequired: true
    ) { settings, context in
        tokenize.validate(settings, context)
    }

    static func validateInputOptions(_ settings: ManifestObjectReader) {
        if let inputs = settings.list(
            "inputs", required: true, expected: "a non-empty list of absolute path globs or URLs")
        {
            if inputs.isEmpty {
                settings.report("inputs", "expected a non-empty list of absolute path globs or URLs, got an empty list")
            }
            for (item, path) in inputs { validateInput(item, path: path, problems: settings.problems) }
        }
        _ = settings.choice("format", ["auto", "txt", "jsonl"])
        _ = settings.string("textField", expected: "a non-empty JSON field name", isValid: { !$0.isEmpty })
        _ = settings.choice("txtMode", ["document", "lines", "paragraphs"])
        _ = settings.choice("badInput", ["fail", "skip"])
        _ = settings.choice("invalidUTF8", ["replace", "reject"])
    }

    /// One item of `inputs`: an absolute path/glob or URL, or a resolved file `{name, location, sha256, bytes}`
    /// (what `opsctl apply` writes after uploading a local file).
    static func validateInput(_ item: ManifestValue, path: String, problems: ManifestProblemCollector) {
        switch item.content {
        case .string(let text):
            guard let kind = InputLocationKind(text) else {
                problems.add(
                    path: path, line: item.line,
                    "expected \(InputLocationKind.expected), got \"\(text)\" (unknown scheme)")
                return
            }
            if kind == .path && !isAbsolutePath(text) {
                problems.add(
                    path: path, line: item.line,
                    "expected an absolute path or glob such as \"/data/**/*.jsonl.zst\", got \"\(text)\"")
            }
        case .object:
            let input = ManifestObjectReader(item, path: path, problems: problems)
            input.rejectUnknownKeys(allowed: ["name", "location", "sha256", "bytes"])
            _ = input.string("name", required: true, expected: "the file's name", isValid: { !$0.isEmpty })
            _ = input.string(
                "location", required: true, expected: InputLocationKind.expected,
                isValid: { InputLocationKind($0) != nil })
            _ = input.string("sha256", expected: "64 lower-case hex digits", isValid: isSHA256)
            _ = input.integer("bytes", min: 0)
        default:
            problems.add(
                path: path, line: item.line,
                "expected \(InputLocationKind.expected), or {name, location, sha256, bytes}, got \(item)")
        }
    }

    static func isSHA256(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    /// Returns the special tokens (default `["<|endoftext|>"]`) when valid.
    @discardableResult
    static func validateTraining(_ train: ManifestObjectReader) -> [String]? {
        let isTrainObject = train.path.hasSuffix(".train")
        if isTrainObject { train.rejectUnknownKeys(allowed: trainFields) }
        var specials: [String]? = ["<|endoftext|>"]
        if train.has("specialTokens") {
            specials = train.stringList(
                "specialTokens", expectedList: "a list of special token strings",
                expectedItem: "a non-empty string", isValid: { !$0.isEmpty })
            if let list = specials, Set(list).count != list.count {
                train.report("specialTokens", "expected distinct tokens, got duplicates")
            }
        }
        let minimum = Int64(256 + (specials?.count ?? 0) + 1)
        _ = train.integer("vocabularySize", required: true, min: minimum, max: 4_000_000)
        if train.has("sampleBytes") { _ = byteSize(train, "sampleBytes", min: 1) }
        _ = train.choice("splitPattern", ["gpt2", "llama3"])
        return specials
    }

    // MARK: Names and sizes

    static let datasetNameExpectation =
        "a dataset name (letters, digits, '-', '_', '.'; 1 to 100 characters, not starting with '.')"

    public static func isDatasetName(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 100, !s.hasPrefix(".") else { return false }
        return s.unicodeScalars.allSatisfy {
            ($0 >= "a" && $0 <= "z") || ($0 >= "A" && $0 <= "Z") || ($0 >= "0" && $0 <= "9") || $0 == "-" || $0 == "_"
                || $0 == "."
        }
    }

    static func isAbsolutePath(_ s: String) -> Bool { s.hasPrefix("/") && !s.contains("\0") }

    static func byteSize(_ reader: ManifestObjectReader, _ key: String, min: Int64) -> Int64? {
        let expected = "a size in bytes such as 20MB, 64MiB or 1048576"
        guard let value = reader.value(key) else { return nil }
        guard let bytes = ByteSize.parse(value), bytes >= min else {
            reader.report(key, "expected \(expected), got \(value)")
            return nil
        }
        return bytes
    }
}

/// Sizes written as integers (bytes) or with a unit: `20MB` (10^6), `64MiB`/`64Mi` (2^20), `1GB`, `512k`.
public struct ByteSize: Codable, Sendable, Equatable {
    public var bytes: Int64
    public init(_ bytes: Int64) { self.bytes = bytes }

    public static func parse(_ value: ManifestValue) -> Int64? {
        switch value.content {
        case .int(let i): return i >= 0 ? i : nil
        case .float(let f) where f >= 0 && f == f.rounded() && f < 9e15: return Int64(f)
        case .string(let s): return parse(s)
        default: return nil
        }
    }

    public static func parse(_ text: String) -> Int64? {
        let s = text.trimmingCharacters(in: .whitespaces)
        let digits = s.prefix { $0.isNumber || $0 == "." }
        guard !digits.isEmpty, let number = Double(digits), number >= 0 else { return nil }
        let unit = s.dropFirst(digits.count).trimmingCharacters(in: .whitespaces).lowercased()
        let multipliers: [String: Double] = [
            "": 1, "b": 1,
            "k": 1e3, "kb": 1e3, "ki": 1024, "kib": 1024,
            "m": 1e6, "mb": 1e6, "mi": 1_048_576, "mib": 1_048_576,
            "g": 1e9, "gb": 1e9, "gi": 1_073_741_824, "gib": 1_073_741_824,
            "t": 1e12, "tb": 1e12, "ti": 1_099_511_627_776, "tib": 1_099_511_627_776,
        ]
        guard let multiplier = multipliers[unit] else { return nil }
        let bytes = (number * multiplier).rounded()
        guard bytes < 9e18 else { return nil }
        return Int64(bytes)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let i = try? c.decode(Int64.self) {
            bytes = i
            return
        }
        let text = try c.decode(String.self)
        guard let parsed = ByteSize.parse(text) else {
            throw DecodingError.dataCorruptedError(
                in: c, debugDescription: "expected a size such as 20MB, got \"\(text)\"")
        }
        bytes = parsed
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(bytes)
    }
}

// `opsctl export --format hf`: a checkpoint of a train job as a Hugging Face GPT-2 directory that
// `GPT2LMHeadModel.from_pretrained(OUT)` and `AutoTokenizer.from_pretrained(OUT)` load. The directory is written
// under a temporary name beside OUT and renamed into place, so OUT is either the old one or the whole new one.

import DataShards
import Engine
import Foundation

/// What an export could not do, and what to do instead.
public enum HuggingFaceExportError: Error, CustomStringConvertible, Sendable, Equatable {
    case outputNotEmpty(path: String)
    case outputIsAFile(path: String)
    case checkpoint(location: String, reason: String)
    case tokenizerNeeded(vocabularySize: Int)
    case tokenizer(path: String, reason: String)
    case tokenizerLargerThanModel(path: String, tokenizerVocabulary: Int, modelVocabulary: Int)
    case model(String)
    case write(path: String, reason: String)

    public var description: String {
        switch self {
        case .outputNotEmpty(let path):
            return "\(path) exists and is not empty; pass --force to replace it, or name a new directory"
        case .outputIsAFile(let path):
            return "\(path) is a file; name a directory to export into"
        case .checkpoint(let location, let reason):
            return "--checkpoint \(location): \(reason)"
        case .tokenizerNeeded(let vocabularySize):
            return
                "the model has a vocabulary of \(vocabularySize) tokens, not the 256 bytes of a byte-level model; pass --tokenizer with the tokenizer.json its data was tokenized with"
        case .tokenizer(let path, let reason):
            return "--tokenizer \(path): \(reason)"
        case .tokenizerLargerThanModel(let path, let tokenizerVocabulary, let modelVocabulary):
            return
                "--tokenizer \(path) has \(tokenizerVocabulary) ids, more than the model's vocabulary of \(modelVocabulary); pass the tokenizer the model was trained with"
        case .model(let reason):
            return reason
        case .write(let path, let reason):
            return "cannot write \(path): \(reason)"
        }
    }
}

public enum HuggingFaceExport {
    public static let tokenizerFileName = "tokenizer.json"
    public static let tokenizerConfigFileName = "tokenizer_config.json"

    /// What was exported.
    public struct Summary: Sendable, Equatable {
        public var config: GPTConfig
        public var step: Int
        public var files: [String]
        /// false: the model reads raw UTF-8 bytes and tokenizer.json maps each byte to its own id.
        public var hasTrainedTokenizer: Bool
    }

    /// Exports the checkpoint at `checkpointPath` (a local file; `location` is how the user named it, for errors)
    /// with `tokenizerPath` (nil: byte-level, only for a 256-token vocabulary) into `output`.
    public static func export(
        checkpointPath: String, location: String, tokenizerPath: String?, to output: String, force: Bool
    ) throws(HuggingFaceExportError) -> Summary {
        try checkOutput(output, force: force)
        let checkpoint = try openCheckpoint(checkpointPath, location: location)
        let tokenizer = try loadTokenizer(tokenizerPath, vocabularySize: checkpoint.config.vocabularySize)
        let model: GPTModel
        do { model = try checkpoint.loadModel() } catch {
            throw .checkpoint(location: location, reason: "\(error)")
        }
        let endOfText = tokenizer.addedTokens.first { $0.special && $0.content == "<|endoftext|>" }.map { Int($0.id) }
        let files = [
            HuggingFaceGPT2Config.fileName, HuggingFaceGPT2.weightsFileName, tokenizerFileName,
            tokenizerConfigFileName,
        ]
        try writeAtomically(output, force: force) { directory throws(HuggingFaceExportError) in
            do {
                try HuggingFaceGPT2.write(model, step: checkpoint.step, endOfTextTokenID: endOfText, into: directory)
            } catch { throw .model("\(error)") }
            let tokenizerPath = (directory as NSString).appendingPathComponent(tokenizerFileName)
            do { try tokenizer.save(to: tokenizerPath) } catch {
                throw .write(path: tokenizerPath, reason: "\(error)")
            }
            try writeTokenizerConfig(
                into: directory, endOfText: endOfText.map { _ in "<|endoftext|>" },
                contextLength: checkpoint.config.contextLength)
        }
        return Summary(
            config: checkpoint.config, step: checkpoint.step, files: files, hasTrainedTokenizer: tokenizerPath != nil)
    }

    /// OUT may be absent or an empty directory; a non-empty one only with `force`; never a file.
    static func checkOutput(_ output: String, force: Bool) throws(HuggingFaceExportError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: output, isDirectory: &isDirectory) else { return }
        guard isDirectory.boolValue else { throw .outputIsAFile(path: output) }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: output)) ?? []
        if !entries.isEmpty && !force { throw .outputNotEmpty(path: output) }
    }

    private static func openCheckpoint(_ path: String, location: String) throws(HuggingFaceExportError) -> Checkpoint {
        guard FileManager.default.fileExists(atPath: path) else {
            throw .checkpoint(
                location: location,
                reason:
                    "no checkpoint file there (give a .safetensors path, or a location that `opsctl get artifacts` lists)"
            )
        }
        do { return try Checkpoint(path: path) } catch {
            throw .checkpoint(
                location: location,
                reason: "not a checkpoint of the engine's GPT (a train job's .safetensors artifact): \(error)")
        }
    }

    /// The given tokenizer, or for a 256-token model the byte tokenizer: ByteLevel BPE whose vocabulary maps each
    /// byte's ByteLevel character to the byte's value and has no merges, so Hugging Face encodes text to its UTF-8
    /// bytes exactly as the engine's byte-level runs do.
    static func loadTokenizer(_ path: String?, vocabularySize: Int) throws(HuggingFaceExportError) -> Tokenizer {
        guard let path else {
            guard vocabularySize == 256 else { throw .tokenizerNeeded(vocabularySize: vocabularySize) }
            do {
                return try Tokenizer(
                    vocabulary: (0..<256).map { (ByteLevel.encode([UInt8($0)]), UInt32($0)) }, merges: [],
                    addedTokens: [], splitPattern: .gpt2)
            } catch {
                preconditionFailure("the byte tokenizer is well formed: \(error)")
            }
        }
        let tokenizer: Tokenizer
        do { tokenizer = try Tokenizer.load(path: path) } catch { throw .tokenizer(path: path, reason: "\(error)") }
        guard tokenizer.vocabularySize <= vocabularySize else {
            throw .tokenizerLargerThanModel(
                path: path, tokenizerVocabulary: tokenizer.vocabularySize, modelVocabulary: vocabularySize)
        }
        return tokenizer
    }

    /// tokenizer_config.json: `AutoTokenizer.from_pretrained(OUT)` builds the fast tokenizer from tokenizer.json.
    private static func writeTokenizerConfig(into directory: String, endOfText: String?, contextLength: Int)
        throws(HuggingFaceExportError)
    {
        var object: [String: Any] = [
            "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": contextLength,
            "clean_up_tokenization_spaces": false,
        ]
        if let endOfText {
            object["bos_token"] = endOfText
            object["eos_token"] = endOfText
        }
        let path = (directory as NSString).appendingPathComponent(tokenizerConfigFileName)
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]),
            FileManager.default.createFile(atPath: path, contents: data)
        else { throw .write(path: path, reason: "cannot create the file") }
    }

    /// Runs `body` on a new directory beside `output`, then renames it to `output` (the old `output`, with
    /// `force`, is moved aside first and removed after). On any failure the temporary directory is removed.
    static func writeAtomically(
        _ output: String, force: Bool, _ body: (String) throws(HuggingFaceExportError) -> Void
    ) throws(HuggingFaceExportError) {
        let fm = FileManager.default
        let target = URL(fileURLWithPath: output).standardizedFileURL
        let parent = target.deletingLastPathComponent()
        let name = target.lastPathComponent
        let temporary = parent.appendingPathComponent(".\(name).partial-\(UUID().uuidString)")
        let aside = parent.appendingPathComponent(".\(name).replaced-\(UUID().uuidString)")
        do {
            try fm.createDirectory(at: parent, withIntermediateDirectories: true)
            try fm.createDirectory(at: temporary, withIntermediateDirectories: false)
        } catch {
            throw .write(path: output, reason: "cannot create a directory beside it: \(error.localizedDescription)")
        }
        do throws(HuggingFaceExportError) {
            try body(temporary.path)
            if fm.fileExists(atPath: target.path) {
                try checkOutput(target.path, force: force)
                guard rename(target.path, aside.path) == 0 else {
                    throw .write(path: output, reason: String(cString: strerror(errno)))
                }
            }
            guard rename(temporary.path, target.path) == 0 else {
                let reason = String(cString: strerror(errno))
                _ = rename(aside.path, target.path)
                throw .write(path: output, reason: reason)
            }
        } catch {
            try? fm.removeItem(at: temporary)
            throw error
        }
        try? fm.removeItem(at: aside)
    }
}

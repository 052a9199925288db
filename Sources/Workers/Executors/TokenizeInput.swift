// Shared by the tokenize and train-tokenizer executors: task specs off the wire, reader options, and the
// classification of input/tokenizer/shard errors into retryable or not.

import APITypes
import DataShards
import Foundation

enum TokenizeTaskSupport {
    static func decode<T: Decodable>(_ type: T.Type, _ task: TaskAssignment, kind: String) throws -> T {
        do { return try task.spec.decode(as: T.self) } catch {
            throw TaskFailure("spec: not a \(kind) task spec: \(WireCoding.describe(error))", retryable: false)
        }
    }

    static func readerOptions(_ input: TokenizeInputOptions) -> InputOptions {
        let split: TextSplit
        switch input.txtMode {
        case "lines": split = .lines
        case "paragraphs": split = .paragraphs
        default: split = .wholeFile
        }
        return InputOptions(
            textField: input.textField, textSplit: split, badInput: input.badInput == "skip" ? .skip : .fail,
            invalidUTF8: input.invalidUTF8 == "reject" ? .reject : .replace)
    }

    /// nil = by extension; otherwise the content type forced, compression still by extension.
    static func format(_ input: TokenizeInputOptions, path: String) -> InputFormat? {
        guard input.format != "auto" else { return nil }
        let name = path.lowercased()
        let compression: InputFormat.Compression =
            name.hasSuffix(".gz")
            ? .gzip
            : (name.hasSuffix(".zst") || name.hasSuffix(".zstd")) ? .zstd : .none
        return InputFormat(content: input.format == "jsonl" ? .jsonl : .text, compression: compression)
    }

    /// Bad input is not fixed by retrying; a read error on a (shared) filesystem may be.
    static func failure(_ error: InputError) -> TaskFailure {
        switch error {
        case .readFailed: return TaskFailure("bad input: \(error.description)", retryable: true)
        default: return TaskFailure("bad input: \(error.description)", retryable: false)
        }
    }

    /// Opens the next input file of a tokenize task, after honouring a stop request (checked between files).
    static func openReader(
        _ file: String, input: TokenizeInputOptions, options: InputOptions, context: ExecutionContext?
    ) throws -> DocumentReader {
        if let context { try stopIfAsked(context) }
        do {
            return try DocumentReader(path: file, options: options, format: format(input, path: file))
        } catch { throw failure(error) }
    }

    static func stopIfAsked(_ context: ExecutionContext) throws {
        if let preemption = context.preemption { throw ExecutionStopped.preempted(reason: preemption.reason) }
        try context.checkCancellation()
    }

    static func statsJSON(_ stats: InputStats, files: Int) -> AnyJSON {
        .object([
            "files": .int(Int64(files)), "documents": .int(Int64(stats.documents)), "lines": .int(Int64(stats.lines)),
            "bytes": .int(Int64(stats.bytes)), "blankLines": .int(Int64(stats.blankLines)),
            "emptyDocuments": .int(Int64(stats.emptyDocuments)),
            "replacedInvalidUTF8": .int(Int64(stats.replacedInvalidUTF8)),
            "skippedInvalidUTF8": .int(Int64(stats.skippedInvalidUTF8)),
            "skippedMalformedJSON": .int(Int64(stats.skippedMalformedJSON)),
            "skippedMissingField": .int(Int64(stats.skippedMissingField)),
            "skippedNonStringField": .int(Int64(stats.skippedNonStringField)),
            "skippedTooLong": .int(Int64(stats.skippedTooLong)),
            "skippedEmptyFiles": .int(Int64(stats.skippedEmptyFiles)),
            "skipped": .int(Int64(stats.skipped)),
        ])
    }

    /// The end-of-text id: the named token, else the first of the usual names the tokenizer has.
    static func endOfTextID(_ tokenizer: Tokenizer, named name: String?) throws -> UInt32 {
        if let name {
            guard let id = tokenizer.id(of: name) else {
                throw TaskFailure(
                    "spec.tokenize.tokenizer.endOfText: the tokenizer has no token \"\(name)\"", retryable: false)
            }
            return id
        }
        for candidate in ["<|endoftext|>", "<|end_of_text|>", "</s>"] {
            if let id = tokenizer.id(of: candidate) { return id }
        }
        throw TaskFailure(
            "the tokenizer has none of <|endoftext|>, <|end_of_text|>, </s>; name its end-of-text token in spec.tokenize.tokenizer.endOfText",
            retryable: false)
    }
}

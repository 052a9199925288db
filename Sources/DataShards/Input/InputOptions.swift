/// How a `.txt` file becomes documents.
public enum TextSplit: String, Sendable, CaseIterable {
    /// The whole file is one document (the default; bounded by `maxDocumentBytes`).
    case wholeFile
    /// Every non-blank line is a document.
    case lines
    /// Blocks separated by blank lines are documents.
    case paragraphs
}

/// What to do with a bad document, line or file (malformed JSON, missing or non-string text field,
/// rejected invalid UTF-8, empty file, over-long line or document).
public enum BadInputPolicy: String, Sendable {
    /// Stop with an `InputError` naming the file and line.
    case fail
    /// Skip it and count it in `InputStats`.
    case skip
}

/// What to do with bytes that are not valid UTF-8.
public enum InvalidUTF8Handling: String, Sendable {
    /// Replace each invalid sequence with U+FFFD and count the document in `InputStats.replacedInvalidUTF8`.
    case replace
    /// Treat the document as bad input (the `BadInputPolicy` decides: skip or fail).
    case reject
}

public struct InputOptions: Sendable {
    /// JSONL: the top-level string field holding the text.
    public var textField: String
    public var textSplit: TextSplit
    public var badInput: BadInputPolicy
    public var invalidUTF8: InvalidUTF8Handling
    /// Longest accepted line (bytes); longer lines are bad input. Memory per reader stays below about this.
    public var maxLineBytes: Int
    /// Largest accepted document (whole-file and paragraph modes).
    public var maxDocumentBytes: Int

    public init(
        textField: String = "text", textSplit: TextSplit = .wholeFile, badInput: BadInputPolicy = .fail,
        invalidUTF8: InvalidUTF8Handling = .replace, maxLineBytes: Int = 64 << 20, maxDocumentBytes: Int = 256 << 20
    ) {
        self.textField = textField
        self.textSplit = textSplit
        self.badInput = badInput
        self.invalidUTF8 = invalidUTF8
        self.maxLineBytes = maxLineBytes
        self.maxDocumentBytes = maxDocumentBytes
    }
}

/// Counts of what a reader produced and skipped.
public struct InputStats: Sendable, Equatable {
    public var documents = 0
    public var lines = 0
    /// Decompressed bytes read.
    public var bytes = 0
    public var blankLines = 0
    public var emptyDocuments = 0
    public var replacedInvalidUTF8 = 0
    public var skippedInvalidUTF8 = 0
    public var skippedMalformedJSON = 0
    public var skippedMissingField = 0
    public var skippedNonStringField = 0
    public var skippedTooLong = 0
    public var skippedEmptyFiles = 0

    public init() {}

    /// All skipped items (documents, lines or files).
    public var skipped: Int {
        skippedInvalidUTF8 + skippedMalformedJSON + skippedMissingField + skippedNonStringField + skippedTooLong
            + skippedEmptyFiles
    }

    public mutating func add(_ o: InputStats) {
        documents += o.documents
        lines += o.lines
        bytes += o.bytes
        blankLines += o.blankLines
        emptyDocuments += o.emptyDocuments
        replacedInvalidUTF8 += o.replacedInvalidUTF8
        skippedInvalidUTF8 += o.skippedInvalidUTF8
        skippedMalformedJSON += o.skippedMalformedJSON
        skippedMissingField += o.skippedMissingField
        skippedNonStringField += o.skippedNonStringField
        skippedTooLong += o.skippedTooLong
        skippedEmptyFiles += o.skippedEmptyFiles
    }
}

/// One document and where it came from.
public struct InputDocument: Sendable, Equatable {
    public var text: String
    public var file: String
    /// 1-based line where the document starts (1 for whole-file documents).
    public var line: Int

    public init(text: String, file: String, line: Int) {
        self.text = text
        self.file = file
        self.line = line
    }
}

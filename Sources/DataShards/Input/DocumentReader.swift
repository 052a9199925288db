import Foundation

/// The layout of an input file, from its name: `.txt`, `.jsonl` (also `.ndjson`), each optionally
/// compressed as `.gz` or `.zst`/`.zstd`.
public struct InputFormat: Sendable, Equatable {
    public enum Content: String, Sendable { case text, jsonl }
    public enum Compression: String, Sendable { case none, gzip, zstd }
    public var content: Content
    public var compression: Compression

    public init(content: Content, compression: Compression) {
        self.content = content
        self.compression = compression
    }

    /// Detects the format from the file name; nil when the extension is not one of ours.
    public init?(path: String) {
        var name = (path as NSString).lastPathComponent.lowercased()
        var compression = Compression.none
        for (ext, c) in [(".gz", Compression.gzip), (".zst", .zstd), (".zstd", .zstd)] where name.hasSuffix(ext) {
            compression = c
            name.removeLast(ext.count)
        }
        if name.hasSuffix(".jsonl") || name.hasSuffix(".ndjson") {
            self.init(content: .jsonl, compression: compression)
        } else if name.hasSuffix(".txt") || name.hasSuffix(".text") {
            self.init(content: .text, compression: compression)
        } else {
            return nil
        }
    }
}

/// Streams the documents of one input file. `.jsonl`: one document per line (the `textField` string);
/// `.txt`: by `textSplit`. Bad documents are skipped and counted or stop the read, per `options.badInput`.
/// Unreadable files and corrupt compressed streams always throw. Not thread-safe: one reader per thread.
public final class DocumentReader {
    public let path: String
    public let format: InputFormat
    public let options: InputOptions
    public private(set) var stats = InputStats()
    private let lines: LineReader
    private var json: JSONLineParser
    private var finished = false
    private var paragraph: [UInt8] = []
    private var paragraphLine = 0
    private var paragraphTooLarge = false

    public init(path: String, options: InputOptions = InputOptions(), format: InputFormat? = nil) throws(InputError) {
        guard let format = format ?? InputFormat(path: path) else { throw .unsupportedFormat(file: path) }
        self.path = path
        self.format = format
        self.options = options
        json = JSONLineParser(field: options.textField)
        let source: ByteSource
        switch format.compression {
        case .none: source = try PlainFileSource(path: path)
        case .gzip: source = try GzipSource(path: path)
        case .zstd: source = try ZstdSource(path: path)
        }
        let limit =
            format.content == .text && options.textSplit == .wholeFile ? options.maxDocumentBytes : options.maxLineBytes
        lines = LineReader(source: source, maxLineBytes: limit)
    }

    /// Reads every document of `path`, calling `body` for each; returns the counts.
    public static func forEachDocument(
        path: String, options: InputOptions = InputOptions(),
        _ body: (InputDocument) throws -> Void
    ) throws -> InputStats {
        let reader = try DocumentReader(path: path, options: options)
        while let doc = try reader.next() { try body(doc) }
        return reader.stats
    }

    /// The next document, or nil at the end of the file.
    public func next() throws(InputError) -> InputDocument? {
        if finished { return nil }
        switch format.content {
        case .jsonl: return try nextJSONL()
        case .text:
            switch options.textSplit {
            case .wholeFile: return try nextWholeFile()
            case .lines: return try nextTextLine()
            case .paragraphs: return try nextParagraph()
            }
        }
    }

    // MARK: Bad input

    /// Applies the policy: throws under `.fail`, counts under `.skip`.
    private func bad(_ error: InputError) throws(InputError) {
        if options.badInput == .fail { throw error }
        switch error {
        case .malformedJSON: stats.skippedMalformedJSON += 1
        case .missingTextField: stats.skippedMissingField += 1
        case .textFieldNotString: stats.skippedNonStringField += 1
        case .invalidUTF8: stats.skippedInvalidUTF8 += 1
        case .lineTooLong, .documentTooLarge: stats.skippedTooLong += 1
        case .emptyFile: stats.skippedEmptyFiles += 1
        default: throw error
        }
    }

    private func atEnd() throws(InputError) -> InputDocument? {
        finished = true
        stats.lines = lines.lineNumber
        stats.bytes = lines.bytesRead
        if lines.bytesRead == 0 { try bad(.emptyFile(file: path)) }
        return nil
    }

    /// Decodes UTF-8 per the options; nil when the document was skipped.
    private func text(_ bytes: UnsafeRawBufferPointer, line: Int) throws(InputError) -> String? {
        let buf = bytes.bindMemory(to: UInt8.self)
        if let s = String(validating: buf, as: UTF8.self) { return s }
        if options.invalidUTF8 == .replace {
            stats.replacedInvalidUTF8 += 1
            return String(decoding: buf, as: UTF8.self)
        }
        try bad(.invalidUTF8(file: path, line: line))
        return nil
    }

    private func text(_ bytes: [UInt8], line: Int) throws(InputError) -> String? {
        if let s = String(validating: bytes, as: UTF8.self) { return s }
        if options.invalidUTF8 == .replace {
            stats.replacedInvalidUTF8 += 1
            return String(decoding: bytes, as: UTF8.self)
        }
        try bad(.invalidUTF8(file: path, line: line))
        return nil
    }

    private func emit(_ text: String, line: Int) -> InputDocument? {
        if text.isEmpty {
            stats.emptyDocuments += 1
            return nil
        }
        stats.documents += 1
        return InputDocument(text: text, file: path, line: line)
    }

    private static func isBlank(_ bytes: UnsafeRawBufferPointer) -> Bool {
        for b in bytes where !(b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A || b == 0x0B || b == 0x0C) {
            return false
        }
        return true
    }

    // MARK: Formats

    private func nextWholeFile() throws(InputError) -> InputDocument? {
        var all: [UInt8] = []
        while let line = try lines.next() {
            switch line {
            case .tooLong(let n):
                // A single line above the limit means the whole document is.
                try bad(.documentTooLarge(file: path, line: n, limit: options.maxDocumentBytes))
                return try atEnd()
            case .line(let bytes, let n):
                if n > 1 { all.append(0x0A) }
                all.append(contentsOf: bytes)
                if all.count > options.maxDocumentBytes {
                    try bad(.documentTooLarge(file: path, line: 1, limit: options.maxDocumentBytes))
                    while try lines.next() != nil {}
                    return try atEnd()
                }
            }
        }
        // The reader drops the final "\n"; restore it if the file had one (lines counts a trailing empty line as none).
        let hadTrailingNewline = lines.bytesRead > all.count
        if hadTrailingNewline && lines.bytesRead == all.count + 1 { all.append(0x0A) }
        _ = try atEnd()
        if lines.bytesRead == 0 { return nil }
        guard let s = try text(all, line: 1) else { return nil }
        return emit(s, line: 1)
    }

    private func nextTextLine() throws(InputError) -> InputDocument? {
        while let line = try lines.next() {
            switch line {
            case .tooLong(let n): try bad(.lineTooLong(file: path, line: n, limit: options.maxLineBytes))
            case .line(var bytes, let n):
                if Self.isBlank(bytes) {
                    stats.blankLines += 1
                    continue
                }
                if bytes.last == 0x0D { bytes = UnsafeRawBufferPointer(rebasing: bytes.dropLast()) }
                if let s = try text(bytes, line: n), let doc = emit(s, line: n) { return doc }
            }
        }
        return try atEnd()
    }

    private func flushParagraph() throws(InputError) -> InputDocument? {
        defer {
            paragraph.removeAll(keepingCapacity: true)
            paragraphTooLarge = false
        }
        if paragraphTooLarge {
            try bad(.documentTooLarge(file: path, line: paragraphLine, limit: options.maxDocumentBytes))
            return nil
        }
        if paragraph.isEmpty { return nil }
        guard let s = try text(paragraph, line: paragraphLine) else { return nil }
        return emit(s, line: paragraphLine)
    }

    private func nextParagraph() throws(InputError) -> InputDocument? {
        while let line = try lines.next() {
            switch line {
            case .tooLong(let n):
                if paragraph.isEmpty && !paragraphTooLarge { paragraphLine = n }
                paragraphTooLarge = true
                paragraph.removeAll()
            case .line(var bytes, let n):
                if Self.isBlank(bytes) {
                    stats.blankLines += 1
                    if let doc = try flushParagraph() { return doc }
                    continue
                }
                if bytes.last == 0x0D { bytes = UnsafeRawBufferPointer(rebasing: bytes.dropLast()) }
                if paragraph.isEmpty && !paragraphTooLarge {
                    paragraphLine = n
                } else if !paragraphTooLarge {
                    paragraph.append(0x0A)
                }
                if !paragraphTooLarge { paragraph.append(contentsOf: bytes) }
                if paragraph.count > options.maxDocumentBytes {
                    paragraphTooLarge = true
                    paragraph.removeAll()
                }
            }
        }
        if let doc = try flushParagraph() { return doc }
        return try atEnd()
    }

    private func nextJSONL() throws(InputError) -> InputDocument? {
        while let line = try lines.next() {
            switch line {
            case .tooLong(let n): try bad(.lineTooLong(file: path, line: n, limit: options.maxLineBytes))
            case .line(let bytes, let n):
                if Self.isBlank(bytes) {
                    stats.blankLines += 1
                    continue
                }
                if let doc = try jsonDocument(bytes, line: n) { return doc }
            }
        }
        return try atEnd()
    }

    private func jsonDocument(_ bytes: UnsafeRawBufferPointer, line: Int) throws(InputError) -> InputDocument? {
        let value: JSONLineValue
        do {
            let parsed = try json.parse(Self.droppingBOM(bytes), replaceLoneSurrogates: options.invalidUTF8 == .replace)
            if parsed.replaced { stats.replacedInvalidUTF8 += 1 }
            value = parsed.value
        } catch {
            guard let repaired = try jsonAfterError(error, bytes, line: line) else { return nil }
            value = repaired
        }
        switch value {
        case .text(let s): return emit(s, line: line)
        case .missingField: try bad(.missingTextField(file: path, line: line, field: options.textField))
        case .notString(let found):
            try bad(.textFieldNotString(file: path, line: line, field: options.textField, found: found))
        case .notObject(let found):
            try bad(.malformedJSON(file: path, line: line, reason: "expected a JSON object, found \(found)"))
        }
        return nil
    }

    /// A line the parser refused: invalid UTF-8 anywhere in it is reported (or replaced, then parsed again)
    /// before any JSON error, as the policy says; nil when the line is skipped.
    private func jsonAfterError(_ error: JSONLineError, _ bytes: UnsafeRawBufferPointer, line: Int) throws(InputError)
        -> JSONLineValue?
    {
        let buffer = bytes.bindMemory(to: UInt8.self)
        if error == .loneSurrogate || String(validating: buffer, as: UTF8.self) == nil {
            guard error != .loneSurrogate, options.invalidUTF8 == .replace else {
                try bad(.invalidUTF8(file: path, line: line))
                return nil
            }
            stats.replacedInvalidUTF8 += 1
            let repaired = Array(String(decoding: buffer, as: UTF8.self).utf8)
            let result = repaired.withUnsafeBytes { raw in
                Result { () throws(JSONLineError) in
                    try json.parse(Self.droppingBOM(raw), replaceLoneSurrogates: true).value
                }
            }
            switch result {
            case .success(let value): return value
            case .failure(let error):
                try bad(.malformedJSON(file: path, line: line, reason: Self.reason(error)))
                return nil
            }
        }
        try bad(.malformedJSON(file: path, line: line, reason: Self.reason(error)))
        return nil
    }

    /// A UTF-8 byte-order mark before a line's JSON is an encoding marker of the file (or of one of several
    /// files joined together), not text: skipped, as Foundation's parser did (Python's json.loads refuses it).
    static func droppingBOM(_ bytes: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        guard bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF else { return bytes }
        return UnsafeRawBufferPointer(rebasing: bytes.dropFirst(3))
    }

    private static func reason(_ error: JSONLineError) -> String {
        switch error {
        case .malformed(let reason): return reason
        case .invalidUTF8: return "invalid UTF-8"
        case .loneSurrogate: return "a \\uD800-\\uDFFF escape without its other half"
        }
    }
}

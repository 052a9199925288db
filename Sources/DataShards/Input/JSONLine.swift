// DataShards/Input: the text field of one JSONL line, exactly as Python's `json.loads(line)[field]` gives it
// (Python's json is what the Hugging Face reference side reads JSONL with).
//
// Why not Foundation: on Linux `JSONSerialization` drops a raw U+FEFF at the start of a string and right after
// an escape (`"\n<U+FEFF>..."`): 13 of 2,411 documents of one corpus tokenized differently from their text.
// `JSONDecoder` keeps U+FEFF but takes the first of duplicate keys where Python takes the last, and refuses
// Python's NaN/Infinity literals. This scanner follows Python's grammar (RFC 8259 plus NaN, Infinity,
// -Infinity; control characters below 0x20 refused inside strings, as json.loads' strict mode does), takes the
// last duplicate, materializes only the one field it is asked for, and validates UTF-8 as it goes: 546-555 MB/s
// of JSONL per CPU-second against 148-150 with `JSONSerialization` (TokenizerBench --input-only, docs/tokenizer.md).
// Differences left: nesting deeper than Python's recursion limit (~1,000) is accepted here; a lone surrogate
// escape (`\ud800`), which Python keeps in a str that cannot be encoded as UTF-8, is reported as
// `.loneSurrogate` or replaced by U+FFFD (the input's invalid-UTF-8 policy decides).

/// What a JSONL line holds under the text field.
enum JSONLineValue: Equatable {
    case text(String)
    case missingField
    /// The field is there but is not a string: "a number", "null", "a boolean", "an array", "an object".
    case notString(found: String)
    /// The line is valid JSON but not an object.
    case notObject(found: String)
}

enum JSONLineError: Error, Equatable {
    /// Not JSON; the reason is worded like Python's ("Expecting ',' delimiter at byte 12").
    case malformed(String)
    /// A byte sequence that is not UTF-8 inside a string (outside strings any non-ASCII byte is malformed JSON).
    case invalidUTF8
    /// The text field holds a `\uD800`-`\uDFFF` escape without its other half.
    case loneSurrogate
}

/// Extracts one field from JSONL lines. Reuses its buffers: make one per reader (not thread-safe).
struct JSONLineParser {
    let field: [UInt8]
    /// Open containers of the line being parsed (`{` or `[`): iterative, so no nesting depth overflows a stack.
    private var open: [UInt8] = []
    private var decoded: [UInt8] = []
    private var keyScratch: [UInt8] = []

    init(field: String) {
        self.field = Array(field.utf8)
    }

    /// The text field of `line` (without its newline). `replaceLoneSurrogates`: U+FFFD instead of an error;
    /// `replaced` says whether that happened.
    mutating func parse(_ line: UnsafeRawBufferPointer, replaceLoneSurrogates: Bool) throws(JSONLineError) -> (
        value: JSONLineValue, replaced: Bool
    ) {
        guard let base = line.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            throw .malformed("Expecting value at byte 1")
        }
        var cursor = Cursor(p: base, end: line.count)
        open.removeAll(keepingCapacity: true)
        var top: JSONKind?
        var found: JSONLineValue?
        var foundLoneSurrogate = false // reported only if this value is the last text field (Python: last wins)
        var capture = false
        values: while true {
            cursor.skipWhitespace()
            guard cursor.i < cursor.end else { throw cursor.malformed("Expecting value") }
            let kind = try JSONKind(startingWith: cursor.p[cursor.i], cursor)
            if top == nil { top = kind }
            let capturing = capture
            capture = false
            if capturing && kind != .string {
                found = .notString(found: kind.description)
                foundLoneSurrogate = false
            }
            switch kind {
            case .object, .array:
                cursor.i += 1
                cursor.skipWhitespace()
                let close: UInt8 = kind == .object ? 0x7D : 0x5D
                if cursor.i < cursor.end && cursor.p[cursor.i] == close {
                    cursor.i += 1
                } else {
                    open.append(kind == .object ? 0x7B : 0x5B)
                    if kind == .object { capture = try key(&cursor) }
                    continue values
                }
            case .string:
                if capturing {
                    cursor.sawLoneSurrogate = false
                    found = .text(try cursor.decodeString(into: &decoded))
                    foundLoneSurrogate = cursor.sawLoneSurrogate
                } else {
                    _ = try cursor.skipString()
                }
            case .number, .boolean, .null: try cursor.skipScalar()
            }
            try closeContainers(&cursor)
            if open.isEmpty { break }
            if open.last == 0x7B { capture = try key(&cursor) }
        }
        cursor.skipWhitespace()
        guard cursor.i == cursor.end else { throw cursor.malformed("Extra data") }
        guard top == .object else { return (.notObject(found: top?.description ?? "nothing"), false) }
        if foundLoneSurrogate && !replaceLoneSurrogates { throw .loneSurrogate }
        return (found ?? .missingField, foundLoneSurrogate)
    }

    /// After a value: closes every container that ends here and consumes the `,` before the next value
    /// (for an object, `key` reads the next key). Leaves `open` empty when the top-level value is complete.
    private mutating func closeContainers(_ cursor: inout Cursor) throws(JSONLineError) {
        while let container = open.last {
            cursor.skipWhitespace()
            guard cursor.i < cursor.end else { throw cursor.malformed("Expecting ',' delimiter") }
            let b = cursor.p[cursor.i]
            if b == 0x2C {
                cursor.i += 1
                return
            }
            // '{'+2 = '}', '['+2 = ']'
            guard b == container + 2 else { throw cursor.malformed("Expecting ',' delimiter") }
            cursor.i += 1
            open.removeLast()
        }
    }

    /// Reads `"key" :` and says whether it is the text field of the top-level object.
    private mutating func key(_ cursor: inout Cursor) throws(JSONLineError) -> Bool {
        cursor.skipWhitespace()
        guard cursor.i < cursor.end, cursor.p[cursor.i] == 0x22 else {
            throw cursor.malformed("Expecting property name enclosed in double quotes")
        }
        let start = cursor.i
        let escaped = try cursor.skipString()
        var matches = false
        if open.count == 1 {
            if escaped {
                // Python keeps a lone surrogate in a key; as WTF-8 bytes it can never equal the (valid) field name.
                var again = Cursor(p: cursor.p, end: cursor.end, surrogatesAsWTF8: true)
                again.i = start
                _ = try again.decodeString(into: &keyScratch, collectingOnly: true)
                matches = keyScratch == field
            } else {
                let length = cursor.i - start - 2
                let p = cursor.p + start + 1
                matches = length == field.count && field.indices.allSatisfy { p[$0] == field[$0] }
            }
        }
        cursor.skipWhitespace()
        guard cursor.i < cursor.end, cursor.p[cursor.i] == 0x3A else {
            throw cursor.malformed("Expecting ':' delimiter")
        }
        cursor.i += 1
        return matches
    }
}

/// The type of a JSON value, known from its first byte.
private enum JSONKind: Equatable, CustomStringConvertible {
    case object, array, string, number, boolean, null

    init(startingWith b: UInt8, _ cursor: Cursor) throws(JSONLineError) {
        switch b {
        case 0x7B: self = .object
        case 0x5B: self = .array
        case 0x22: self = .string
        case 0x74, 0x66: self = .boolean // true, false
        case 0x6E: self = .null
        case 0x2D, 0x30...0x39, 0x4E, 0x49: self = .number // -, digits, NaN, Infinity
        default: throw cursor.malformed("Expecting value")
        }
    }

    var description: String {
        switch self {
        case .object: return "an object"
        case .array: return "an array"
        case .string: return "a string"
        case .number: return "a number"
        case .boolean: return "a boolean"
        case .null: return "null"
        }
    }
}

/// A position in one line's bytes.
private struct Cursor {
    let p: UnsafePointer<UInt8>
    let end: Int
    let surrogatesAsWTF8: Bool
    var i = 0
    /// Set by `decodeString` when it met a lone surrogate (encoded as U+FFFD).
    var sawLoneSurrogate = false

    init(p: UnsafePointer<UInt8>, end: Int, surrogatesAsWTF8: Bool = false) {
        self.p = p
        self.end = end
        self.surrogatesAsWTF8 = surrogatesAsWTF8
    }

    func malformed(_ what: String) -> JSONLineError { .malformed("\(what) at byte \(i + 1)") }

    /// Python's json whitespace: space, tab, LF, CR.
    mutating func skipWhitespace() {
        while i < end {
            let b = p[i]
            guard b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 else { return }
            i += 1
        }
    }

    /// true, false, null, NaN, Infinity, -Infinity or a number (`-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?`).
    mutating func skipScalar() throws(JSONLineError) {
        for word in Self.literals where matches(word) {
            i += word.count
            return
        }
        let start = i
        if p[i] == 0x2D { i += 1 }
        guard i < end, isDigit(p[i]) else {
            i = start
            throw malformed("Expecting value")
        }
        if p[i] == 0x30 { i += 1 } else { skipDigits() }
        if i + 1 < end, p[i] == 0x2E, isDigit(p[i + 1]) {
            i += 1
            skipDigits()
        }
        if i < end, p[i] | 0x20 == 0x65 {
            var j = i + 1
            if j < end, p[j] == 0x2B || p[j] == 0x2D { j += 1 }
            if j < end, isDigit(p[j]) {
                i = j
                skipDigits()
            }
        }
    }

    private static let literals: [[UInt8]] = ["true", "false", "null", "NaN", "Infinity", "-Infinity"].map {
        Array($0.utf8)
    }

    private func matches(_ word: [UInt8]) -> Bool {
        guard end - i >= word.count else { return false }
        for k in 0..<word.count where p[i + k] != word[k] { return false }
        return true
    }

    private func isDigit(_ b: UInt8) -> Bool { b &- 0x30 < 10 }

    private mutating func skipDigits() {
        while i < end && isDigit(p[i]) { i += 1 }
    }

    /// Validates the string starting at the quote at `i`; returns whether it holds escapes.
    mutating func skipString() throws(JSONLineError) -> Bool {
        let start = i
        i += 1
        var escaped = false
        while i < end {
            let b = p[i]
            if b >= 0x20 && b < 0x80 && b != 0x22 && b != 0x5C {
                i += 1
            } else if b == 0x22 {
                i += 1
                return escaped
            } else if b == 0x5C {
                escaped = true
                try skipEscape()
            } else if b >= 0x80 {
                try skipUTF8Sequence()
            } else {
                throw malformed("Invalid control character")
            }
        }
        i = start
        throw malformed("Unterminated string starting")
    }

    /// The string starting at the quote at `i`, with escapes resolved. `collectingOnly`: only fill `buffer`
    /// (for keys), return "".
    mutating func decodeString(into buffer: inout [UInt8], collectingOnly: Bool = false) throws(JSONLineError) -> String
    {
        let start = i
        i += 1
        var run = i
        var escaped = false
        buffer.removeAll(keepingCapacity: true)
        while i < end {
            let b = p[i]
            if b >= 0x20 && b < 0x80 && b != 0x22 && b != 0x5C {
                i += 1
            } else if b == 0x22 {
                if escaped || collectingOnly {
                    buffer.append(contentsOf: UnsafeBufferPointer(start: p + run, count: i - run))
                }
                i += 1
                if collectingOnly { return "" }
                // Valid UTF-8 by construction (checked here, escapes encoded here).
                if !escaped {
                    return String(decoding: UnsafeBufferPointer(start: p + run, count: i - 1 - run), as: UTF8.self)
                }
                return buffer.withUnsafeBufferPointer { String(decoding: $0, as: UTF8.self) }
            } else if b == 0x5C {
                buffer.append(contentsOf: UnsafeBufferPointer(start: p + run, count: i - run))
                escaped = true
                try decodeEscape(into: &buffer)
                run = i
            } else if b >= 0x80 {
                try skipUTF8Sequence()
            } else {
                throw malformed("Invalid control character")
            }
        }
        i = start
        throw malformed("Unterminated string starting")
    }

    /// `\x` at `i`: checks it and moves past it.
    private mutating func skipEscape() throws(JSONLineError) {
        guard i + 1 < end else { throw malformed("Invalid \\escape") }
        switch p[i + 1] {
        case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74: i += 2
        case 0x75:
            _ = try hex4(at: i + 2)
            i += 6
        default: throw malformed("Invalid \\escape")
        }
    }

    /// `\x` at `i`: appends its UTF-8 and moves past it. A `\uD800`-`\uDBFF` followed by `\uDC00`-`\uDFFF` is
    /// one scalar (as in Python); either half alone is a lone surrogate.
    private mutating func decodeEscape(into buffer: inout [UInt8]) throws(JSONLineError) {
        guard i + 1 < end else { throw malformed("Invalid \\escape") }
        let simple: UInt8
        switch p[i + 1] {
        case 0x22, 0x5C, 0x2F: simple = p[i + 1]
        case 0x62: simple = 0x08
        case 0x66: simple = 0x0C
        case 0x6E: simple = 0x0A
        case 0x72: simple = 0x0D
        case 0x74: simple = 0x09
        case 0x75:
            var scalar = try hex4(at: i + 2)
            i += 6
            if scalar & 0xFC00 == 0xD800, i + 5 < end, p[i] == 0x5C, p[i + 1] == 0x75 {
                let low = try hex4(at: i + 2)
                if low & 0xFC00 == 0xDC00 {
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                }
            }
            appendUTF8(scalar, to: &buffer)
            return
        default: throw malformed("Invalid \\escape")
        }
        buffer.append(simple)
        i += 2
    }

    private func hex4(at j: Int) throws(JSONLineError) -> UInt32 {
        guard j + 4 <= end else { throw malformed("Invalid \\uXXXX escape") }
        var value: UInt32 = 0
        for k in j..<(j + 4) {
            let b = p[k]
            let digit: UInt8
            switch b {
            case 0x30...0x39: digit = b - 0x30
            case 0x41...0x46: digit = b - 0x41 + 10
            case 0x61...0x66: digit = b - 0x61 + 10
            default: throw malformed("Invalid \\uXXXX escape")
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    private mutating func appendUTF8(_ scalar: UInt32, to buffer: inout [UInt8]) {
        guard let s = Unicode.Scalar(scalar) else { // only surrogates fail here
            if surrogatesAsWTF8 {
                buffer.append(contentsOf: [0xED, UInt8(0x80 | (scalar >> 6) & 0x3F), UInt8(0x80 | scalar & 0x3F)])
                return
            }
            sawLoneSurrogate = true
            buffer.append(contentsOf: [0xEF, 0xBF, 0xBD])
            return
        }
        UTF8.encode(s) { buffer.append($0) }
    }

    /// A multi-byte UTF-8 sequence at `i` (Unicode Table 3-7: no overlong forms, no surrogates, at most U+10FFFF).
    private mutating func skipUTF8Sequence() throws(JSONLineError) {
        let lead = p[i]
        let count: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF // allowed range of the second byte
        switch lead {
        case 0xC2...0xDF: count = 2
        case 0xE0:
            count = 3
            low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: count = 3
        case 0xED:
            count = 3
            high = 0x9F
        case 0xF0:
            count = 4
            low = 0x90
        case 0xF1...0xF3: count = 4
        case 0xF4:
            count = 4
            high = 0x8F
        default: throw .invalidUTF8
        }
        guard i + count <= end, p[i + 1] >= low, p[i + 1] <= high else { throw .invalidUTF8 }
        for k in 2..<count where p[i + k] & 0xC0 != 0x80 { throw .invalidUTF8 }
        i += count
    }
}

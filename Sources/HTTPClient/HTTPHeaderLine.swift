// One line of a response's header block, parsed from the bytes libcurl hands the header callback. Trimming each
// line with Foundation's `trimmingCharacters(in:)` went through NSString and was ~1.8 % of all CPU in
// `ControlBench --batch 1` (`perf record -a -g`, docs/leases.md, "A claim of one task"); this is one byte scan.

/// A header-block line: a status line (`HTTP/1.1 200 OK`), a field (`Name: value`, both trimmed of ASCII blanks),
/// or anything else (the blank line that ends the block, a line without a colon), which the client ignores.
enum HTTPHeaderLine: Equatable {
    case status(Int)
    case field(name: String, value: String)
    case other

    init(_ bytes: UnsafeRawBufferPointer) {
        let line = Self.trimmed(bytes, from: 0, to: bytes.count)
        if Self.startsWithHTTPSlash(bytes, line) {
            self = .status(Self.statusCode(bytes, line))
        } else if let colon = (line.lowerBound..<line.upperBound).first(where: { bytes[$0] == UInt8(ascii: ":") }) {
            let name = Self.trimmed(bytes, from: line.lowerBound, to: colon)
            let value = Self.trimmed(bytes, from: colon + 1, to: line.upperBound)
            self = .field(name: Self.text(bytes, name), value: Self.text(bytes, value))
        } else {
            self = .other
        }
    }

    private static func isBlank(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
            || byte == UInt8(ascii: "\n")
    }

    /// `start..<end` without its leading and trailing ASCII blanks.
    private static func trimmed(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Range<Int> {
        precondition(0 <= start && start <= end && end <= bytes.count, "a header range inside its line")
        var lower = start
        var upper = end
        while lower < upper, isBlank(bytes[lower]) { lower += 1 }
        while upper > lower, isBlank(bytes[upper - 1]) { upper -= 1 }
        return lower..<upper
    }

    private static func startsWithHTTPSlash(_ bytes: UnsafeRawBufferPointer, _ line: Range<Int>) -> Bool {
        let prefix = "HTTP/".utf8
        guard line.count >= prefix.count else { return false }
        return zip(prefix, bytes[line.lowerBound..<(line.lowerBound + prefix.count)]).allSatisfy { $0 == $1 }
    }

    /// The second space-separated token of a status line as a number; 0 when it is missing or not a number.
    private static func statusCode(_ bytes: UnsafeRawBufferPointer, _ line: Range<Int>) -> Int {
        var index = line.lowerBound
        while index < line.upperBound, bytes[index] != UInt8(ascii: " ") { index += 1 }
        while index < line.upperBound, bytes[index] == UInt8(ascii: " ") { index += 1 }
        var code = 0
        var digits = 0
        while index < line.upperBound, bytes[index] != UInt8(ascii: " ") {
            let byte = bytes[index]
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), digits < 18 else { return 0 }
            code = code * 10 + Int(byte - UInt8(ascii: "0"))
            digits += 1
            index += 1
        }
        return digits == 0 ? 0 : code
    }

    private static func text(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }
}

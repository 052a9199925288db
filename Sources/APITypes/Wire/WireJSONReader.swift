// The worker protocol's hot messages read without `JSONDecoder` (issue 15; docs/leases.md, "The worker protocol
// read and written directly"). At batch 1 end to end the control plane's `JSONDecoder` of the report batch was
// 5.5 % of all CPU and the worker's decode of the answer 4.7 % (`perf` of `ControlBench --batch 1`): Foundation's
// generic machinery (a value tree, then keyed containers, metadata lookups, existentials) for a body of ~300 bytes.

import ClusterModel
import Foundation

/// A pull reader of one JSON text, for the message types that know their own shape (`WireJSONReadable`). It accepts
/// a strict subset of what `WireCoding.decoder()` accepts, and reads it to the same value; anything else (an
/// unknown or repeated member, a number it cannot read exactly as `JSONDecoder` does, an escape in a member name,
/// invalid JSON) is a `Refusal`, and the caller decodes with `JSONDecoder`, which either reads it or explains what
/// is wrong. So the reader never needs an error message of its own, and a refusal costs no more than the work done
/// before it. `WireJSONReaderTests` holds it to `JSONDecoder` on samples and on thousands of mutated texts.
struct WireJSONReader {
    /// The text is not one this reader reads; `JSONDecoder` decides.
    struct Refusal: Error {}

    /// Nesting of `AnyJSON` values the reader follows before it refuses (`JSONBodyCheck.maxDepth` bounds request
    /// bodies before they get here; this bounds the reader's recursion on any text).
    static let maxDepth = 64

    private let bytes: UnsafeRawBufferPointer
    private var index = 0
    private var depth = 0

    private init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// Reads the whole of `data` with `read`, or nil when any part is refused or text follows the value.
    static func read<Value>(
        _ data: Data, _ read: (inout WireJSONReader) throws(Refusal) -> Value
    ) -> Value? {
        data.withUnsafeBytes { buffer -> Value? in
            var reader = WireJSONReader(bytes: buffer)
            do {
                let value = try read(&reader)
                reader.skipWhitespace()
                return reader.index == buffer.count ? value : nil
            } catch {
                return nil
            }
        }
    }

    // MARK: Structure

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    /// The next byte after whitespace, not consumed.
    private mutating func peek() throws(Refusal) -> UInt8 {
        skipWhitespace()
        guard index < bytes.count else { throw Refusal() }
        return bytes[index]
    }

    private mutating func expect(_ byte: UInt8) throws(Refusal) {
        guard try peek() == byte else { throw Refusal() }
        index += 1
    }

    /// Consumes `null` when it is next. `JSONDecoder`'s `decodeIfPresent` reads a null member as absent.
    mutating func null() throws(Refusal) -> Bool {
        guard try peek() == UInt8(ascii: "n") else { return false }
        try literal("null")
        return true
    }

    private mutating func literal(_ text: StaticString) throws(Refusal) {
        let length = text.utf8CodeUnitCount
        guard index + length <= bytes.count else { throw Refusal() }
        let matches = text.withUTF8Buffer { expected in
            (0..<length).allSatisfy { bytes[index + $0] == expected[$0] }
        }
        guard matches else { throw Refusal() }
        index += length
    }

    /// A JSON object whose member names are among `names` (at most 64), each at most once; `member` reads the value
    /// of the name at the index it is given. Returns which names were present, one bit per index.
    mutating func object(
        _ names: [StaticString], _ member: (inout WireJSONReader, Int) throws(Refusal) -> Void
    ) throws(Refusal) -> UInt64 {
        precondition(names.count <= 64, "a wire type with more than 64 members")
        try expect(UInt8(ascii: "{"))
        var seen: UInt64 = 0
        if try peek() == UInt8(ascii: "}") {
            index += 1
            return seen
        }
        while true {
            let name = try memberName()
            guard let position = names.firstIndex(where: { equal(name, $0) }) else { throw Refusal() }
            let bit = UInt64(1) << UInt64(position)
            guard seen & bit == 0 else { throw Refusal() }
            seen |= bit
            try expect(UInt8(ascii: ":"))
            try member(&self, position)
            let next = try peek()
            index += 1
            if next == UInt8(ascii: "}") { return seen }
            guard next == UInt8(ascii: ",") else { throw Refusal() }
        }
    }

    /// A member name without escapes, as the byte range of its text.
    private mutating func memberName() throws(Refusal) -> Range<Int> {
        try expect(UInt8(ascii: "\""))
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return start..<(index - 1)
            }
            guard byte != UInt8(ascii: "\\"), byte >= 0x20 else { throw Refusal() }
            index += 1
        }
        throw Refusal()
    }

    private func equal(_ range: Range<Int>, _ name: StaticString) -> Bool {
        guard range.count == name.utf8CodeUnitCount else { return false }
        return name.withUTF8Buffer { expected in
            (0..<range.count).allSatisfy { bytes[range.lowerBound + $0] == expected[$0] }
        }
    }

    /// A JSON array, each item read by `item`.
    mutating func array<Item>(_ item: (inout WireJSONReader) throws(Refusal) -> Item) throws(Refusal) -> [Item] {
        try expect(UInt8(ascii: "["))
        var items: [Item] = []
        if try peek() == UInt8(ascii: "]") {
            index += 1
            return items
        }
        while true {
            items.append(try item(&self))
            let next = try peek()
            index += 1
            if next == UInt8(ascii: "]") { return items }
            guard next == UInt8(ascii: ",") else { throw Refusal() }
        }
    }

    // MARK: Scalars

    /// An integer written without fraction or exponent, within Int64. Any other number is refused:
    /// `JSONDecoder` decides whether `3.0` or `1e2` is an integer.
    mutating func int64() throws(Refusal) -> Int64 {
        let number = try numberText()
        guard !number.hasFractionOrExponent, let value = Int64(number.text) else { throw Refusal() }
        return value
    }

    mutating func int() throws(Refusal) -> Int {
        guard let value = Int(exactly: try int64()) else { throw Refusal() }
        return value
    }

    /// Any JSON number as a finite double, correctly rounded (as `JSONDecoder` reads it).
    mutating func double() throws(Refusal) -> Double {
        try finiteDouble(try numberText().text)
    }

    /// A number's text as a double; one that overflows to infinity or underflows to zero is refused, as
    /// `JSONDecoder` may treat either as an error.
    private func finiteDouble(_ text: String) throws(Refusal) -> Double {
        guard let value = Double(text), value.isFinite else { throw Refusal() }
        if value == 0 {
            let mantissa = text.prefix { $0 != "e" && $0 != "E" }
            guard mantissa.allSatisfy({ $0 == "0" || $0 == "." || $0 == "-" }) else { throw Refusal() }
        }
        return value
    }

    mutating func bool() throws(Refusal) -> Bool {
        switch try peek() {
        case UInt8(ascii: "t"):
            try literal("true")
            return true
        case UInt8(ascii: "f"):
            try literal("false")
            return false
        default: throw Refusal()
        }
    }

    /// The text of a number in JSON's grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    private mutating func numberText() throws(Refusal) -> (text: String, hasFractionOrExponent: Bool) {
        _ = try peek()
        let start = index
        if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { throw Refusal() }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            skipDigits()
        }
        var hasFractionOrExponent = false
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            hasFractionOrExponent = true
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else { throw Refusal() }
            skipDigits()
        }
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            hasFractionOrExponent = true
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard index < bytes.count, isDigit(bytes[index]) else { throw Refusal() }
            skipDigits()
        }
        // 64 characters hold every number the writers send; a longer one is left to `JSONDecoder`.
        guard index - start <= 64 else { throw Refusal() }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        return (text, hasFractionOrExponent)
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private mutating func skipDigits() {
        while index < bytes.count, isDigit(bytes[index]) { index += 1 }
    }

    /// A JSON string: valid UTF-8, no raw control characters, escapes decoded (a `\u` surrogate pair as one
    /// scalar; a lone surrogate is refused).
    mutating func string() throws(Refusal) -> String {
        try expect(UInt8(ascii: "\""))
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return try validated(UnsafeRawBufferPointer(rebasing: bytes[start..<(index - 1)]))
            }
            if byte == UInt8(ascii: "\\") { return try escapedString(from: start) }
            guard byte >= 0x20 else { throw Refusal() }
            index += 1
        }
        throw Refusal()
    }

    private func validated(_ text: UnsafeRawBufferPointer) throws(Refusal) -> String {
        guard let string = String(validating: text, as: UTF8.self) else { throw Refusal() }
        return string
    }

    /// The rest of a string that holds an escape, from its first byte at `start`.
    private mutating func escapedString(from start: Int) throws(Refusal) -> String {
        var utf8 = Array(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let string = String(validating: utf8, as: UTF8.self) else { throw Refusal() }
                return string
            case UInt8(ascii: "\\"):
                try escape(into: &utf8)
            case 0..<0x20:
                throw Refusal()
            default:
                utf8.append(byte)
            }
        }
        throw Refusal()
    }

    private mutating func escape(into utf8: inout [UInt8]) throws(Refusal) {
        guard index < bytes.count else { throw Refusal() }
        let byte = bytes[index]
        index += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(byte)
        case UInt8(ascii: "b"): utf8.append(0x08)
        case UInt8(ascii: "f"): utf8.append(0x0C)
        case UInt8(ascii: "n"): utf8.append(0x0A)
        case UInt8(ascii: "r"): utf8.append(0x0D)
        case UInt8(ascii: "t"): utf8.append(0x09)
        case UInt8(ascii: "u"):
            var value = try hex4()
            if (0xD800..<0xDC00).contains(value) {
                try literal("\\u")
                let low = try hex4()
                guard (0xDC00..<0xE000).contains(low) else { throw Refusal() }
                value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
            }
            guard let scalar = Unicode.Scalar(value) else { throw Refusal() }
            UTF8.encode(scalar) { utf8.append($0) }
        default: throw Refusal()
        }
    }

    private mutating func hex4() throws(Refusal) -> UInt32 {
        guard index + 4 <= bytes.count else { throw Refusal() }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            index += 1
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw Refusal()
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    /// A timestamp as `WireCoding` writes it (a string that `WireCoding.parseTimestamp` reads). Seconds as a
    /// number, which `WireCoding.decoder()` also accepts, are left to it.
    mutating func date() throws(Refusal) -> Date {
        guard let date = WireCoding.parseTimestamp(try string()) else { throw Refusal() }
        return date
    }

    /// A string naming one case of `Value`.
    mutating func enumeration<Value: RawRepresentable>(_ type: Value.Type) throws(Refusal) -> Value
    where Value.RawValue == String {
        guard let value = Value(rawValue: try string()) else { throw Refusal() }
        return value
    }

    // MARK: Any JSON

    /// Any JSON value, as `AnyJSON`'s `Decodable` conformance reads it: an integer without fraction or exponent
    /// within Int64 is `.int`; a number with a fraction or exponent is `.double` unless it is whole and below 1e19
    /// (then `JSONDecoder` may read it as `.int`, so it is refused); a longer integer is refused too.
    mutating func json() throws(Refusal) -> AnyJSON {
        switch try peek() {
        case UInt8(ascii: "{"): return try nested { (r) throws(Refusal) in .object(try r.jsonObject()) }
        case UInt8(ascii: "["):
            return try nested { (r) throws(Refusal) in .array(try r.array { (r) throws(Refusal) in try r.json() }) }
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool(try bool())
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        default:
            let number = try numberText()
            if !number.hasFractionOrExponent {
                guard let value = Int64(number.text) else { throw Refusal() }
                return .int(value)
            }
            let value = try finiteDouble(number.text)
            // A whole number near Int64's range may be what `JSONDecoder` reads as an integer; beyond 1e19 it cannot.
            guard value.rounded() != value || abs(value) >= 1e19 else { throw Refusal() }
            return .double(value)
        }
    }

    private mutating func nested(_ read: (inout WireJSONReader) throws(Refusal) -> AnyJSON) throws(Refusal) -> AnyJSON {
        guard depth < Self.maxDepth else { throw Refusal() }
        depth += 1
        defer { depth -= 1 }
        return try read(&self)
    }

    /// An object's members by name. A repeated name is refused (`JSONDecoder` keeps one of them).
    private mutating func jsonObject() throws(Refusal) -> [String: AnyJSON] {
        try expect(UInt8(ascii: "{"))
        var members: [String: AnyJSON] = [:]
        if try peek() == UInt8(ascii: "}") {
            index += 1
            return members
        }
        while true {
            let name = try string()
            try expect(UInt8(ascii: ":"))
            guard members.updateValue(try json(), forKey: name) == nil else { throw Refusal() }
            let next = try peek()
            index += 1
            if next == UInt8(ascii: "}") { return members }
            guard next == UInt8(ascii: ",") else { throw Refusal() }
        }
    }

    /// `Resources`: every member required, accelerators an object of counts.
    mutating func resources() throws(Refusal) -> Resources {
        var cpuMillis: Int64 = 0
        var memoryBytes: Int64 = 0
        var accelerators: [AcceleratorType: Int64] = [:]
        let seen = try object(["cpuMillis", "memoryBytes", "accelerators"]) { (r, member) throws(Refusal) in
            switch member {
            case 0: cpuMillis = try r.int64()
            case 1: memoryBytes = try r.int64()
            default: accelerators = try r.accelerators()
            }
        }
        guard seen == 0b111 else { throw Refusal() }
        return Resources(cpuMillis: cpuMillis, memoryBytes: memoryBytes, accelerators: accelerators)
    }

    private mutating func accelerators() throws(Refusal) -> [AcceleratorType: Int64] {
        guard case .object(let members) = try json() else { throw Refusal() }
        var counts: [AcceleratorType: Int64] = [:]
        for (name, value) in members {
            // `Resources.init` drops zero counts where `JSONDecoder` (the synthesized conformance) keeps them.
            guard case .int(let count) = value, count != 0 else { throw Refusal() }
            counts[AcceleratorType(rawValue: name)] = count
        }
        return counts
    }
}

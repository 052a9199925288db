// A small YAML emitter for `-o yaml`: block mappings (keys sorted, as `-o json` sorts them), block sequences,
// `[]`/`{}` for empty collections, literal blocks (`|`, `|-`) for multi-line text and double quotes wherever a
// plain scalar would be read back as something else. Its output is read back by `Sources/YAML` (the repository's
// libyaml parser, core schema) into the same JSON value; that round trip is its test.
//
// Quoting is conservative on purpose: besides what YAML 1.2 would resolve to a number, boolean or null, it
// quotes YAML 1.1's `yes`/`no`/`on`/`off`, and every string that starts with a digit, sign or dot (timestamps,
// versions like `1.10`), so readers on the older spec (PyYAML, go-yaml) get strings too — as `kubectl -o yaml`
// quotes its timestamps.

import APITypes
import Foundation

enum YAMLEmitter {
    /// Encodes `value` with the wire coders and emits it as one YAML document (ends with a newline).
    static func encode<T: Encodable>(_ value: T) throws -> String {
        let data = try WireCoding.encoder().encode(value)
        return document(try WireCoding.decoder().decode(AnyJSON.self, from: data))
    }

    /// One YAML document for `value`, ending with a newline.
    static func document(_ value: AnyJSON) -> String {
        var out = ""
        switch value {
        case .object(let members) where !members.isEmpty: mapping(members, indent: 0, into: &out)
        case .array(let items) where !items.isEmpty: sequence(items, indent: 0, into: &out)
        default:
            if case .string(let text) = value, let block = literalBlock(text, indent: 2) {
                out += block.header + "\n" + block.body
            } else {
                out += inline(value) + "\n"
            }
        }
        return out
    }

    // MARK: Collections

    private static func mapping(_ members: [String: AnyJSON], indent: Int, into out: inout String) {
        let pad = String(repeating: " ", count: indent)
        for key in members.keys.sorted() {
            let value = members[key]!
            out += pad + scalar(key) + ":"
            nested(value, indent: indent + 2, into: &out)
        }
    }

    private static func sequence(_ items: [AnyJSON], indent: Int, into out: inout String) {
        let pad = String(repeating: " ", count: indent)
        for item in items {
            out += pad + "-"
            nested(item, indent: indent + 2, into: &out)
        }
    }

    /// What follows `key:` or `-`: ` scalar`, a literal block, or a nested collection on the next lines. A
    /// collection inside a sequence starts on the dash's line (`- name: a`), as people write it.
    private static func nested(_ value: AnyJSON, indent: Int, into out: inout String) {
        switch value {
        case .object(let members) where !members.isEmpty:
            var inner = ""
            mapping(members, indent: indent, into: &inner)
            out += joinAfterDash(inner, indent: indent, dashed: out.hasSuffix("-"))
        case .array(let items) where !items.isEmpty:
            var inner = ""
            sequence(items, indent: indent, into: &inner)
            out += joinAfterDash(inner, indent: indent, dashed: out.hasSuffix("-"))
        case .string(let text):
            if let block = literalBlock(text, indent: indent) {
                out += " " + block.header + "\n" + block.body
            } else {
                out += " " + scalar(text) + "\n"
            }
        default:
            out += " " + inline(value) + "\n"
        }
    }

    /// After `-`, the first line of `inner` moves up beside the dash; after `key:`, `inner` starts on a new line.
    private static func joinAfterDash(_ inner: String, indent: Int, dashed: Bool) -> String {
        guard dashed else { return "\n" + inner }
        return " " + inner.dropFirst(indent)
    }

    // MARK: Scalars

    /// A value on one line: numbers, booleans, null, `[]`, `{}`, or a string (quoted when it must be).
    private static func inline(_ value: AnyJSON) -> String {
        switch value {
        case .null: return "null"
        case .bool(let flag): return flag ? "true" : "false"
        case .int(let number): return String(number)
        case .double(let number):
            if number.isNaN { return ".nan" }
            if number.isInfinite { return number < 0 ? "-.inf" : ".inf" }
            // Swift's shortest round-trip form (`2.31`, `1e-05`); a whole number keeps its `.0` and stays a float.
            return String(number)
        case .string(let text): return scalar(text)
        case .array: return "[]"
        case .object: return "{}"
        }
    }

    /// `text` plain when every YAML reader takes it for this string, else double-quoted with escapes.
    static func scalar(_ text: String) -> String {
        isPlainSafe(text) ? text : doubleQuoted(text)
    }

    /// Words YAML 1.1 resolves to booleans or null; YAML 1.2 (and our parser) to strings. Quoted for both.
    private static let yaml11Words: Set<String> = [
        "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF",
        "true", "True", "TRUE", "false", "False", "FALSE", "null", "Null", "NULL", "~",
    ]

    private static func isPlainSafe(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, let last = text.unicodeScalars.last else { return false }
        if yaml11Words.contains(text) { return false }
        // Indicators that start something else, and starts that may read as a number, a timestamp or a version.
        if "-?:,[]{}#&*!|>'\"%@`.+0123456789 \t".unicodeScalars.contains(first) { return false }
        if last == " " || last == "\t" || last == ":" { return false }
        if text.contains(": ") || text.contains(" #") || text.contains("\t") { return false }
        return text.unicodeScalars.allSatisfy(isPrintable)
    }

    /// What YAML may hold unescaped: no C0/C1 controls, no DEL, no line or paragraph separators, no BOM.
    private static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        if v < 0x20 || v == 0x7F || (0x80...0x9F).contains(v) { return false }
        return v != 0x2028 && v != 0x2029 && v != 0xFEFF
    }

    static func doubleQuoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case "\0": out += "\\0"
            default:
                if isPrintable(scalar) {
                    out.unicodeScalars.append(scalar)
                } else if scalar.value <= 0xFF {
                    out += "\\x" + hex(scalar.value, digits: 2)
                } else {
                    out += "\\u" + hex(scalar.value, digits: 4)
                }
            }
        }
        return out + "\""
    }

    private static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }

    /// A literal block for multi-line text that reads back exactly: `|` when it ends with one newline, `|-` with
    /// none. Text that a block cannot hold as it is (a first line that is empty or starts with a space, whose
    /// indentation would be taken for the block's; several trailing newlines; lines ending in blanks; carriage
    /// returns or other controls)
    /// is left to double quotes.
    private static func literalBlock(_ text: String, indent: Int) -> (header: String, body: String)? {
        guard text.contains("\n") else { return nil }
        var content = Substring(text)
        let header: String
        if content.hasSuffix("\n") {
            content = content.dropLast()
            header = "|"
        } else {
            header = "|-"
        }
        if content.hasSuffix("\n") || content.isEmpty { return nil }
        let lines = content.split(separator: "\n", omittingEmptySubsequences: false)
        guard let firstLine = lines.first, let firstCharacter = firstLine.unicodeScalars.first,
            firstCharacter != " ", firstCharacter != "\t"
        else { return nil }
        let printable = content.unicodeScalars.allSatisfy { $0 == "\n" || $0 == "\t" || isPrintable($0) }
        // A line ending in blanks is kept as it is by libyaml only sometimes (a blank-only last line is chomped).
        let trailingBlanks = lines.contains { $0.hasSuffix(" ") || $0.hasSuffix("\t") }
        guard printable, !trailingBlanks else { return nil }
        let pad = String(repeating: " ", count: indent)
        let body = lines.map { $0.isEmpty ? "\n" : pad + $0 + "\n" }.joined()
        return (header, body)
    }
}

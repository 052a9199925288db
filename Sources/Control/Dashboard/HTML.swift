import Foundation

/// A fragment of HTML. A `String` (or any value) interpolated into one is escaped; only another `HTML` goes in
/// as it is, so every value a page shows (a job name, a log line, a label) is escaped by construction, and markup
/// is spelled only in literals.
struct HTML: Sendable, Equatable, ExpressibleByStringInterpolation {
    private(set) var text: String

    init(stringLiteral value: String) { text = value }

    init(stringInterpolation: StringInterpolation) { text = stringInterpolation.text }

    /// Markup already escaped or built here (an `HTML` joined from parts).
    private init(trusted text: String) { self.text = text }

    static let empty = HTML(trusted: "")

    /// The fragments one after the other.
    static func joined(_ parts: [HTML]) -> HTML {
        var text = ""
        for part in parts { text += part.text }
        return HTML(trusted: text)
    }

    /// The five characters that can end a text node or an attribute value, as entities.
    static func escape(_ value: String) -> String {
        // Most values (numbers, names, times) hold none of the five: one byte scan, no copy.
        guard value.utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 }) else {
            return value
        }
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for character in value.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    struct StringInterpolation: StringInterpolationProtocol {
        fileprivate var text = ""

        init(literalCapacity: Int, interpolationCount: Int) {
            text.reserveCapacity(literalCapacity + 16 * interpolationCount)
        }

        mutating func appendLiteral(_ literal: String) { text += literal }
        mutating func appendInterpolation(_ fragment: HTML) { text += fragment.text }
        mutating func appendInterpolation(_ fragments: [HTML]) { for fragment in fragments { text += fragment.text } }
        mutating func appendInterpolation(_ value: String) { text += HTML.escape(value) }
        /// Numbers are digits, `.`, `-`, `+`, `e`, `inf` or `nan`: nothing to escape.
        mutating func appendInterpolation(_ value: Int) { text += String(value) }
        mutating func appendInterpolation(_ value: Int64) { text += String(value) }
        mutating func appendInterpolation<Value: CustomStringConvertible>(_ value: Value) {
            text += HTML.escape(value.description)
        }
    }
}

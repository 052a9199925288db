// One pass over a JSON request body's bytes before it is decoded, for what the decoder does not refuse cheaply:
// deep nesting. Decoding cost grows faster than the body (a 1.1 kB report nested 500 deep took 6.8 s of server
// time), so depth is bounded before any decoding starts. Anything malformed (unbalanced brackets, bad escapes)
// is left to the decoder, which describes it.

import Foundation

public enum JSONBodyCheck {
    /// Deepest nesting of objects and arrays a request body may have (the body's own object is level 1).
    public static let maxDepth = 64

    public enum Problem: Error, Equatable, CustomStringConvertible, Sendable {
        /// More than `limit` objects/arrays inside each other.
        case tooDeep(limit: Int)

        public var description: String {
            switch self {
            case .tooDeep(let limit):
                return "body nested deeper than \(limit) levels; flatten the JSON"
            }
        }
    }

    /// The first problem in `body`, or nil.
    public static func problem(in body: Data, maxDepth: Int = maxDepth) -> Problem? {
        body.withUnsafeBytes { Scanner(bytes: $0, maxDepth: maxDepth).run() }
    }

    private struct Scanner {
        let bytes: UnsafeRawBufferPointer
        let maxDepth: Int

        func run() -> Problem? {
            var depth = 0
            var i = 0
            while i < bytes.count {
                switch bytes[i] {
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    if depth == maxDepth { return .tooDeep(limit: maxDepth) }
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth = max(0, depth - 1)
                case UInt8(ascii: "\""):
                    // Brackets inside strings do not count.
                    i = stringEnd(from: i + 1)
                default:
                    break
                }
                i += 1
            }
            return nil
        }

        /// The index of the closing quote of the string starting at `start` (or the end of the body). Escapes
        /// are skipped whole, so `\"` does not end the string.
        func stringEnd(from start: Int) -> Int {
            var i = start
            while i < bytes.count {
                switch bytes[i] {
                case UInt8(ascii: "\""): return i
                case UInt8(ascii: "\\"): i += 2
                default: i += 1
                }
            }
            return bytes.count
        }
    }
}

// One pass over a JSON request body's bytes before it is decoded, for two things the decoder does not refuse
// cheaply:
//   - deep nesting: decoding cost grows faster than the body (a 1.1 kB report nested 500 deep took 6.8 s of
//     server time), so depth is bounded before any decoding starts;
//   - NUL characters in strings (`\u0000`, or a raw 0x00 byte): PostgreSQL stores U+0000 neither in text nor
//     in jsonb, so such a body would fail deep in the store as a 500. Refusing it here names the field.
// Anything else malformed (unbalanced brackets, bad escapes) is left to the decoder, which describes it.

import Foundation

public enum JSONBodyCheck {
    /// Deepest nesting of objects and arrays a request body may have (the body's own object is level 1).
    public static let maxDepth = 64

    public enum Problem: Error, Equatable, CustomStringConvertible, Sendable {
        /// More than `limit` objects/arrays inside each other.
        case tooDeep(limit: Int)
        /// A string value holds a NUL; `path` names it (`logs[3].message`, `body` for the body itself).
        case nulInValue(path: String)
        /// A key of the object at `path` holds a NUL.
        case nulInKey(path: String)

        public var description: String {
            switch self {
            case .tooDeep(let limit):
                return "body nested deeper than \(limit) levels; flatten the JSON"
            case .nulInValue(let path):
                return "\(path): contains a NUL byte (U+0000), which PostgreSQL cannot store; remove or escape it"
            case .nulInKey(let path):
                return "\(path): a key contains a NUL byte (U+0000), which PostgreSQL cannot store; remove or escape it"
            }
        }
    }

    /// The first problem in `body`, or nil.
    public static func problem(in body: Data, maxDepth: Int = maxDepth) -> Problem? {
        body.withUnsafeBytes { bytes in
            var scanner = Scanner(bytes: bytes, maxDepth: maxDepth)
            return scanner.run()
        }
    }

    /// One open object or array. Keys are kept as byte ranges: a path is only built when there is a problem.
    private struct Frame {
        let isObject: Bool
        /// Arrays: the element being read.
        var index = 0
        /// Objects: the raw bytes of the latest key, and whether the next string is a key.
        var key: Range<Int>?
        var expectingKey = true
    }

    private struct Scanner {
        let bytes: UnsafeRawBufferPointer
        let maxDepth: Int
        var frames: [Frame] = []

        init(bytes: UnsafeRawBufferPointer, maxDepth: Int) {
            self.bytes = bytes
            self.maxDepth = maxDepth
            frames.reserveCapacity(16)
        }

        mutating func run() -> Problem? {
            var i = 0
            while i < bytes.count {
                switch bytes[i] {
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    if frames.count == maxDepth { return .tooDeep(limit: maxDepth) }
                    frames.append(Frame(isObject: bytes[i] == UInt8(ascii: "{")))
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    if !frames.isEmpty { frames.removeLast() }
                case UInt8(ascii: ","):
                    guard !frames.isEmpty else { break }
                    if frames[frames.count - 1].isObject {
                        frames[frames.count - 1].expectingKey = true
                    } else {
                        frames[frames.count - 1].index += 1
                    }
                case UInt8(ascii: ":"):
                    if let last = frames.last, last.isObject { frames[frames.count - 1].expectingKey = false }
                case UInt8(ascii: "\""):
                    let isKey = frames.last.map { $0.isObject && $0.expectingKey } ?? false
                    let start = i + 1
                    guard let end = stringEnd(from: start) else {
                        // A key with a NUL names the object holding it (its own text cannot be shown as is).
                        return isKey ? .nulInKey(path: path(upTo: frames.count - 1)) : .nulInValue(path: path())
                    }
                    if isKey { frames[frames.count - 1].key = start..<end }
                    i = end
                default:
                    break
                }
                i += 1
            }
            return nil
        }

        /// The index of the closing quote of the string starting at `start` (or the end of the body), nil when
        /// the string holds a NUL. Escapes are skipped whole, so `\\u0000` (an escaped backslash, then text) is fine.
        func stringEnd(from start: Int) -> Int? {
            var i = start
            while i < bytes.count {
                switch bytes[i] {
                case UInt8(ascii: "\""): return i
                case 0: return nil
                case UInt8(ascii: "\\"):
                    if i + 5 < bytes.count, bytes[i + 1] == UInt8(ascii: "u"), bytes[i + 2] == UInt8(ascii: "0"),
                        bytes[i + 3] == UInt8(ascii: "0"), bytes[i + 4] == UInt8(ascii: "0"),
                        bytes[i + 5] == UInt8(ascii: "0")
                    {
                        return nil
                    }
                    i += 2
                default:
                    i += 1
                }
            }
            return bytes.count
        }

        /// `logs[3].message`: the keys and indexes of the first `count` open frames (all by default).
        func path(upTo count: Int? = nil) -> String {
            var text = ""
            for frame in frames.prefix(count ?? frames.count) {
                if frame.isObject {
                    guard let key = frame.key else { continue }
                    let name = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[key]), as: UTF8.self)
                    text += text.isEmpty ? name : "." + name
                } else {
                    text += "[\(frame.index)]"
                }
            }
            return text.isEmpty ? "body" : text
        }
    }
}

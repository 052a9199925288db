// The generic value tree manifests are validated on. YAML files and JSON request bodies both become a
// ManifestValue (JSON through the same libyaml parser), so the CLI and the server run one validator and
// print the same messages.

import Foundation
import YAML

public struct ManifestValue: Sendable, CustomStringConvertible {
    public enum Content: Sendable {
        case null
        case bool(Bool)
        case int(Int64)
        case float(Double)
        case string(String)
        case array([ManifestValue])
        /// Keys in source order.
        case object([ManifestField])
    }

    public var content: Content
    /// The 1-based source line, when the value came from text.
    public var line: Int?

    public init(_ content: Content, line: Int? = nil) {
        self.content = content
        self.line = line
    }

    public static let null = ManifestValue(.null)
    public static func string(_ s: String) -> ManifestValue { ManifestValue(.string(s)) }
    public static func int(_ i: Int64) -> ManifestValue { ManifestValue(.int(i)) }
    public static func object(_ pairs: [(String, ManifestValue)]) -> ManifestValue {
        ManifestValue(.object(pairs.map { ManifestField(key: $0.0, value: $0.1) }))
    }
    public static func array(_ items: [ManifestValue]) -> ManifestValue { ManifestValue(.array(items)) }

    /// Converts a parsed YAML node (keys become their scalar text).
    public init(yaml node: YAMLNode) {
        line = node.position.line
        switch node {
        case .scalar(let scalar, _):
            switch scalar.resolved {
            case .null: content = .null
            case .bool(let b): content = .bool(b)
            case .int(let i): content = .int(i)
            case .float(let f): content = .float(f)
            case .string(let s): content = .string(s)
            }
        case .sequence(let items, _):
            content = .array(items.map { ManifestValue(yaml: $0) })
        case .mapping(let entries, _):
            content = .object(
                entries.map { entry in
                    let key: String
                    if case .scalar(let scalar, _) = entry.key { key = scalar.value } else { key = entry.key.summary }
                    return ManifestField(
                        key: key, keyLine: entry.key.position.line, value: ManifestValue(yaml: entry.value))
                })
        }
    }

    /// The value of `key` in an object.
    public subscript(key: String) -> ManifestValue? {
        if case .object(let fields) = content { return fields.first { $0.key == key }?.value }
        return nil
    }

    /// How the value is named in "got ..." messages: strings quoted, numbers as written.
    public var description: String {
        switch content {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .float(let f): return f == f.rounded() && abs(f) < 1e15 ? String(format: "%.1f", f) : String(f)
        case .string(let s): return "\"\(s)\""
        case .array: return "a list"
        case .object: return "a mapping"
        }
    }

    /// Decodes this value into `T` through JSON (how executors read their kind's settings).
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(type, from: try JSONEncoder().encode(self))
    }
}

public struct ManifestField: Sendable {
    public var key: String
    public var keyLine: Int?
    public var value: ManifestValue
    public init(key: String, keyLine: Int? = nil, value: ManifestValue) {
        self.key = key
        self.keyLine = keyLine
        self.value = value
    }
}

/// Equality ignores source lines.
extension ManifestValue: Equatable {
    public static func == (a: ManifestValue, b: ManifestValue) -> Bool {
        switch (a.content, b.content) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.int(let x), .int(let y)): return x == y
        case (.float(let x), .float(let y)): return x == y || (x.isNaN && y.isNaN)
        case (.int(let x), .float(let y)), (.float(let y), .int(let x)): return Double(x) == y
        case (.string(let x), .string(let y)): return x == y
        case (.array(let x), .array(let y)): return x == y
        case (.object(let x), .object(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }
}

extension ManifestValue: Codable {
    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: Encoder) throws {
        switch content {
        case .null:
            var c = encoder.singleValueContainer()
            try c.encodeNil()
        case .bool(let b):
            var c = encoder.singleValueContainer()
            try c.encode(b)
        case .int(let i):
            var c = encoder.singleValueContainer()
            try c.encode(i)
        case .float(let f):
            var c = encoder.singleValueContainer()
            // JSON has no NaN/infinity; the YAML spellings keep them readable (and rejected where numbers are required).
            if f.isNaN {
                try c.encode(".nan")
            } else if f.isInfinite {
                try c.encode(f > 0 ? ".inf" : "-.inf")
            } else {
                try c.encode(f)
            }
        case .string(let s):
            var c = encoder.singleValueContainer()
            try c.encode(s)
        case .array(let items):
            var c = encoder.unkeyedContainer()
            for item in items { try c.encode(item) }
        case .object(let fields):
            var c = encoder.container(keyedBy: Key.self)
            for field in fields { try c.encode(field.value, forKey: Key(stringValue: field.key)) }
        }
    }

    public init(from decoder: Decoder) throws {
        line = nil
        if let keyed = try? decoder.container(keyedBy: Key.self) {
            content = .object(
                try keyed.allKeys.sorted { $0.stringValue < $1.stringValue }.map {
                    ManifestField(key: $0.stringValue, value: try keyed.decode(ManifestValue.self, forKey: $0))
                })
            return
        }
        if var unkeyed = try? decoder.unkeyedContainer() {
            var items: [ManifestValue] = []
            while !unkeyed.isAtEnd { items.append(try unkeyed.decode(ManifestValue.self)) }
            content = .array(items)
            return
        }
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            content = .null
        } else if let b = try? c.decode(Bool.self) {
            content = .bool(b)
        } else if let i = try? c.decode(Int64.self) {
            content = .int(i)
        } else if let f = try? c.decode(Double.self) {
            content = .float(f)
        } else {
            content = .string(try c.decode(String.self))
        }
    }
}

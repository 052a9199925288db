// The document tree the YAML parser produces: scalars, sequences and ordered mappings, each with the
// line and column where it starts, so that validators can point at the exact spot of a problem.

/// A 1-based line and column in the source text.
public struct YAMLPosition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let line: Int
    public let column: Int
    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }
    public var description: String { "\(line):\(column)" }
    public static func < (a: YAMLPosition, b: YAMLPosition) -> Bool { (a.line, a.column) < (b.line, b.column) }
}

public enum YAMLScalarStyle: Sendable, Hashable {
    case plain, singleQuoted, doubleQuoted, literal, folded
}

/// A scalar as written, plus its YAML 1.2 core-schema reading (`resolved`).
public struct YAMLScalar: Sendable, Hashable {
    public let value: String
    public let style: YAMLScalarStyle
    /// An explicit tag such as `tag:yaml.org,2002:str` (from `!!str`), or nil.
    public let tag: String?

    public init(value: String, style: YAMLScalarStyle = .plain, tag: String? = nil) {
        self.value = value
        self.style = style
        self.tag = tag
    }

    /// Core-schema typing: only plain, untagged scalars are typed; quoted and block scalars are strings.
    public var resolved: YAMLResolvedScalar { YAMLResolvedScalar.resolve(self) }
}

/// The typed value of a scalar per the YAML 1.2 core schema.
public enum YAMLResolvedScalar: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case float(Double)
    case string(String)
}

public struct YAMLMappingEntry: Sendable, Equatable {
    public let key: YAMLNode
    public let value: YAMLNode
    public init(key: YAMLNode, value: YAMLNode) {
        self.key = key
        self.value = value
    }
}

public indirect enum YAMLNode: Sendable, Equatable {
    case scalar(YAMLScalar, YAMLPosition)
    case sequence([YAMLNode], YAMLPosition)
    /// Entries in document order; keys are unique (the parser rejects duplicates).
    case mapping([YAMLMappingEntry], YAMLPosition)

    public var position: YAMLPosition {
        switch self {
        case .scalar(_, let p), .sequence(_, let p), .mapping(_, let p): return p
        }
    }

    /// The scalar's text, or nil for collections.
    public var scalarValue: String? {
        if case .scalar(let s, _) = self { return s.value }
        return nil
    }

    /// The value of key `key` in a mapping (keys compared by scalar text), or nil.
    public subscript(key: String) -> YAMLNode? {
        guard case .mapping(let entries, _) = self else { return nil }
        return entries.first { $0.key.scalarValue == key }?.value
    }

    /// The item at `index` of a sequence, or nil.
    public subscript(index: Int) -> YAMLNode? {
        guard case .sequence(let items, _) = self, items.indices.contains(index) else { return nil }
        return items[index]
    }

    /// True for an empty plain scalar or `null`/`~` (what an empty document parses to).
    public var isNull: Bool {
        if case .scalar(let s, _) = self, s.resolved == .null { return true }
        return false
    }

    /// A short human rendering for error messages: a scalar's text (quoted if it is a string), `a sequence`, `a mapping`.
    public var summary: String {
        switch self {
        case .scalar(let s, _):
            switch s.resolved {
            case .string(let text): return "\"\(text)\""
            case .null: return "null"
            default: return s.value
            }
        case .sequence: return "a sequence"
        case .mapping: return "a mapping"
        }
    }
}

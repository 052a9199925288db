// YAML: the only code that touches libyaml. Text in, a tree of YAMLNode out (one per document),
// with anchors/aliases resolved, `<<` merge keys applied and duplicate keys rejected.
// JSON is YAML, so JSON text parses the same way (and gets the same positions in errors).

import CYAML

public enum YAMLParser {
    /// The largest number of nodes aliases may expand to, guarding against "billion laughs" input.
    public static let maxExpandedNodes = 1_000_000
    /// The deepest nesting of sequences and mappings accepted (deeper trees would exhaust the stack of
    /// the recursive code that walks them).
    public static let maxDepth = 256

    /// Every document of `text`, in order. An empty text has no documents; an empty document is a null scalar.
    public static func parseDocuments(_ text: String, fileName: String? = nil) throws(YAMLError) -> [YAMLNode] {
        var builder = TreeBuilder(fileName: fileName)
        var bytes = Array(text.utf8)
        if bytes.isEmpty { return [] }
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) != 0 else {
            throw YAMLError(
                kind: .syntax, fileName: fileName, position: YAMLPosition(line: 1, column: 1),
                message: "libyaml could not initialise")
        }
        defer { yaml_parser_delete(&parser) }
        return try bytes.withUnsafeMutableBufferPointer { (buffer) throws(YAMLError) -> [YAMLNode] in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) != 0 else { throw syntaxError(parser, fileName: fileName) }
                defer { yaml_event_delete(&event) }
                if event.type == YAML_STREAM_END_EVENT { break }
                try builder.handle(event)
            }
            return builder.documents
        }
    }

    /// The single document of `text` (nil when empty). Throws if the text holds several documents.
    public static func parse(_ text: String, fileName: String? = nil) throws(YAMLError) -> YAMLNode? {
        let documents = try parseDocuments(text, fileName: fileName)
        if documents.count > 1 {
            throw YAMLError(
                kind: .syntax, fileName: fileName, position: documents[1].position,
                message: "expected a single document, found \(documents.count)")
        }
        return documents.first
    }

    private static func syntaxError(_ parser: yaml_parser_t, fileName: String?) -> YAMLError {
        let problem = parser.problem.map { String(cString: $0) } ?? "invalid YAML"
        var message = problem
        if let context = parser.context.map({ String(cString: $0) }) {
            message += " (\(context) at line \(parser.context_mark.line + 1), column \(parser.context_mark.column + 1))"
        }
        let mark = parser.problem_mark
        return YAMLError(
            kind: .syntax, fileName: fileName,
            position: YAMLPosition(line: Int(mark.line) + 1, column: Int(mark.column) + 1), message: message)
    }
}

/// Turns libyaml's event stream into trees.
private struct TreeBuilder {
    enum Frame {
        case sequence(items: [YAMLNode], position: YAMLPosition, anchor: String?, size: Int)
        case mapping(
            entries: [YAMLMappingEntry], pendingKey: YAMLNode?, position: YAMLPosition, anchor: String?, size: Int)
    }

    let fileName: String?
    var documents: [YAMLNode] = []
    var stack: [Frame] = []
    var anchors: [String: (node: YAMLNode, size: Int)] = [:]
    var expandedNodes = 0

    init(fileName: String?) { self.fileName = fileName }

    mutating func handle(_ event: yaml_event_t) throws(YAMLError) {
        let position = YAMLPosition(line: Int(event.start_mark.line) + 1, column: Int(event.start_mark.column) + 1)
        switch event.type {
        case YAML_DOCUMENT_START_EVENT:
            anchors = [:]
        case YAML_SCALAR_EVENT:
            let data = event.data.scalar
            let value = String(decoding: UnsafeBufferPointer(start: data.value, count: data.length), as: UTF8.self)
            let tag = data.tag.map { String(cString: $0) }
            let scalar = YAMLScalar(value: value, style: Self.style(data.style), tag: tag)
            try complete(.scalar(scalar, position), anchor: data.anchor.map { String(cString: $0) }, size: 1)
        case YAML_ALIAS_EVENT:
            let name = event.data.alias.anchor.map { String(cString: $0) } ?? ""
            guard let anchored = anchors[name] else {
                throw YAMLError(
                    kind: .unknownAlias, fileName: fileName, position: position,
                    message: "unknown alias *\(name): no anchor &\(name) defined before it")
            }
            expandedNodes += anchored.size
            if expandedNodes > YAMLParser.maxExpandedNodes {
                throw YAMLError(
                    kind: .tooLarge, fileName: fileName, position: position,
                    message: "aliases expand to more than \(YAMLParser.maxExpandedNodes) nodes")
            }
            try complete(anchored.node, anchor: nil, size: anchored.size)
        case YAML_SEQUENCE_START_EVENT:
            try checkDepth(position)
            stack.append(
                .sequence(
                    items: [], position: position, anchor: event.data.sequence_start.anchor.map { String(cString: $0) },
                    size: 1))
        case YAML_MAPPING_START_EVENT:
            try checkDepth(position)
            stack.append(
                .mapping(
                    entries: [], pendingKey: nil, position: position,
                    anchor: event.data.mapping_start.anchor.map { String(cString: $0) }, size: 1))
        case YAML_SEQUENCE_END_EVENT:
            guard case .sequence(let items, let start, let anchor, let size) = stack.popLast() else { return }
            try complete(.sequence(items, start), anchor: anchor, size: size)
        case YAML_MAPPING_END_EVENT:
            guard case .mapping(let entries, _, let start, let anchor, let size) = stack.popLast() else { return }
            try complete(.mapping(applyingMergeKeys(entries), start), anchor: anchor, size: size)
        default:
            break
        }
    }

    private func checkDepth(_ position: YAMLPosition) throws(YAMLError) {
        if stack.count >= YAMLParser.maxDepth {
            throw YAMLError(
                kind: .tooLarge, fileName: fileName, position: position,
                message: "nesting deeper than \(YAMLParser.maxDepth) levels")
        }
    }

    /// Attaches a finished node to its parent (or makes it a document).
    private mutating func complete(_ node: YAMLNode, anchor: String?, size: Int) throws(YAMLError) {
        if let anchor { anchors[anchor] = (node, size) }
        guard let top = stack.popLast() else {
            documents.append(node)
            return
        }
        switch top {
        case .sequence(var items, let position, let anchorName, let total):
            items.append(node)
            stack.append(.sequence(items: items, position: position, anchor: anchorName, size: total + size))
        case .mapping(var entries, let pendingKey, let position, let anchorName, let total):
            if let key = pendingKey {
                if let duplicate = entries.first(where: { Self.sameKey($0.key, key) }), !Self.isMergeKey(key) {
                    throw YAMLError(
                        kind: .duplicateKey, fileName: fileName, position: key.position,
                        message: "duplicate key \(key.summary) (first at line \(duplicate.key.position.line))")
                }
                entries.append(YAMLMappingEntry(key: key, value: node))
                stack.append(
                    .mapping(
                        entries: entries, pendingKey: nil, position: position, anchor: anchorName, size: total + size))
            } else {
                stack.append(
                    .mapping(
                        entries: entries, pendingKey: node, position: position, anchor: anchorName, size: total + size))
            }
        }
    }

    private static func sameKey(_ a: YAMLNode, _ b: YAMLNode) -> Bool {
        switch (a, b) {
        case (.scalar(let x, _), .scalar(let y, _)): return x.value == y.value
        default: return a == b
        }
    }

    private static func isMergeKey(_ key: YAMLNode) -> Bool {
        if case .scalar(let s, _) = key, s.style == .plain, s.value == "<<" { return true }
        return false
    }

    /// YAML 1.1 merge keys (`<<: *defaults`), common in manifests: keys written explicitly win.
    private func applyingMergeKeys(_ entries: [YAMLMappingEntry]) -> [YAMLMappingEntry] {
        guard entries.contains(where: { Self.isMergeKey($0.key) }) else { return entries }
        var result = entries.filter { !Self.isMergeKey($0.key) }
        for entry in entries where Self.isMergeKey(entry.key) {
            var sources: [YAMLNode] = []
            switch entry.value {
            case .mapping: sources = [entry.value]
            case .sequence(let items, _): sources = items
            default: result.append(entry) // not mergeable: leave it for the validator to report
            }
            for case .mapping(let merged, _) in sources {
                for candidate in merged where !result.contains(where: { Self.sameKey($0.key, candidate.key) }) {
                    result.append(candidate)
                }
            }
        }
        return result
    }

    private static func style(_ style: yaml_scalar_style_t) -> YAMLScalarStyle {
        switch style {
        case YAML_SINGLE_QUOTED_SCALAR_STYLE: return .singleQuoted
        case YAML_DOUBLE_QUOTED_SCALAR_STYLE: return .doubleQuoted
        case YAML_LITERAL_SCALAR_STYLE: return .literal
        case YAML_FOLDED_SCALAR_STYLE: return .folded
        default: return .plain
        }
    }
}

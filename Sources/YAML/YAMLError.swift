/// A YAML (or JSON) document that cannot be read, with where and why: `pipeline.yaml:4:7: ...`.
public struct YAMLError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// libyaml rejected the text; the message is libyaml's problem (and context).
        case syntax
        /// The same key appears twice in one mapping.
        case duplicateKey
        /// `*name` without an earlier `&name`.
        case unknownAlias
        /// Aliases expand to more nodes than the parser accepts (a "billion laughs" document), or the
        /// nesting is deeper than `YAMLParser.maxDepth`.
        case tooLarge
    }

    public let kind: Kind
    public let fileName: String?
    public let position: YAMLPosition
    public let message: String

    public init(kind: Kind, fileName: String?, position: YAMLPosition, message: String) {
        self.kind = kind
        self.fileName = fileName
        self.position = position
        self.message = message
    }

    public var description: String {
        "\(fileName ?? "<input>"):\(position.line):\(position.column): \(message)"
    }
}

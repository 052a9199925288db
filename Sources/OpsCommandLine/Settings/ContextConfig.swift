// Named clusters for `opsctl`, like kubeconfig's contexts: `<state-dir>/config` (~/.opsctl/config) holds contexts
// (server URL, CA file, token file) and the current one. Flags and OPS_* variables still win over the current
// context, and the context wins over what `opsctl up` left in the state dir (docs/deploy.md, "Contexts").

import Foundation
import YAML

public struct OpsContext: Sendable, Equatable {
    public var name: String
    public var server: String
    public var caFile: String?
    public var tokenFile: String?

    public init(name: String, server: String, caFile: String? = nil, tokenFile: String? = nil) {
        self.name = name
        self.server = server
        self.caFile = caFile
        self.tokenFile = tokenFile
    }
}

public struct ContextConfig: Sendable, Equatable {
    public var currentContext: String?
    public var contexts: [OpsContext]

    /// A config file is a few hundred bytes per context; anything near this is not one.
    static let maxFileBytes = 1 << 20
    static let maxContexts = 1_000

    public init(currentContext: String? = nil, contexts: [OpsContext] = []) {
        self.currentContext = currentContext
        self.contexts = contexts
    }

    public var current: OpsContext? { currentContext.flatMap { name in contexts.first { $0.name == name } } }

    /// `[A-Za-z0-9._-]`, 1 to 63 characters: safe in a file and in a table.
    static func isValidName(_ name: String) -> Bool {
        (1...63).contains(name.utf8.count)
            && name.utf8.allSatisfy {
                $0.isASCIIAlphanumeric || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
            }
    }

    /// The file at `path`; an empty config when there is none.
    public static func load(path: String) throws(SettingsError) -> ContextConfig {
        guard FileManager.default.fileExists(atPath: path) else { return ContextConfig() }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SettingsError("cannot read the opsctl config \(path); check its permissions")
        }
        guard data.count <= maxFileBytes else {
            throw SettingsError(
                "the opsctl config \(path) is larger than \(maxFileBytes) bytes; it is not a config file")
        }
        let root: YAMLNode?
        do { root = try YAMLParser.parse(String(decoding: data, as: UTF8.self), fileName: path) } catch {
            throw SettingsError("the opsctl config \(path) is not valid YAML: \(error)")
        }
        guard let root, !root.isNull else { return ContextConfig() }
        return try decode(root, path: path)
    }

    private static func decode(_ root: YAMLNode, path: String) throws(SettingsError) -> ContextConfig {
        func fail(_ field: String, _ expected: String) -> SettingsError {
            SettingsError("the opsctl config \(path): \(field): expected \(expected)")
        }
        guard case .mapping = root else { throw fail("the document", "a mapping with current-context and contexts") }
        var config = ContextConfig(currentContext: root["current-context"]?.scalarValue)
        guard case .sequence(let items, _) = root["contexts"] ?? .sequence([], root.position) else {
            throw fail("contexts", "a list")
        }
        guard items.count <= maxContexts else { throw fail("contexts", "at most \(maxContexts) entries") }
        for (index, item) in items.enumerated() {
            let field = "contexts[\(index)]"
            guard let name = item["name"]?.scalarValue, isValidName(name) else {
                throw fail(field + ".name", "1-63 characters of A-Z a-z 0-9 . _ -")
            }
            guard let server = item["server"]?.scalarValue, !server.isEmpty else {
                throw fail(field + ".server", "the control plane's URL")
            }
            guard !config.contexts.contains(where: { $0.name == name }) else {
                throw fail(field + ".name", "a name not used by another context ('\(name)' is)")
            }
            config.contexts.append(
                OpsContext(
                    name: name, server: server, caFile: item["ca-file"]?.scalarValue,
                    tokenFile: item["token-file"]?.scalarValue))
        }
        if let current = config.currentContext, config.current == nil {
            throw fail("current-context", "the name of one of its contexts ('\(current)' is none)")
        }
        return config
    }

    /// Writes the config to `path` (mode 0600: it names token files) through a temporary file and a rename, so a
    /// crash leaves the old file or the new one, never half of one.
    public func write(path: String) throws(SettingsError) {
        var lines = ["# opsctl contexts: opsctl config set-context / use-context / get-contexts"]
        if let currentContext { lines.append("current-context: \(Self.quoted(currentContext))") }
        lines.append(contexts.isEmpty ? "contexts: []" : "contexts:")
        for context in contexts {
            lines.append("  - name: \(Self.quoted(context.name))")
            lines.append("    server: \(Self.quoted(context.server))")
            if let caFile = context.caFile { lines.append("    ca-file: \(Self.quoted(caFile))") }
            if let tokenFile = context.tokenFile { lines.append("    token-file: \(Self.quoted(tokenFile))") }
        }
        let directory = (path as NSString).deletingLastPathComponent
        let temporary = path + ".tmp-\(getpid())"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            guard
                FileManager.default.createFile(
                    atPath: temporary, contents: Data((lines.joined(separator: "\n") + "\n").utf8),
                    attributes: [.posixPermissions: 0o600])
            else { throw CocoaError(.fileWriteUnknown) }
            guard rename(temporary, path) == 0 else { throw CocoaError(.fileWriteUnknown) }
        } catch {
            unlink(temporary)
            throw SettingsError("cannot write the opsctl config \(path); check that \(directory) is writable")
        }
    }

    /// A YAML double-quoted scalar (JSON's string syntax is a subset of it).
    private static func quoted(_ text: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        return (try? encoder.encode(text)).map { String(decoding: $0, as: UTF8.self) } ?? "\"\""
    }
}

extension UInt8 {
    fileprivate var isASCIIAlphanumeric: Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(self)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self)
    }
}

extension Settings {
    /// `<state-dir>/config`.
    public var contextConfigPath: String { stateDirectory.appendingPathComponent("config").path }

    /// The current context of `<state-dir>/config`, if one is set.
    public func currentContext() throws(SettingsError) -> OpsContext? {
        try ContextConfig.load(path: contextConfigPath).current
    }
}

// Settings from flags first, then OPS_* variables, then defaults (a typed option's, defined once). Tokens are
// read from a variable or a file and never echoed.

import Foundation

public struct SettingsError: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

public struct Settings: Sendable {
    public let parsed: ParsedCommand
    public let environment: [String: String]

    public init(parsed: ParsedCommand, environment: [String: String]) {
        self.parsed = parsed
        self.environment = environment
    }

    /// The option's value from the command line, else from its OPS_* variable (empty counts as unset).
    public func string(_ option: String) -> String? {
        if let value = parsed.value(option) { return value }
        if let variable = environmentName(for: option), let value = environment[variable], !value.isEmpty {
            return value
        }
        return nil
    }

    /// Values of a repeatable option; the variable holds a comma-separated list.
    public func list(_ option: String) -> [String] {
        let given = parsed.allValues(option)
        if !given.isEmpty { return given }
        guard let variable = environmentName(for: option), let value = environment[variable] else { return [] }
        return value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// A typed option's value: from the command line, else its OPS_* variable, else its default.
    public func value<Value>(_ option: TypedOption<Value>) throws(SettingsError) -> Value {
        guard let text = string(option.name) else { return option.defaultValue }
        guard let value = option.parser.parse(text) else {
            throw SettingsError(
                "--\(option.name): expected \(option.parser.expected), got '\(text)'\(sourceNote(option.name))")
        }
        return value
    }

    public var stateDirectory: URL {
        if let dir = string("state-dir") { return URL(fileURLWithPath: (dir as NSString).expandingTildeInPath) }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return URL(fileURLWithPath: home).appendingPathComponent(".opsctl")
    }

    /// --server, OPS_SERVER, the current context's (`opsctl config`), the URL `opsctl up` left in the state dir, else
    /// http://127.0.0.1:8080.
    public var serverURL: String {
        if let url = string("server") { return url }
        // A malformed config is reported by `adminToken()`, which every admin command calls.
        if let context = try? currentContext() { return context.server }
        let file = stateDirectory.appendingPathComponent("server-url")
        if let text = try? String(contentsOf: file, encoding: .utf8) {
            let url = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !url.isEmpty { return url }
        }
        return "http://127.0.0.1:8080"
    }

    /// The admin token: --token-file, OPS_TOKEN_FILE, OPS_TOKEN, the current context's token file, else
    /// `<state-dir>/admin-token` when present.
    public func adminToken() throws(SettingsError) -> String? {
        if let token = try Settings.token(
            fileOption: parsed.value("token-file"), variable: "OPS_TOKEN", environment: environment)
        {
            return token
        }
        if let file = try currentContext()?.tokenFile {
            return try Settings.readToken(file: file, source: "the token file \(file) of the current context")
        }
        let file = stateDirectory.appendingPathComponent("admin-token").path
        if FileManager.default.fileExists(atPath: file) { return try Settings.readToken(file: file, source: file) }
        return nil
    }

    /// A token from an explicit file, `<VARIABLE>_FILE`, or `<VARIABLE>` (in that order).
    public static func token(fileOption: String?, variable: String, environment: [String: String]) throws(SettingsError)
        -> String?
    {
        if let path = fileOption { return try readToken(file: path, source: "the token file \(path)") }
        if let path = environment[variable + "_FILE"], !path.isEmpty {
            return try readToken(file: path, source: "\(variable)_FILE=\(path)")
        }
        if let token = environment[variable] {
            let trimmed = token.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty else {
                throw SettingsError("\(variable) is set but empty; set it to the token or unset it")
            }
            return trimmed
        }
        return nil
    }

    static func readToken(file: String, source: String) throws(SettingsError) -> String {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw SettingsError("cannot read \(source); check the path and its permissions")
        }
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else { throw SettingsError("\(source) is empty; it must hold the token") }
        return token
    }

    private func environmentName(for option: String) -> String? {
        guard let spec = OpsCommands.parser.command(named: parsed.command) else { return nil }
        return (spec.options + OpsCommands.globalOptions).first { $0.name == option }?.environment
    }

    private func sourceNote(_ option: String) -> String {
        if parsed.value(option) == nil, let variable = environmentName(for: option) { return " (from \(variable))" }
        return ""
    }
}

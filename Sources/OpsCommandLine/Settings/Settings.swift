// Settings from flags first, then OPS_* variables, then defaults; and the value parsers for cpus, memory,
// accelerators and labels. Tokens are read from a variable or a file and never echoed.

import ClusterModel
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
        if let variable = environmentName(for: option), let value = environment[variable], !value.isEmpty { return value }
        return nil
    }

    /// Values of a repeatable option; the variable holds a comma-separated list.
    public func list(_ option: String) -> [String] {
        let given = parsed.allValues(option)
        if !given.isEmpty { return given }
        guard let variable = environmentName(for: option), let value = environment[variable] else { return [] }
        return value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    public func int(_ option: String, default fallback: Int, range: ClosedRange<Int> = 0...Int.max) throws(SettingsError) -> Int {
        guard let text = string(option) else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            throw SettingsError("--\(option): expected an integer in \(range.lowerBound)...\(range.upperBound == Int.max ? "" : String(range.upperBound)), got '\(text)'\(sourceNote(option))")
        }
        return value
    }

    public func seconds(_ option: String, default fallback: Double) throws(SettingsError) -> Double {
        guard let text = string(option) else { return fallback }
        guard let value = Double(text), value >= 0, value.isFinite else {
            throw SettingsError("--\(option): expected a number of seconds >= 0, got '\(text)'\(sourceNote(option))")
        }
        return value
    }

    public var stateDirectory: URL {
        if let dir = string("state-dir") { return URL(fileURLWithPath: (dir as NSString).expandingTildeInPath) }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return URL(fileURLWithPath: home).appendingPathComponent(".opsctl")
    }

    /// --server, OPS_SERVER, the URL `opsctl up` left in the state dir, else http://127.0.0.1:8080.
    public var serverURL: String {
        if let url = string("server") { return url }
        let file = stateDirectory.appendingPathComponent("server-url")
        if let text = try? String(contentsOf: file, encoding: .utf8) {
            let url = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !url.isEmpty { return url }
        }
        return "http://127.0.0.1:8080"
    }

    /// The admin token: --token-file, OPS_TOKEN_FILE, OPS_TOKEN, else `<state-dir>/admin-token` when present.
    public func adminToken() throws(SettingsError) -> String? {
        if let token = try Settings.token(fileOption: parsed.value("token-file"), variable: "OPS_TOKEN", environment: environment) {
            return token
        }
        let file = stateDirectory.appendingPathComponent("admin-token").path
        if FileManager.default.fileExists(atPath: file) { return try Settings.readToken(file: file, source: file) }
        return nil
    }

    /// A token from an explicit file, `<VARIABLE>_FILE`, or `<VARIABLE>` (in that order).
    public static func token(fileOption: String?, variable: String, environment: [String: String]) throws(SettingsError) -> String? {
        if let path = fileOption { return try readToken(file: path, source: "the token file \(path)") }
        if let path = environment[variable + "_FILE"], !path.isEmpty { return try readToken(file: path, source: "\(variable)_FILE=\(path)") }
        if let token = environment[variable] {
            let trimmed = token.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty else { throw SettingsError("\(variable) is set but empty; set it to the token or unset it") }
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

/// Parsers for resource quantities as users write them.
public enum Quantity {
    /// `2` → 2000, `0.5` → 500, `500m` → 500 (milli-cpus).
    public static func cpuMillis(_ text: String) -> Int64? {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t.hasSuffix("m"), let millis = Int64(t.dropLast()), millis >= 0 { return millis }
        guard let cores = Double(t), cores >= 0, cores.isFinite else { return nil }
        return Int64((cores * 1000).rounded())
    }

    /// `8Gi`, `512Mi`, `64Ki`, `1G`, `500M`, `1024` → bytes.
    public static func bytes(_ text: String) -> Int64? {
        let t = text.trimmingCharacters(in: .whitespaces)
        let units: [(String, Double)] = [("Ki", 1024), ("Mi", 1024 * 1024), ("Gi", 1073741824), ("Ti", 1099511627776),
                                         ("K", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12)]
        for (suffix, factor) in units where t.hasSuffix(suffix) {
            guard let number = Double(t.dropLast(suffix.count)), number >= 0 else { return nil }
            return Int64((number * factor).rounded())
        }
        guard let value = Int64(t), value >= 0 else { return nil }
        return value
    }

    /// `gpu-h100=8` → ("gpu-h100", 8).
    public static func accelerator(_ text: String) -> (AcceleratorType, Int64)? {
        guard let (key, value) = pair(text), let count = Int64(value), count >= 0 else { return nil }
        return (AcceleratorType(rawValue: key), count)
    }

    /// `key=value` with a non-empty key.
    public static func pair(_ text: String) -> (String, String)? {
        guard let equals = text.firstIndex(of: "=") else { return nil }
        let key = text[..<equals].trimmingCharacters(in: .whitespaces)
        let value = text[text.index(after: equals)...].trimmingCharacters(in: .whitespaces)
        return key.isEmpty ? nil : (key, value)
    }

    /// Human form of a byte count: 1.5Gi, 512Mi, 100.
    public static func formatBytes(_ bytes: Int64) -> String {
        let units: [(String, Double)] = [("Ti", 1099511627776), ("Gi", 1073741824), ("Mi", 1048576), ("Ki", 1024)]
        for (suffix, factor) in units where Double(bytes) >= factor {
            let value = Double(bytes) / factor
            return (value >= 10 || value == value.rounded() ? String(Int(value.rounded())) : String(format: "%.1f", value)) + suffix
        }
        return String(bytes)
    }
}

// Validation problems, each naming the file, line, field path, what was expected and what was found:
// `pipeline.yaml:12: spec.resources.accelerators[0].count: expected an integer between 0 and 65536, got "two"`.

public struct ManifestProblem: Sendable, Equatable, CustomStringConvertible {
    public var fileName: String
    public var line: Int?
    /// Set only for YAML syntax errors.
    public var column: Int?
    /// Dotted field path such as `spec.retry.maxAttempts`; empty for whole-document problems.
    public var path: String
    public var message: String

    public init(fileName: String, line: Int?, column: Int? = nil, path: String, message: String) {
        self.fileName = fileName
        self.line = line
        self.column = column
        self.path = path
        self.message = message
    }

    public var description: String {
        var location = fileName
        if let line { location += ":\(line)" }
        if let column { location += ":\(column)" }
        return path.isEmpty ? "\(location): \(message)" : "\(location): \(path): \(message)"
    }
}

/// Every problem found in a manifest file (never just the first), sorted by line.
public struct ManifestError: Error, Sendable, Equatable, CustomStringConvertible {
    public let problems: [ManifestProblem]
    public init(problems: [ManifestProblem]) { self.problems = problems }
    /// One problem per line.
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}

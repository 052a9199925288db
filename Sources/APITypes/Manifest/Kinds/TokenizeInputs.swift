// The inputs of a tokenize job as the control plane receives them (issue 14: nodes that share no disk).
// A user writes local paths or globs; `opsctl apply` expands them on the submitting machine, uploads each file
// to the cluster's blob store (once per checksum) and rewrites the item as a resolved input
// `{name, location, sha256, bytes}`. `s3://` and `http(s)://` URLs pass through as they are. A plain absolute
// path that reaches the control plane unresolved (a client other than `opsctl apply`) is a
// *control-plane-local* glob: expanded on the control plane's filesystem, which the workers must see too.

import Foundation

/// One input file, resolved: where its bytes are and what they hash to.
public struct ResolvedInput: Codable, Sendable, Equatable, Hashable {
    /// The file's name as the user knows it (its path on the submitting machine); its extension tells the format.
    public var name: String
    /// `cp://blobs/<sha256>`, `s3://bucket/key`, `http(s)://…`, or a path every worker sees.
    public var location: String
    /// Lower-case hex SHA-256 of the bytes; nil for a URL whose content was not hashed at submission.
    public var sha256: String?
    /// Size in bytes; nil when unknown (a URL).
    public var bytes: Int64?

    public init(name: String, location: String, sha256: String?, bytes: Int64?) {
        self.name = name
        self.location = location
        self.sha256 = sha256
        self.bytes = bytes
    }
}

/// An item of `spec.tokenize.inputs`: a pattern (path, glob or URL) or a resolved file.
public enum TokenizeInput: Codable, Sendable, Equatable {
    case pattern(String)
    case resolved(ResolvedInput)

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let text = try? c.decode(String.self) {
            self = .pattern(text)
        } else {
            self = .resolved(try c.decode(ResolvedInput.self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .pattern(let text): try c.encode(text)
        case .resolved(let input): try c.encode(input)
        }
    }
}

/// How an input or tokenizer location is read.
public enum InputLocationKind: Equatable, Sendable {
    /// A path (or glob) on a filesystem.
    case path
    /// `http://` or `https://`.
    case web
    /// `s3://bucket/key`, read through the cluster's object store.
    case objectStore
    /// `cp://blobs/<sha256>`, the control plane's blob store.
    case blob

    /// The kind of `location`, or nil for a scheme no worker can read (the caller names the field).
    public init?(_ location: String) {
        let lower = location.lowercased()
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") {
            self = .web
        } else if lower.hasPrefix("s3://") {
            self = .objectStore
        } else if lower.hasPrefix("cp://blobs/") {
            self = .blob
        } else if location.contains("://") {
            return nil
        } else {
            self = .path
        }
    }

    /// What `init` accepts, for error messages.
    public static let expected =
        "an absolute path or glob, an s3://bucket/key URL, an http(s):// URL or a cp://blobs/<sha256> location"

    /// Whether `location` is one of the URL forms passed through unchanged by `opsctl apply`.
    public var isURL: Bool { self == .web || self == .objectStore || self == .blob }
}

/// Where a dataset with no host `output.location` lives: its files are blobs listed by the control plane
/// (`GET /v1/datasets/{name}/files`); this is the `location` recorded for it and planned into task specs.
public enum DatasetByName {
    public static let scheme = "cp://datasets/"

    public static func location(_ name: String) -> String { scheme + name }

    /// The dataset name of a by-name location, nil for other locations.
    public static func name(of location: String) -> String? {
        guard location.hasPrefix(scheme) else { return nil }
        let name = String(location.dropFirst(scheme.count))
        return name.isEmpty ? nil : name
    }
}

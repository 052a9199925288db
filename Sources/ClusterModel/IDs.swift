// Typed identifiers: a JobID can never be passed where a TaskID is expected.
// Database rows use bigint keys, so every ID wraps an Int64.

public protocol Int64Identifier: RawRepresentable, Hashable, Comparable, Codable, Sendable,
    CustomStringConvertible
where RawValue == Int64 {
    init(rawValue: Int64)
}

extension Int64Identifier {
    public init(_ value: Int64) { self.init(rawValue: value) }
    public var description: String { String(rawValue) }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public init(from decoder: Decoder) throws {
        self.init(rawValue: try decoder.singleValueContainer().decode(Int64.self))
    }
    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

public struct JobID: Int64Identifier {
    public let rawValue: Int64
    public init(rawValue: Int64) { self.rawValue = rawValue }
}
public struct TaskID: Int64Identifier {
    public let rawValue: Int64
    public init(rawValue: Int64) { self.rawValue = rawValue }
}
public struct WorkerID: Int64Identifier {
    public let rawValue: Int64
    public init(rawValue: Int64) { self.rawValue = rawValue }
}
/// One attempt at running a task; the lease a worker holds is named by its attempt.
public struct AttemptID: Int64Identifier {
    public let rawValue: Int64
    public init(rawValue: Int64) { self.rawValue = rawValue }
}
public struct DatasetID: Int64Identifier {
    public let rawValue: Int64
    public init(rawValue: Int64) { self.rawValue = rawValue }
}
public struct ArtifactID: Int64Identifier {
    public let rawValue: Int64
    public init(rawValue: Int64) { self.rawValue = rawValue }
}

// Resources a worker offers and a task asks for. Integers only (milli-cpus, bytes, device counts)
// so that sums and comparisons are exact.

/// An accelerator kind such as `gpu-h100` or `tpu-v5e`.
public struct AcceleratorType: RawRepresentable, Hashable, Comparable, Codable, Sendable,
    ExpressibleByStringLiteral, CustomStringConvertible
{
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    public init(from decoder: Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}

public struct Resources: Hashable, Codable, Sendable, CustomStringConvertible {
    /// Thousandths of a CPU core.
    public var cpuMillis: Int64
    public var memoryBytes: Int64
    public var accelerators: [AcceleratorType: Int64]

    public init(cpuMillis: Int64 = 0, memoryBytes: Int64 = 0, accelerators: [AcceleratorType: Int64] = [:]) {
        self.cpuMillis = cpuMillis
        self.memoryBytes = memoryBytes
        self.accelerators = accelerators.filter { $0.value != 0 }
    }

    public static let zero = Resources()

    /// True when every component of `self` is at most the same component of `other`. The one definition of
    /// "fits": the scheduler's flat `SchedulingPass.fits(worker:shape:)` and the claim's SQL filter and packing
    /// (`TaskSQL.claim`, its `candidates` and `p`) are mirrors of it (`ClaimStatementTests` holds them to it).
    public func fits(in other: Resources) -> Bool {
        guard cpuMillis <= other.cpuMillis, memoryBytes <= other.memoryBytes else { return false }
        for (kind, count) in accelerators where count > (other.accelerators[kind] ?? 0) { return false }
        return true
    }

    /// Saturating: totals over many workers or tasks pin at Int64.max instead of trapping (see ResourceLimits).
    public static func + (lhs: Resources, rhs: Resources) -> Resources {
        Resources(
            cpuMillis: lhs.cpuMillis.saturatingAdding(rhs.cpuMillis),
            memoryBytes: lhs.memoryBytes.saturatingAdding(rhs.memoryBytes),
            accelerators: lhs.accelerators.merging(rhs.accelerators) { $0.saturatingAdding($1) })
    }

    /// Saturating, like `+`.
    public static func - (lhs: Resources, rhs: Resources) -> Resources {
        var accelerators = lhs.accelerators
        for (kind, count) in rhs.accelerators {
            accelerators[kind] = (accelerators[kind] ?? 0).saturatingSubtracting(count)
        }
        return Resources(
            cpuMillis: lhs.cpuMillis.saturatingSubtracting(rhs.cpuMillis),
            memoryBytes: lhs.memoryBytes.saturatingSubtracting(rhs.memoryBytes), accelerators: accelerators)
    }

    public static func += (lhs: inout Resources, rhs: Resources) { lhs = lhs + rhs }
    public static func -= (lhs: inout Resources, rhs: Resources) { lhs = lhs - rhs }

    public var isNonNegative: Bool {
        cpuMillis >= 0 && memoryBytes >= 0 && accelerators.values.allSatisfy { $0 >= 0 }
    }

    public var description: String {
        var parts = ["cpu=\(Double(cpuMillis) / 1000)", "memory=\(memoryBytes / (1 << 20))Mi"]
        for (kind, count) in accelerators.sorted(by: { $0.key < $1.key }) { parts.append("\(kind)=\(count)") }
        return parts.joined(separator: " ")
    }
}

/// Worker labels such as `zone`, `rack`, `pool`.
public typealias Labels = [String: String]

extension Dictionary where Key == String, Value == String {
    /// True when these (a worker's) labels carry every `key: value` of `selector` (a task's node selector); an
    /// empty selector is satisfied by any labels. The one definition of "runs on this worker" by labels: the
    /// scheduler's interned `PlacementClass.matches` and the claim's SQL filter (`TaskSQL.claim`,
    /// `labels @> t.node_selector`) are mirrors of it.
    public func satisfies(selector: Labels) -> Bool {
        selector.allSatisfy { self[$0.key] == $0.value }
    }
}

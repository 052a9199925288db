// Bounds on every resource quantity that enters the system, and saturating sums for the totals built from them.
//
// A worker that registered `memoryBytes: Int64.max` next to any other worker once made the scheduler's cluster
// total overflow and trap: the leader died, and every replica that took over died the same way because the
// worker stayed alive in the database. Two defences, both needed:
//   1. quantities are refused at the edges (registration, manifests) unless they are within these limits;
//   2. quantities already stored (or arriving by a path that forgot to check) are clamped into them, and every
//      total over many workers or tasks is a saturating sum, so no input can trap the scheduler.

/// The largest quantity one worker may offer or one task may ask for. Far above any machine sold today
/// (the largest hosts have a few thousand cores, tens of TiB and 8–16 accelerators), far below Int64.max:
/// 8,192 workers at every limit still sum to less than Int64.max in each dimension.
public enum ResourceLimits {
    /// 1,048,576 cores.
    public static let maxCPUMillis: Int64 = 1 << 30
    /// 1 PiB.
    public static let maxMemoryBytes: Int64 = 1 << 50
    /// Devices of one accelerator type.
    public static let maxAcceleratorCount: Int64 = 1 << 16
    /// Distinct accelerator types on one worker or in one request.
    public static let maxAcceleratorTypes = 64

    /// Each quantity pinned into 0...its limit, one dimension at a time (the scheduler's hot loops clamp in place).
    @inline(__always) public static func clampCPUMillis(_ value: Int64) -> Int64 { value.clamped(0, maxCPUMillis) }
    @inline(__always) public static func clampMemoryBytes(_ value: Int64) -> Int64 { value.clamped(0, maxMemoryBytes) }
    @inline(__always) public static func clampAcceleratorCount(_ value: Int64) -> Int64 {
        value.clamped(0, maxAcceleratorCount)
    }

    /// Human-readable limits, for error messages.
    public static let cpuDescription = "at most 1048576 cores"
    public static let memoryDescription = "at most 1Pi (\(maxMemoryBytes) bytes)"
    public static let acceleratorDescription = "an integer in 0...\(maxAcceleratorCount)"
}

extension Resources {
    /// The first quantity outside `ResourceLimits` (or negative), as "field: expected ..., got ..."; nil when all
    /// are within them. `prefix` is the field path of this value, e.g. "resources".
    public func limitViolation(prefix: String) -> String? {
        if !(0...ResourceLimits.maxCPUMillis).contains(cpuMillis) {
            return
                "\(prefix).cpuMillis: expected 0...\(ResourceLimits.maxCPUMillis) (\(ResourceLimits.cpuDescription)), got \(cpuMillis)"
        }
        if !(0...ResourceLimits.maxMemoryBytes).contains(memoryBytes) {
            return
                "\(prefix).memoryBytes: expected 0...\(ResourceLimits.maxMemoryBytes) (\(ResourceLimits.memoryDescription)), got \(memoryBytes)"
        }
        if accelerators.count > ResourceLimits.maxAcceleratorTypes {
            return
                "\(prefix).accelerators: expected at most \(ResourceLimits.maxAcceleratorTypes) types, got \(accelerators.count)"
        }
        for (kind, count) in accelerators.sorted(by: { $0.key < $1.key })
        where !(0...ResourceLimits.maxAcceleratorCount).contains(count) {
            return "\(prefix).accelerators.\(kind): expected \(ResourceLimits.acceleratorDescription), got \(count)"
        }
        return nil
    }

    /// Every quantity pinned into 0...limit: what the scheduler works with whatever the database holds.
    public var clampedToLimits: Resources {
        Resources(
            cpuMillis: ResourceLimits.clampCPUMillis(cpuMillis),
            memoryBytes: ResourceLimits.clampMemoryBytes(memoryBytes),
            accelerators: accelerators.mapValues(ResourceLimits.clampAcceleratorCount))
    }
}

extension Int64 {
    /// `self + other`, pinned at `.max` / `.min` instead of trapping.
    @inline(__always)
    public func saturatingAdding(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        guard overflow else { return sum }
        return other > 0 ? .max : .min
    }

    /// `self - other`, pinned at `.max` / `.min` instead of trapping.
    @inline(__always)
    public func saturatingSubtracting(_ other: Int64) -> Int64 {
        let (difference, overflow) = subtractingReportingOverflow(other)
        guard overflow else { return difference }
        return other < 0 ? .max : .min
    }

    /// `self * other`, pinned at `.max` / `.min` instead of trapping.
    @inline(__always)
    public func saturatingMultiplying(_ other: Int64) -> Int64 {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        guard overflow else { return product }
        return (self < 0) == (other < 0) ? .max : .min
    }

    @inline(__always)
    fileprivate func clamped(_ lower: Int64, _ upper: Int64) -> Int64 { Swift.min(Swift.max(self, lower), upper) }
}

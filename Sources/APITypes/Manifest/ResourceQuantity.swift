// Kubernetes-style resource quantities: `cpu: 2`, `cpu: 0.5`, `cpu: "500m"`; `memory: "4Gi"`, `memory: 1073741824`.

public enum ResourceQuantity {
    public static let cpuExpectation = "a CPU quantity >= 0 such as 2, 0.5 or \"500m\""
    public static let memoryExpectation = "a memory quantity >= 0 such as \"512Mi\", \"4Gi\" or a number of bytes"

    /// Thousandths of a core, or nil when `value` is not a CPU quantity.
    public static func cpuMillis(_ value: ManifestValue) -> Int64? {
        switch value.content {
        case .int(let i): return i >= 0 && i <= Int64.max / 1000 ? i * 1000 : nil
        case .float(let f): return millis(f)
        case .string(let s):
            if s.hasSuffix("m") {
                guard let m = Int64(s.dropLast()), m >= 0 else { return nil }
                return m
            }
            return Double(s).flatMap(millis)
        default: return nil
        }
    }

    private static func millis(_ cores: Double) -> Int64? {
        guard cores.isFinite, cores >= 0, cores < 1e12 else { return nil }
        let m = cores * 1000
        // Finer than a millicore cannot be expressed.
        guard abs(m - m.rounded()) < 1e-6 else { return nil }
        return Int64(m.rounded())
    }

    private static let binarySuffixes: [(String, Double)] = [
        ("Ki", 1024), ("Mi", 1_048_576), ("Gi", 1_073_741_824), ("Ti", 1_099_511_627_776),
        ("Pi", 1_125_899_906_842_624), ("Ei", 1_152_921_504_606_846_976),
    ]
    private static let decimalSuffixes: [(String, Double)] = [
        ("k", 1e3), ("K", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12), ("P", 1e15), ("E", 1e18),
    ]

    /// Bytes, or nil when `value` is not a memory quantity.
    public static func memoryBytes(_ value: ManifestValue) -> Int64? {
        switch value.content {
        case .int(let i): return i >= 0 ? i : nil
        case .float(let f): return wholeBytes(f)
        case .string(let s):
            for (suffix, factor) in binarySuffixes + decimalSuffixes where s.hasSuffix(suffix) {
                guard let number = Double(s.dropLast(suffix.count)), !s.dropLast(suffix.count).hasPrefix("+") else {
                    return nil
                }
                return wholeBytes(number * factor)
            }
            return Double(s).flatMap(wholeBytes)
        default: return nil
        }
    }

    private static func wholeBytes(_ bytes: Double) -> Int64? {
        guard bytes.isFinite, bytes >= 0, bytes < 9.2e18 else { return nil }
        return Int64(bytes.rounded(.up))
    }

    /// `500m`, `2`: the canonical spelling a manifest is re-encoded with.
    public static func formatCPU(_ millis: Int64) -> String {
        millis % 1000 == 0 ? String(millis / 1000) : "\(millis)m"
    }

    /// `4Gi`, `512Mi`, or plain bytes when not a whole number of a binary unit.
    public static func formatMemory(_ bytes: Int64) -> String {
        for (suffix, factor) in binarySuffixes.reversed() {
            let f = Int64(factor)
            if bytes >= f, bytes % f == 0 { return "\(bytes / f)\(suffix)" }
        }
        return String(bytes)
    }
}

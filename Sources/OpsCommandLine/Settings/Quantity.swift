// Resource quantities as users write them on the command line (`2`, `500m`, `8Gi`, `gpu-h100=8`), and back.

import ClusterModel
import Foundation

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
        let units: [(String, Double)] = [
            ("Ki", 1024), ("Mi", 1024 * 1024), ("Gi", 1_073_741_824), ("Ti", 1_099_511_627_776),
            ("K", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12),
        ]
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
        let units: [(String, Double)] = [
            ("Ti", 1_099_511_627_776), ("Gi", 1_073_741_824), ("Mi", 1_048_576), ("Ki", 1024),
        ]
        for (suffix, factor) in units where Double(bytes) >= factor {
            let value = Double(bytes) / factor
            return
                (value >= 10 || value == value.rounded() ? String(Int(value.rounded())) : String(format: "%.1f", value))
                + suffix
        }
        return String(bytes)
    }
}

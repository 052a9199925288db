// Aligned text tables and short human durations for `opsctl get` / `describe`.

import Foundation

public enum TableFormatter {
    /// Columns separated by at least two spaces, left-aligned, no trailing spaces.
    public static func render(headers: [String], rows: [[String]]) -> String {
        let columns = headers.count
        var widths = headers.map(\.count)
        for row in rows {
            for (i, cell) in row.prefix(columns).enumerated() { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            var text = ""
            for i in 0..<columns {
                let cell = i < cells.count ? cells[i] : ""
                text += i == columns - 1 ? cell : cell.padding(toLength: widths[i] + 2, withPad: " ", startingAt: 0)
            }
            while text.hasSuffix(" ") { text.removeLast() }
            return text
        }
        return ([line(headers)] + rows.map(line)).joined(separator: "\n") + "\n"
    }

    /// `45s`, `3m12s`, `2h5m`, `3d4h`.
    public static func duration(_ seconds: Double) -> String {
        let s = max(0, Int(seconds.rounded(.down)))
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m\(s % 60 == 0 ? "" : "\(s % 60)s")" }
        if s < 86400 { return "\(s / 3600)h\((s % 3600) / 60 == 0 ? "" : "\((s % 3600) / 60)m")" }
        return "\(s / 86400)d\((s % 86400) / 3600 == 0 ? "" : "\((s % 86400) / 3600)h")"
    }

    /// Time since `date`, as `duration`; `-` for nil.
    public static func age(_ date: Date?, now: Date = Date()) -> String {
        guard let date else { return "-" }
        return duration(now.timeIntervalSince(date))
    }

    /// A compact number for metric values: 3 significant decimals, scientific when tiny or huge.
    public static func number(_ value: Double) -> String {
        if value == value.rounded() && abs(value) < 1e15 { return String(Int64(value)) }
        let magnitude = abs(value)
        if magnitude >= 1e6 || magnitude < 1e-3 { return String(format: "%.3e", value) }
        return String(format: "%.4g", value)
    }
}

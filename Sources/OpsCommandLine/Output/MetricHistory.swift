// A job's metric points over steps, as `opsctl get metrics` prints them: a table or CSV row per point in the order
// the control plane stored them (oldest first), or one sparkline per metric name.

import APITypes
import Foundation

enum MetricHistory {
    static let csvHeaders = ["name", "step", "value", "taskID", "attemptID", "time"]

    /// One row per point; values in Swift's shortest form that reads back to the same Double (`2.3125`, `1e-05`).
    static func csv(_ points: [MetricPointView]) -> String {
        CSV.render(
            headers: csvHeaders,
            rows: points.map {
                [
                    $0.name, String($0.step), String($0.value), String($0.taskID.rawValue),
                    String($0.attemptID.rawValue), WireCoding.formatTimestamp($0.time),
                ]
            })
    }

    static func table(_ points: [MetricPointView]) -> String {
        TableFormatter.render(
            headers: ["METRIC", "STEP", "VALUE", "TASK", "ATTEMPT", "TIME"],
            rows: points.map {
                [
                    $0.name, String($0.step), TableFormatter.number($0.value), String($0.taskID.rawValue),
                    String($0.attemptID.rawValue), WireCoding.formatTimestamp($0.time),
                ]
            })
    }

    /// The series of one metric over steps: ordered by step, and where a retried attempt reported a step again,
    /// its latest point (the highest id) counts.
    static func series(_ points: [MetricPointView]) -> [MetricPointView] {
        var latest: [Int64: MetricPointView] = [:]
        for point in points where latest[point.step].map({ $0.id < point.id }) ?? true { latest[point.step] = point }
        return latest.values.sorted { $0.step < $1.step }
    }

    /// `loss  ▇▆▅▄▃▂▂▁  2.31 → 1.02  (min 0.98, max 2.4; 1200 steps, 1…1200)`, one line per metric name.
    static func sparklines(_ points: [MetricPointView], width: Int = Sparkline.defaultWidth) -> String {
        let names = Dictionary(grouping: points.filter { !UnchartedMetrics.contains($0.name) }, by: \.name)
        let nameWidth = (names.keys.map(\.count).max() ?? 0) + 2
        return names.keys.sorted().map { name -> String in
            let series = series(names[name]!)
            let values = series.map(\.value)
            let first = series.first!
            let last = series.last!
            let low = values.min()!
            let high = values.max()!
            return name.padding(toLength: nameWidth, withPad: " ", startingAt: 0)
                + Sparkline.render(values, width: width)
                + "  \(TableFormatter.number(first.value)) → \(TableFormatter.number(last.value))"
                + "  (min \(TableFormatter.number(low)), max \(TableFormatter.number(high)); "
                + "\(series.count) step\(series.count == 1 ? "" : "s"), \(first.step)…\(last.step))\n"
        }.joined()
    }
}

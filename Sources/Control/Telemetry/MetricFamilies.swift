import Foundation
import Primitives

// The in-process half of `/metrics` (docs/observability.md): counters, gauges and histograms with fixed buckets,
// each a family of series told apart by label values. A family's label names are fixed when it is made and its
// series are bounded (`seriesMax`): every label this package sets comes from a closed set (a route pattern, a
// status class, an outcome), so running past the bound is a programming error and traps, like TigerBeetle's
// assertions, instead of growing a scrape without end. Values from the database (queues, jobs) are not kept
// here; they are read at scrape time (`ClusterGauges`).

/// What Prometheus calls the type of a family.
enum MetricType: String, Sendable {
    case counter, gauge, histogram
}

/// One series of a counter or gauge: its label values (in the family's label-name order) and its value.
struct MetricSeries: Sendable, Equatable {
    var labels: [String]
    var value: Double
}

/// One series of a histogram: counts per bucket (not cumulative; the exposition sums them), their sum and count.
struct HistogramSeries: Sendable, Equatable {
    var labels: [String]
    /// `bucketCounts[i]` observations fell at or below `upperBounds[i]` and above the bound before; the last
    /// entry counts those above every bound (the `+Inf` bucket).
    var bucketCounts: [UInt64]
    var sum: Double
    var count: UInt64
}

/// A family as the exposition writes it.
struct MetricFamilySnapshot: Sendable {
    enum Points: Sendable {
        case counter([MetricSeries])
        case gauge([MetricSeries])
        case histogram(upperBounds: [Double], [HistogramSeries])
    }

    /// The family's name without a suffix: `llmops_task_claims` (written `llmops_task_claims_total`).
    let name: String
    let help: String
    let labelNames: [String]
    let points: Points

    var type: MetricType {
        switch points {
        case .counter: .counter
        case .gauge: .gauge
        case .histogram: .histogram
        }
    }

    init(name: String, help: String, labelNames: [String], points: Points) {
        precondition(MetricNames.isValid(name), "metric name \(name.debugDescription) is not [a-zA-Z_][a-zA-Z0-9_]*")
        precondition(labelNames.allSatisfy(MetricNames.isValidLabel), "label names \(labelNames) are not valid")
        self.name = name
        self.help = help
        self.labelNames = labelNames
        self.points = points
    }

    /// A gauge family from values read elsewhere (the database, the pool).
    static func gauge(_ name: String, _ help: String, labels: [String] = [], _ series: [MetricSeries])
        -> MetricFamilySnapshot
    {
        MetricFamilySnapshot(name: name, help: help, labelNames: labels, points: .gauge(series))
    }
}

enum MetricNames {
    /// OpenMetrics' metric names without colons (colons are for recording rules).
    static func isValid(_ name: String) -> Bool {
        guard let first = name.utf8.first, !isDigit(first) else { return false }
        return name.utf8.allSatisfy { isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") }
    }

    /// Label names; `__` prefixes are Prometheus' own.
    static func isValidLabel(_ name: String) -> Bool { isValid(name) && !name.hasPrefix("__") && name != "le" }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
}

/// A counter family: values only go up (`increment`), written with the `_total` suffix.
final class CounterFamily: Sendable {
    let name: String
    let help: String
    let labelNames: [String]
    let seriesMax: Int
    private let series = Locked<[[String]: Double]>([:])

    init(_ name: String, _ help: String, labels: [String] = [], seriesMax: Int = 256) {
        precondition(!name.hasSuffix("_total"), "name the counter family without _total: \(name)")
        self.name = name
        self.help = help
        self.labelNames = labels
        self.seriesMax = seriesMax
        // A family without labels shows its one series (at 0) before the first increment, so `rate()` has a start.
        if labels.isEmpty { series.withLock { $0[[]] = 0 } }
    }

    func increment(_ labels: [String] = [], by amount: Double = 1) {
        precondition(labels.count == labelNames.count, "\(name) takes labels \(labelNames), got \(labels)")
        precondition(amount >= 0 && amount.isFinite, "a counter only goes up by a finite amount, got \(amount)")
        let full = series.withLock { series -> Bool in
            if series[labels] == nil && series.count >= seriesMax { return true }
            series[labels, default: 0] += amount
            return false
        }
        precondition(!full, "\(name) would have more than \(seriesMax) series; its labels must come from a closed set")
    }

    /// The value of one series (0 when it was never incremented).
    func value(_ labels: [String] = []) -> Double { series.withLock { $0[labels] ?? 0 } }

    func snapshot() -> MetricFamilySnapshot {
        let points = series.withLock { $0 }.map { MetricSeries(labels: $0.key, value: $0.value) }
        return MetricFamilySnapshot(
            name: name, help: help, labelNames: labelNames, points: .counter(points.sorted(by: MetricSort.series)))
    }
}

/// A gauge family whose whole set of series is replaced at once (the scheduler's pending reasons after a pass).
final class GaugeFamily: Sendable {
    let name: String
    let help: String
    let labelNames: [String]
    let seriesMax: Int
    private let series = Locked<[[String]: Double]>([:])

    init(_ name: String, _ help: String, labels: [String] = [], seriesMax: Int = 256) {
        self.name = name
        self.help = help
        self.labelNames = labels
        self.seriesMax = seriesMax
    }

    func replaceAll(_ values: [[String]: Double]) {
        precondition(values.count <= seriesMax, "\(name) would have \(values.count) series, more than \(seriesMax)")
        precondition(values.keys.allSatisfy { $0.count == labelNames.count }, "\(name) takes labels \(labelNames)")
        series.withLock { $0 = values }
    }

    func value(_ labels: [String] = []) -> Double? { series.withLock { $0[labels] } }

    func snapshot() -> MetricFamilySnapshot {
        let points = series.withLock { $0 }.map { MetricSeries(labels: $0.key, value: $0.value) }
        return .gauge(name, help, labels: labelNames, points.sorted(by: MetricSort.series))
    }
}

/// A histogram family with fixed bucket bounds (seconds for every histogram here).
final class HistogramFamily: Sendable {
    let name: String
    let help: String
    let labelNames: [String]
    let upperBounds: [Double]
    let seriesMax: Int
    private let series = Locked<[[String]: HistogramSeries]>([:])

    init(_ name: String, _ help: String, labels: [String] = [], upperBounds: [Double], seriesMax: Int = 512) {
        precondition(!upperBounds.isEmpty && upperBounds.allSatisfy(\.isFinite), "bucket bounds must be finite")
        precondition(zip(upperBounds, upperBounds.dropFirst()).allSatisfy { $0 < $1 }, "bucket bounds must increase")
        self.name = name
        self.help = help
        self.labelNames = labels
        self.upperBounds = upperBounds
        self.seriesMax = seriesMax
    }

    func observe(_ value: Double, _ labels: [String] = []) {
        precondition(labels.count == labelNames.count, "\(name) takes labels \(labelNames), got \(labels)")
        guard value.isFinite else { return }
        // The first bound at or above the value (`le` is "less than or equal"); past the last: the +Inf bucket.
        let bucket = upperBounds.firstIndex { value <= $0 } ?? upperBounds.count
        let full = series.withLock { series -> Bool in
            if series[labels] == nil {
                guard series.count < seriesMax else { return true }
                series[labels] = HistogramSeries(
                    labels: labels, bucketCounts: Array(repeating: 0, count: upperBounds.count + 1), sum: 0, count: 0)
            }
            series[labels]!.bucketCounts[bucket] += 1
            series[labels]!.sum += value
            series[labels]!.count += 1
            return false
        }
        precondition(!full, "\(name) would have more than \(seriesMax) series; its labels must come from a closed set")
    }

    /// Observations of one series so far (0 when none).
    func count(_ labels: [String] = []) -> UInt64 { series.withLock { $0[labels]?.count ?? 0 } }

    func snapshot() -> MetricFamilySnapshot {
        let points = series.withLock { Array($0.values) }
        return MetricFamilySnapshot(
            name: name, help: help, labelNames: labelNames,
            points: .histogram(upperBounds: upperBounds, points.sorted { MetricSort.labels($0.labels, $1.labels) }))
    }
}

/// Series in a stable order, so two scrapes of the same state are the same text.
enum MetricSort {
    static func labels(_ a: [String], _ b: [String]) -> Bool { a.lexicographicallyPrecedes(b) }
    static func series(_ a: MetricSeries, _ b: MetricSeries) -> Bool { labels(a.labels, b.labels) }
}

import Foundation

/// One metric of a job over its steps, in the order the points were reported.
struct MetricChartSeries: Sendable, Equatable {
    struct Point: Sendable, Equatable {
        /// The metric row's id: the page's script skips points it already has (`SettledCursor`).
        let id: Int64
        let step: Int64
        let value: Double
    }

    let name: String
    var points: [Point]

    /// The series of `metrics`, the training metrics first in the order a reader looks at them (issue 17: loss,
    /// val_loss, the per-checkpoint evals' eval_loss/<dataset> (issue 20), lr, grad_norm, tokens/s), then any other
    /// name alphabetically.
    static func group(_ metrics: [MetricRecord]) -> [MetricChartSeries] {
        var byName: [String: [Point]] = [:]
        for metric in metrics {
            byName[metric.name, default: []].append(Point(id: metric.id, step: metric.step, value: metric.value))
        }
        func rank(_ name: String) -> Int {
            preferredOrder.firstIndex { $0.hasSuffix("/") ? name.hasPrefix($0) : name == $0 } ?? preferredOrder.count
        }
        // By step (stable: a step's points stay in report order), so the line only moves forward even when the
        // members of a DiLoCo job report the same steps.
        return byName.keys.sorted { (rank($0), $0) < (rank($1), $1) }.map { name in
            MetricChartSeries(
                name: name,
                points: byName[name]!.enumerated().sorted {
                    ($0.element.step, $0.offset) < ($1.element.step, $1.offset)
                }.map(\.element))
        }
    }

    /// Names, or prefixes ending in '/'.
    static let preferredOrder = ["loss", "val_loss", "eval_loss/", "lr", "grad_norm", "tokens_per_second"]
}

/// A line chart of one series as hand-written SVG (docs/dashboard.md, "Charts": no library, nothing to serve but
/// markup, and the same drawing in `dashboard.js` when points arrive). Beside it, its text alternative: a table of
/// every point, and a description of the range for screen readers.
enum MetricChart {
    // The drawing area in SVG units; the browser scales the whole to the page's width.
    static let width = 640.0
    static let height = 220.0
    static let left = 70.0
    static let right = 12.0
    static let top = 12.0
    static let bottom = 28.0

    static func render(_ series: MetricChartSeries) -> HTML {
        let id = "chart-" + identifier(series.name)
        let scale = Scale(series.points)
        let rows = series.points.map { point -> HTML in
            let value = number(point.value)
            return
                "<tr data-id=\"\(point.id)\" data-step=\"\(point.step)\" data-value=\"\(value)\"><td>\(point.step)</td><td>\(value)</td></tr>"
        }
        return """
            <figure class="chart" data-metric="\(series.name)" id="\(id)">
            <figcaption id="\(id)-caption">\(series.name)</figcaption>
            <svg viewBox="0 0 \(Int(width)) \(Int(height))" role="img" aria-labelledby="\(id)-caption" aria-describedby="\(id)-summary" focusable="false">
            <desc id="\(id)-summary">\(summary(series))</desc>
            <line class="axis" x1="\(Int(left))" y1="\(Int(top))" x2="\(Int(left))" y2="\(Int(height - bottom))" stroke="#555"/>
            <line class="axis" x1="\(Int(left))" y1="\(Int(height - bottom))" x2="\(Int(width - right))" y2="\(Int(height - bottom))" stroke="#555"/>
            <text class="tick" data-role="ymax" x="\(Int(left) - 6)" y="\(Int(top) + 10)" text-anchor="end">\(number(scale.maxValue))</text>
            <text class="tick" data-role="ymin" x="\(Int(left) - 6)" y="\(Int(height - bottom))" text-anchor="end">\(number(scale.minValue))</text>
            <text class="tick" data-role="xmin" x="\(Int(left))" y="\(Int(height) - 8)" text-anchor="start">step \(scale.minStep)</text>
            <text class="tick" data-role="xmax" x="\(Int(width - right))" y="\(Int(height) - 8)" text-anchor="end">step \(scale.maxStep)</text>
            <polyline class="series" fill="none" stroke="#1f5fbf" stroke-width="2" points="\(scale.polyline(series.points))"/>
            </svg>
            <details><summary>Points of \(series.name) (<span data-role="count">\(series.points.count)</span>)</summary>
            <table class="points"><caption>\(series.name) by step</caption>
            <thead><tr><th scope="col">step</th><th scope="col">value</th></tr></thead>
            <tbody>\(rows)</tbody></table></details>
            </figure>
            """
    }

    /// `loss: 120 points, steps 5 to 600, from 1.93 to 5.41, latest 1.95 at step 600`.
    static func summary(_ series: MetricChartSeries) -> String {
        guard let last = series.points.last else { return "\(series.name): no points yet" }
        let scale = Scale(series.points)
        return
            "\(series.name): \(series.points.count) points, steps \(scale.minStep) to \(scale.maxStep), from \(number(scale.minValue)) to \(number(scale.maxValue)), latest \(number(last.value)) at step \(last.step)"
    }

    /// The shortest text that reads back as the same 32-bit float (`0.003`, `5.4123`, `1.7825e+06`): the
    /// precision the workers compute in, short enough for a table of 10,000 rows, and without the C varargs call
    /// of `String(format:)`, which the page makes once per point.
    static func number(_ value: Double) -> String {
        guard value.isFinite, abs(value) <= Double(Float.greatestFiniteMagnitude) else { return value.description }
        return Float(value).description
    }

    /// A metric name as an element id: letters, digits, `-` and `_`; anything else `_`.
    static func identifier(_ name: String) -> String {
        String(
            name.unicodeScalars.prefix(64).map { scalar in
                CharacterSet.alphanumerics.contains(scalar) && scalar.isASCII || scalar == "-" || scalar == "_"
                    ? Character(scalar) : "_"
            })
    }

    /// Steps to x and values to y within the drawing area; a flat series gets a band around its value.
    struct Scale {
        let minStep: Int64
        let maxStep: Int64
        let minValue: Double
        let maxValue: Double

        init(_ points: [MetricChartSeries.Point]) {
            let finite = points.filter { $0.value.isFinite }
            minStep = points.map(\.step).min() ?? 0
            maxStep = points.map(\.step).max() ?? 0
            var low = finite.map(\.value).min() ?? 0
            var high = finite.map(\.value).max() ?? 1
            if high - low < 1e-12 {
                let band = max(abs(low) * 0.1, 1e-9)
                low -= band
                high += band
            }
            minValue = low
            maxValue = high
        }

        /// `x,y x,y …` with one decimal: 0.1 SVG units is finer than a pixel at any page width.
        func polyline(_ points: [MetricChartSeries.Point]) -> String {
            let spanSteps = Double(max(1, maxStep - minStep))
            let plotWidth = MetricChart.width - MetricChart.left - MetricChart.right
            let plotHeight = MetricChart.height - MetricChart.top - MetricChart.bottom
            var out = ""
            out.reserveCapacity(points.count * 12)
            for point in points where point.value.isFinite {
                let x = MetricChart.left + Double(point.step - minStep) / spanSteps * plotWidth
                let y = MetricChart.top + (maxValue - point.value) / (maxValue - minValue) * plotHeight
                if !out.isEmpty { out += " " }
                out += Self.tenths(x) + "," + Self.tenths(y)
            }
            return out
        }

        /// `123.4` without `String(format:)`, which costs about a microsecond a call (2 per point).
        static func tenths(_ value: Double) -> String {
            let scaled = Int((value * 10).rounded())
            let whole = scaled / 10
            let fraction = abs(scaled % 10)
            return (scaled < 0 && whole == 0 ? "-" : "") + String(whole) + "." + String(fraction)
        }
    }
}

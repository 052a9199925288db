import Foundation

// The text of a scrape. OpenMetrics 1.0 is the format (`# EOF` last, counters as `_total`, `+Inf` buckets);
// the classic Prometheus text format 0.0.4 is written for a scraper that asks for `text/plain` only (old
// Prometheus versions, `curl -H 'Accept: text/plain'`). Both escape label values the same way (`\\`, `\"`, `\n`),
// so a queue named `a"b\c` cannot break a line.

enum ExpositionFormat: Sendable, Equatable {
    case openMetrics
    case prometheusText

    var contentType: String {
        switch self {
        case .openMetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8"
        case .prometheusText: "text/plain; version=0.0.4; charset=utf-8"
        }
    }

    /// The format an `Accept` header prefers: OpenMetrics unless `text/plain` is asked for with a higher
    /// quality (a missing header, `*/*` and ties get OpenMetrics, the format Prometheus asks for first).
    static func negotiate(accept: String?) -> ExpositionFormat {
        guard let accept, !accept.isEmpty else { return .openMetrics }
        var openMetricsQuality = 0.0
        var textQuality = 0.0
        var anyQuality = 0.0
        for range in accept.split(separator: ",").prefix(32) {
            let parts = range.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard let media = parts.first else { continue }
            let quality =
                parts.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            switch media {
            case "application/openmetrics-text": openMetricsQuality = max(openMetricsQuality, quality)
            case "text/plain", "text/*": textQuality = max(textQuality, quality)
            case "*/*": anyQuality = max(anyQuality, quality)
            default: continue
            }
        }
        return textQuality > max(openMetricsQuality, anyQuality) ? .prometheusText : .openMetrics
    }
}

enum MetricExposition {
    /// The families in order, then `# EOF` for OpenMetrics.
    static func render(_ families: [MetricFamilySnapshot], format: ExpositionFormat) -> String {
        var names = Set<String>()
        var out = ""
        out.reserveCapacity(families.count * 256)
        for family in families {
            precondition(names.insert(family.name).inserted, "metric family \(family.name) is written twice")
            write(family, format, into: &out)
        }
        if format == .openMetrics { out += "# EOF\n" }
        return out
    }

    private static func write(_ family: MetricFamilySnapshot, _ format: ExpositionFormat, into out: inout String) {
        // The classic format names a counter's family with its `_total`; OpenMetrics names it without.
        let familyName =
            format == .prometheusText && family.type == .counter ? family.name + "_total" : family.name
        out += "# TYPE \(familyName) \(family.type.rawValue)\n"
        out += "# HELP \(familyName) \(escapeHelp(family.help, format))\n"
        switch family.points {
        case .counter(let series):
            for s in series { sample(family.name + "_total", family.labelNames, s.labels, s.value, into: &out) }
        case .gauge(let series):
            for s in series { sample(family.name, family.labelNames, s.labels, s.value, into: &out) }
        case .histogram(let upperBounds, let series):
            let names = family.labelNames + ["le"]
            for s in series {
                var cumulative: UInt64 = 0
                for (i, count) in s.bucketCounts.enumerated() {
                    cumulative += count
                    let bound = i < upperBounds.count ? number(upperBounds[i]) : "+Inf"
                    sample(family.name + "_bucket", names, s.labels + [bound], Double(cumulative), into: &out)
                }
                sample(family.name + "_count", family.labelNames, s.labels, Double(s.count), into: &out)
                sample(family.name + "_sum", family.labelNames, s.labels, s.sum, into: &out)
            }
        }
    }

    private static func sample(
        _ name: String, _ labelNames: [String], _ labelValues: [String], _ value: Double, into out: inout String
    ) {
        precondition(labelNames.count == labelValues.count, "\(name): \(labelNames.count) label names, \(labelValues)")
        out += name
        if !labelNames.isEmpty {
            out += "{"
            for (i, (label, value)) in zip(labelNames, labelValues).enumerated() {
                if i > 0 { out += "," }
                out += label + "=\"" + escapeLabelValue(value) + "\""
            }
            out += "}"
        }
        out += " " + number(value) + "\n"
    }

    /// Label values: backslash, double quote and line feed escaped (both formats).
    static func escapeLabelValue(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for character in value.unicodeScalars {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    /// HELP text: backslash and line feed escaped; OpenMetrics also escapes the double quote.
    static func escapeHelp(_ text: String, _ format: ExpositionFormat) -> String {
        var out = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
        if format == .openMetrics { out = out.replacingOccurrences(of: "\"", with: "\\\"") }
        return out
    }

    /// Integers without a fraction (counts read best so), other values as Swift prints them (`0.25`, `1e-05`).
    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded() && abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}

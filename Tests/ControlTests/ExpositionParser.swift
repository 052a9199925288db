// A strict parser of the scrape text `/metrics` writes (OpenMetrics 1.0, or the classic Prometheus text format),
// for the tests: it accepts exactly the line shapes the exposition emits and throws, naming the line, on anything
// else (a sample outside its family, an unknown escape, a bucket count that goes down, text after `# EOF`).

import Foundation

struct ParsedExposition {
    struct Failure: Error, CustomStringConvertible {
        let line: Int
        let problem: String
        var description: String { "line \(line): \(problem)" }
    }

    struct Sample: Equatable {
        let name: String
        let labels: [String: String]
        let value: Double
    }

    enum Format { case openMetrics, prometheusText }

    /// Family name → type (`counter`, `gauge`, `histogram`), as declared by `# TYPE`.
    private(set) var types: [String: String] = [:]
    private(set) var help: [String: String] = [:]
    private(set) var samples: [Sample] = []

    /// The value of the one sample named `name` whose labels include `labels`, or nil when none; throws when several.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let found = samples(name, labels)
        precondition(found.count <= 1, "\(found.count) samples of \(name) match \(labels)")
        return found.first?.value
    }

    func samples(_ name: String, _ labels: [String: String] = [:]) -> [Sample] {
        samples.filter { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }
    }

    init(_ text: String, format: Format) throws {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.last == "" else { throw Failure(line: lines.count, problem: "the text does not end in a newline") }
        lines.removeLast()
        if format == .openMetrics {
            guard lines.last == "# EOF" else { throw Failure(line: lines.count, problem: "the last line is not # EOF") }
            lines.removeLast()
        }
        var family: (name: String, type: String)?
        for (index, line) in lines.enumerated() {
            let number = index + 1
            if line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ", omittingEmptySubsequences: false).map(String.init)
                guard parts.count == 2, ["counter", "gauge", "histogram"].contains(parts[1]), Self.isName(parts[0])
                else { throw Failure(line: number, problem: "bad TYPE line \(line.debugDescription)") }
                guard types[parts[0]] == nil else { throw Failure(line: number, problem: "\(parts[0]) declared twice") }
                types[parts[0]] = parts[1]
                family = (parts[0], parts[1])
            } else if line.hasPrefix("# HELP ") {
                let rest = line.dropFirst(7)
                guard let space = rest.firstIndex(of: " "), String(rest[..<space]) == family?.name else {
                    throw Failure(line: number, problem: "HELP not right after its family's TYPE: \(line)")
                }
                help[family!.name] = String(rest[rest.index(after: space)...])
            } else if line.hasPrefix("#") {
                throw Failure(line: number, problem: "unexpected comment \(line.debugDescription)")
            } else {
                guard let family else { throw Failure(line: number, problem: "a sample before any TYPE") }
                let sample = try Self.sample(line, number)
                guard Self.belongs(sample.name, to: family.name, type: family.type, format: format) else {
                    throw Failure(
                        line: number, problem: "\(sample.name) is not a sample of \(family.type) \(family.name)")
                }
                samples.append(sample)
            }
        }
        try checkHistograms()
    }

    /// Buckets cumulative (never decreasing as `le` grows), the `+Inf` bucket equal to `_count`.
    private func checkHistograms() throws {
        for (name, type) in types where type == "histogram" {
            var bySeries: [[String: String]: [(le: Double, count: Double)]] = [:]
            for sample in samples where sample.name == name + "_bucket" {
                var labels = sample.labels
                guard let le = labels.removeValue(forKey: "le"), let bound = Self.number(le) else {
                    throw Failure(line: 0, problem: "\(name)_bucket without a numeric le: \(sample.labels)")
                }
                bySeries[labels, default: []].append((bound, sample.value))
            }
            for (labels, buckets) in bySeries {
                guard buckets.map(\.le) == buckets.map(\.le).sorted(), buckets.last?.le == .infinity else {
                    throw Failure(line: 0, problem: "\(name)\(labels): buckets not in order ending in +Inf")
                }
                guard zip(buckets, buckets.dropFirst()).allSatisfy({ $0.count <= $1.count }) else {
                    throw Failure(line: 0, problem: "\(name)\(labels): bucket counts are not cumulative \(buckets)")
                }
                let count = samples.first { $0.name == name + "_count" && $0.labels == labels }?.value
                guard count == buckets.last?.count else {
                    throw Failure(
                        line: 0, problem: "\(name)\(labels): +Inf bucket \(buckets.last!.count) != count \(count ?? -1)"
                    )
                }
            }
        }
    }

    private static func belongs(_ sample: String, to family: String, type: String, format: Format) -> Bool {
        switch type {
        case "counter":
            format == .openMetrics ? sample == family + "_total" : sample == family && family.hasSuffix("_total")
        case "histogram": ["_bucket", "_count", "_sum"].contains { sample == family + $0 }
        default: sample == family
        }
    }

    /// `name{a="x",b="y"} value` or `name value`.
    private static func sample(_ line: String, _ number: Int) throws -> Sample {
        let characters = Array(line.unicodeScalars)
        var i = 0
        var name = ""
        while i < characters.count, characters[i] != "{", characters[i] != " " {
            name.unicodeScalars.append(characters[i])
            i += 1
        }
        guard isName(name) else { throw Failure(line: number, problem: "bad metric name \(name.debugDescription)") }
        var labels: [String: String] = [:]
        if i < characters.count, characters[i] == "{" {
            i += 1
            while true {
                var label = ""
                while i < characters.count, characters[i] != "=" {
                    label.unicodeScalars.append(characters[i])
                    i += 1
                }
                guard isName(label), i + 1 < characters.count, characters[i + 1] == "\"" else {
                    throw Failure(line: number, problem: "bad label \(label.debugDescription) in \(line)")
                }
                i += 2
                var value = ""
                while true {
                    guard i < characters.count else { throw Failure(line: number, problem: "unterminated label value") }
                    let c = characters[i]
                    if c == "\"" { break }
                    if c == "\\" {
                        guard i + 1 < characters.count else {
                            throw Failure(line: number, problem: "dangling backslash")
                        }
                        switch characters[i + 1] {
                        case "\\": value += "\\"
                        case "\"": value += "\""
                        case "n": value += "\n"
                        default: throw Failure(line: number, problem: "unknown escape \\\(characters[i + 1])")
                        }
                        i += 2
                        continue
                    }
                    value.unicodeScalars.append(c)
                    i += 1
                }
                i += 1
                guard labels.updateValue(value, forKey: label) == nil else {
                    throw Failure(line: number, problem: "label \(label) twice")
                }
                guard i < characters.count else { throw Failure(line: number, problem: "unterminated label set") }
                if characters[i] == "," {
                    i += 1
                    continue
                }
                guard characters[i] == "}" else { throw Failure(line: number, problem: "expected , or } in \(line)") }
                i += 1
                break
            }
        }
        guard i < characters.count, characters[i] == " " else {
            throw Failure(line: number, problem: "expected one space before the value: \(line)")
        }
        var text = ""
        text.unicodeScalars.append(contentsOf: characters[(i + 1)...])
        guard let value = self.number(text) else {
            throw Failure(line: number, problem: "bad value \(text.debugDescription)")
        }
        return Sample(name: name, labels: labels, value: value)
    }

    private static func number(_ text: String) -> Double? {
        switch text {
        case "+Inf": return .infinity
        case "-Inf": return -.infinity
        case "NaN": return .nan
        default:
            guard !text.isEmpty, !text.contains(" "), !text.hasPrefix("+") else { return nil }
            return Double(text)
        }
    }

    private static func isName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, !("0"..."9").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_"
        }
    }
}

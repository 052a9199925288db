// The report protocol of the `command` kind (issue 18, docs/your-own-code.md): a line on the program's stdout that
// starts with `@ops ` and holds one JSON object is a report, not a log line. Any language can print one; nothing to
// install, no port to find, and the line arrives in order with the program's other output. Three shapes:
//
//   @ops {"metric": "loss", "step": 3, "value": 2.1}
//   @ops {"metrics": {"loss": 2.1, "lr": 0.001}, "step": 3}
//   @ops {"progress": 0.25, "step": 30, "totalSteps": 120, "message": "epoch 1"}
//   @ops {"artifact": "/abs/or/relative/path", "name": "model-final", "kind": "model", "metadata": {...}}

import APITypes
import Foundation

/// One parsed `@ops` line.
public enum OpsReportLine: Equatable, Sendable {
    case metrics([String: Double], step: Int64)
    case progress(fraction: Double, message: String?, step: Int64?, totalSteps: Int64?)
    /// `path` as written (relative to the program's working directory when it does not start with `/`).
    case artifact(path: String, name: String, kind: String?, metadata: AnyJSON?)

    public static let prefix = "@ops "
    /// Longest metric or artifact name (the control plane stores names as text; 200 bytes keeps tables readable).
    public static let maxNameBytes = 200
    /// Most metrics in one line, so one line cannot flood the report queue.
    public static let maxMetricsPerLine = 64

    /// The report in `line`, nil when the line is ordinary output; throws when it starts with `@ops ` but is
    /// not a valid report (the executor logs the reason and keeps the line).
    public static func parse(_ line: String) throws(OpsReportLineError) -> OpsReportLine? {
        guard line.hasPrefix(prefix) else { return nil }
        let text = line.dropFirst(prefix.count)
        guard let json = try? JSONDecoder().decode(AnyJSON.self, from: Data(text.utf8)), let object = json.objectValue
        else {
            throw OpsReportLineError(
                "expected one JSON object after `@ops `, e.g. @ops {\"metric\":\"loss\",\"step\":3,\"value\":2.1}")
        }
        if object["metric"] != nil || object["metrics"] != nil { return try metrics(object) }
        if object["progress"] != nil { return try progress(object) }
        if object["artifact"] != nil { return try artifact(object) }
        throw OpsReportLineError(
            "expected a \"metric\", \"metrics\", \"progress\" or \"artifact\" key, got \(json.jsonText)")
    }

    private static func metrics(_ object: [String: AnyJSON]) throws(OpsReportLineError) -> OpsReportLine {
        let step = try self.step(object["step"], required: true)!
        var values: [String: Double] = [:]
        if let name = object["metric"] {
            guard let name = name.stringValue else {
                throw OpsReportLineError("\"metric\": expected a name (a string)")
            }
            values[name] = try finite(object["value"], field: "value")
        }
        if let map = object["metrics"] {
            guard let members = map.objectValue, members.count <= maxMetricsPerLine else {
                throw OpsReportLineError(
                    "\"metrics\": expected an object of at most \(maxMetricsPerLine) name: number pairs")
            }
            for (name, value) in members { values[name] = try finite(value, field: "metrics.\(name)") }
        }
        for name in values.keys { try checkName(name, field: "metric") }
        return .metrics(values, step: step)
    }

    private static func progress(_ object: [String: AnyJSON]) throws(OpsReportLineError) -> OpsReportLine {
        let fraction = try finite(object["progress"], field: "progress")
        guard (0...1).contains(fraction) else {
            throw OpsReportLineError("\"progress\": expected a fraction from 0 to 1, got \(fraction)")
        }
        let message = object["message"]?.stringValue
        return .progress(
            fraction: fraction, message: message, step: try step(object["step"], required: false),
            totalSteps: try step(object["totalSteps"], required: false))
    }

    private static func artifact(_ object: [String: AnyJSON]) throws(OpsReportLineError) -> OpsReportLine {
        guard let path = object["artifact"]?.stringValue, !path.isEmpty else {
            throw OpsReportLineError("\"artifact\": expected the path of a file (a string)")
        }
        let name = object["name"]?.stringValue ?? (path as NSString).lastPathComponent
        try checkName(name, field: "name")
        return .artifact(path: path, name: name, kind: object["kind"]?.stringValue, metadata: object["metadata"])
    }

    private static func step(_ value: AnyJSON?, required: Bool) throws(OpsReportLineError) -> Int64? {
        guard let value else {
            if required { throw OpsReportLineError("\"step\": expected an integer >= 0 (the step the value is for)") }
            return nil
        }
        guard let step = value.intValue, step >= 0 else {
            throw OpsReportLineError("\"step\": expected an integer >= 0, got \(value.jsonText)")
        }
        return step
    }

    private static func finite(_ value: AnyJSON?, field: String) throws(OpsReportLineError) -> Double {
        guard let number = value?.doubleValue, number.isFinite else {
            throw OpsReportLineError("\"\(field)\": expected a finite number, got \(value?.jsonText ?? "nothing")")
        }
        return number
    }

    private static func checkName(_ name: String, field: String) throws(OpsReportLineError) {
        guard !name.isEmpty, name.utf8.count <= maxNameBytes, !name.contains("\0") else {
            throw OpsReportLineError(
                "\"\(field)\": expected a name of 1 to \(maxNameBytes) bytes, got \(name.debugDescription)")
        }
    }
}

/// Why an `@ops` line was not a report; the message says what a valid one looks like.
public struct OpsReportLineError: Error, Equatable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

extension ExecutionContext {
    /// Handles one line of a `command` program's stdout: an `@ops` report goes to the report queue (an artifact is
    /// stored and registered now), anything else — including a malformed report, with a line saying why — to the
    /// log.
    func handleCommandOutput(_ line: String, workingDirectory: URL) {
        let report: OpsReportLine?
        do { report = try OpsReportLine.parse(line) } catch {
            log(line, stream: .stdout)
            log("ignored the @ops line above: \(error)", stream: .system)
            return
        }
        switch report {
        case nil:
            log(line, stream: .stdout)
        case .metrics(let values, let step)?:
            for (name, value) in values.sorted(by: { $0.key < $1.key }) { metric(name, step: step, value: value) }
        case .progress(let fraction, let message, let step, let totalSteps)?:
            progress(fraction, message: message, step: step, totalSteps: totalSteps)
        case .artifact(let path, let name, let kind, let metadata)?:
            let file =
                path.hasPrefix("/")
                ? URL(fileURLWithPath: path) : workingDirectory.appendingPathComponent(path).standardizedFileURL
            do {
                let record = try registerArtifact(file: file, name: name, kind: kind, metadata: metadata)
                log("registered artifact \(name) (\(record.bytes) bytes, sha256 \(record.sha256))", stream: .system)
            } catch {
                log("could not register artifact \(name) from \(file.path): \(error)", stream: .system)
            }
        }
    }
}

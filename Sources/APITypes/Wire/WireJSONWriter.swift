// The poll response written without `JSONEncoder` (issue 15; docs/leases.md, "JSON on the worker protocol"). At
// batch 64 end to end the control plane's encoding of responses was 7 % of both cores (`perf` of `ControlBench
// --batch 64`), nearly all of it a poll's 64 assignments going through `JSONEncoder`'s generic machinery.

import ClusterModel
import Foundation

/// JSON text of the control plane's most frequent response, written directly. It writes what
/// `WireCoding.encoder()` writes: the same keys, timestamps as `WireCoding.formatTimestamp`, nil optionals left
/// out, so `WireCoding.decode` reads back the same value (`WireJSONWriterTests` compares both texts member by
/// member). A value it would not write exactly as `JSONEncoder` does makes it refuse the whole message, and the
/// caller encodes with `JSONEncoder`: a whole-number double within Int64's range (which `JSONEncoder` may write
/// as an integer, read back as `.int`) and a non-finite one (which `JSONEncoder` rejects).
struct WireJSONWriter {
    private(set) var bytes: [UInt8] = []
    private(set) var refused = false

    init(capacity: Int) { bytes.reserveCapacity(capacity) }

    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// `"name":`, for member names that are plain ASCII (the wire types' own property names).
    mutating func key(_ name: StaticString) {
        bytes.append(UInt8(ascii: "\""))
        raw(name)
        raw("\":")
    }

    mutating func int(_ value: Int64) {
        bytes.append(contentsOf: String(value).utf8)
    }

    mutating func int(_ value: Int) { int(Int64(value)) }

    mutating func double(_ value: Double) {
        // A whole number that fits an Int64 may be written as an integer by `JSONEncoder` and read back as `.int`.
        guard value.isFinite, value.rounded() != value || abs(value) >= 9.3e18 else {
            refused = true
            return
        }
        // Swift's description is the shortest text that reads back as the same double, and valid JSON for a
        // finite one ("0.0003", "1.5e+300", "5e-324"); none of these reads back as an integer.
        bytes.append(contentsOf: value.description.utf8)
    }

    mutating func bool(_ value: Bool) {
        if value { raw("true") } else { raw("false") }
    }

    /// A JSON string: quote and backslash escaped, control characters as `\n`, `\r`, `\t` or `\u00XX`; the rest as
    /// UTF-8 (slashes unescaped, as `WireCoding` writes them).
    mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case UInt8(ascii: "\n"): raw("\\n")
            case UInt8(ascii: "\r"): raw("\\r")
            case UInt8(ascii: "\t"): raw("\\t")
            case 0..<0x20:
                raw("\\u00")
                bytes.append(Self.hexDigits[Int(byte >> 4)])
                bytes.append(Self.hexDigits[Int(byte & 0xF)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// A JSON array: `[`, each item written by `write`, separated by commas, `]`.
    mutating func array<Items: Sequence>(_ items: Items, _ write: (inout WireJSONWriter, Items.Element) -> Void) {
        raw("[")
        for (index, item) in items.enumerated() {
            if index > 0 { raw(",") }
            write(&self, item)
        }
        raw("]")
    }

    mutating func date(_ value: Date) { string(WireCoding.formatTimestamp(value)) }

    mutating func json(_ value: AnyJSON) {
        switch value {
        case .null: raw("null")
        case .bool(let b): bool(b)
        case .int(let i): int(i)
        case .double(let d): double(d)
        case .string(let s): string(s)
        case .array(let items): array(items) { $0.json($1) }
        case .object(let members):
            bytes.append(UInt8(ascii: "{"))
            for (index, member) in members.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                string(member.key)
                bytes.append(UInt8(ascii: ":"))
                json(member.value)
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }

    mutating func resources(_ value: Resources) {
        raw("{")
        key("cpuMillis")
        int(value.cpuMillis)
        raw(",")
        key("memoryBytes")
        int(value.memoryBytes)
        raw(",")
        key("accelerators")
        raw("{")
        for (index, accelerator) in value.accelerators.enumerated() {
            if index > 0 { raw(",") }
            string(accelerator.key.rawValue)
            raw(":")
            int(accelerator.value)
        }
        raw("}}")
    }
}

/// A message with its own writer: `wireJSON()` is the JSON text `WireCoding.encoder()` would write (the same
/// members and values), or nil when the writer refuses one of its values (then `JSONEncoder` writes it).
public protocol WireJSONWritable: Encodable {
    func wireJSON() -> Data?
}

extension PollResponse: WireJSONWritable {
    /// This response as `WireCoding.encode` writes it, or nil when `WireJSONWriter` refuses one of its values
    /// (then encode it with `WireCoding`).
    public func wireJSON() -> Data? {
        var writer = WireJSONWriter(capacity: 64 + assignments.count * 512)
        writer.raw("{")
        writer.key("assignments")
        writer.array(assignments) { $1.write(to: &$0) }
        writer.raw("}")
        return writer.refused ? nil : Data(writer.bytes)
    }
}

extension AnyJSON: WireJSONWritable {
    /// This value as `WireCoding.encode` writes it, or nil when it holds a double that `WireJSONWriter` refuses.
    public func wireJSON() -> Data? {
        var writer = WireJSONWriter(capacity: 64)
        writer.json(self)
        return writer.refused ? nil : Data(writer.bytes)
    }
}

extension ReportBatchResponse: WireJSONWritable {
    /// This response as `WireCoding.encode` writes it, or nil when `WireJSONWriter` refuses one of its values. At
    /// batch 64 a report that claims (`ReportBatch.next`) answers as many assignments as a poll.
    public func wireJSON() -> Data? {
        var writer = WireJSONWriter(capacity: 96 + (assignments?.count ?? 0) * 512)
        writer.raw("{")
        writer.key("accepted")
        writer.int(accepted)
        writer.raw(",")
        writer.key("duplicates")
        writer.int(duplicates)
        writer.raw(",")
        writer.key("staleAttempts")
        writer.array(staleAttempts) { $0.int($1.rawValue) }
        if let assignments {
            writer.raw(",")
            writer.key("assignments")
            writer.array(assignments) { $1.write(to: &$0) }
        }
        writer.raw("}")
        return writer.refused ? nil : Data(writer.bytes)
    }
}

extension TaskAssignment {
    fileprivate func write(to w: inout WireJSONWriter) {
        w.raw("{")
        w.key("taskID")
        w.int(taskID.rawValue)
        w.raw(",")
        w.key("attemptID")
        w.int(attemptID.rawValue)
        w.raw(",")
        w.key("attemptNumber")
        w.int(attemptNumber)
        w.raw(",")
        w.key("maxAttempts")
        w.int(maxAttempts)
        w.raw(",")
        w.key("leaseDeadline")
        w.date(leaseDeadline)
        w.raw(",")
        w.key("jobID")
        w.int(jobID.rawValue)
        w.raw(",")
        w.key("jobName")
        w.string(jobName)
        w.raw(",")
        w.key("jobType")
        w.string(jobType)
        w.raw(",")
        w.key("taskIndex")
        w.int(taskIndex)
        w.raw(",")
        w.key("taskCount")
        w.int(taskCount)
        w.raw(",")
        w.key("spec")
        w.json(spec)
        w.raw(",")
        w.key("resources")
        w.resources(resources)
        if let gang {
            w.raw(",")
            w.key("gang")
            gang.write(to: &w)
        }
        w.raw("}")
    }
}

extension GangInfo {
    fileprivate func write(to w: inout WireJSONWriter) {
        w.raw("{")
        w.key("rank")
        w.int(rank)
        w.raw(",")
        w.key("size")
        w.int(size)
        w.raw(",")
        w.key("peers")
        w.array(peers) { w, peer in
            w.raw("{")
            w.key("rank")
            w.int(peer.rank)
            w.raw(",")
            w.key("taskID")
            w.int(peer.taskID.rawValue)
            if let worker = peer.workerID {
                w.raw(",")
                w.key("workerID")
                w.int(worker.rawValue)
            }
            if let name = peer.workerName {
                w.raw(",")
                w.key("workerName")
                w.string(name)
            }
            w.raw("}")
        }
        w.raw("}")
    }
}

extension WireJSONWriter {
    /// A `Double` member of a typed message (not `AnyJSON`): any finite value, since the reader decodes it as a
    /// double whether it is written `30.0` or `30`. A non-finite one is refused (`JSONEncoder` rejects it).
    mutating func typedDouble(_ value: Double) {
        guard value.isFinite else {
            refused = true
            return
        }
        bytes.append(contentsOf: value.description.utf8)
    }

    /// `,"name":` and the value, only when `value` is set (the encoder's `encodeIfPresent`).
    mutating func optional<Value>(_ name: StaticString, _ value: Value?, _ write: (inout WireJSONWriter, Value) -> Void)
    {
        guard let value else { return }
        raw(",")
        key(name)
        write(&self, value)
    }

    /// `,"name":[...]`, only when `items` is not empty (`ReportBatch.encode(to:)` leaves empty lists out).
    mutating func list<Item>(_ name: StaticString, _ items: [Item], _ write: (inout WireJSONWriter, Item) -> Void) {
        guard !items.isEmpty else { return }
        raw(",")
        key(name)
        array(items, write)
    }

    /// `"taskID":N,"attemptID":N`, the first two members of every report.
    mutating func attempt(_ taskID: TaskID, _ attemptID: AttemptID) {
        key("taskID")
        int(taskID.rawValue)
        raw(",")
        key("attemptID")
        int(attemptID.rawValue)
    }
}

extension ReportBatch: WireJSONWritable {
    /// This batch as `WireCoding.encode` writes it, or nil when `WireJSONWriter` refuses one of its values. The
    /// worker sends one per exchange; at batch 1 its `JSONEncoder` was 2.5 % of all CPU end to end.
    public func wireJSON() -> Data? {
        var w = WireJSONWriter(capacity: 128 + itemCount * 160)
        w.raw("{")
        w.key("workerID")
        w.int(workerID.rawValue)
        w.list("progress", progress) { $1.write(to: &$0) }
        w.list("logs", logs) { $1.write(to: &$0) }
        w.list("metrics", metrics) { $1.write(to: &$0) }
        w.list("artifacts", artifacts) { w, report in
            w.raw("{")
            w.attempt(report.taskID, report.attemptID)
            w.raw(",")
            w.key("artifact")
            report.artifact.write(to: &w)
            w.raw("}")
        }
        w.list("completions", completions) { $1.write(to: &$0) }
        w.list("failures", failures) { $1.write(to: &$0) }
        w.optional("next", next) { $1.write(to: &$0) }
        w.raw("}")
        return w.refused ? nil : Data(w.bytes)
    }
}

extension ProgressReport {
    fileprivate func write(to w: inout WireJSONWriter) {
        w.raw("{")
        w.attempt(taskID, attemptID)
        w.raw(",")
        w.key("fraction")
        w.typedDouble(fraction)
        w.optional("message", message) { $0.string($1) }
        w.optional("step", step) { $0.int($1) }
        w.optional("totalSteps", totalSteps) { $0.int($1) }
        w.raw("}")
    }
}

extension LogLineReport {
    fileprivate func write(to w: inout WireJSONWriter) {
        w.raw("{")
        w.attempt(taskID, attemptID)
        w.raw(",")
        w.key("sequence")
        w.int(sequence)
        w.raw(",")
        w.key("time")
        w.date(time)
        w.raw(",")
        w.key("stream")
        w.string(stream.rawValue)
        w.raw(",")
        w.key("message")
        w.string(message)
        w.raw("}")
    }
}

extension MetricReport {
    fileprivate func write(to w: inout WireJSONWriter) {
        w.raw("{")
        w.attempt(taskID, attemptID)
        w.raw(",")
        w.key("name")
        w.string(name)
        w.raw(",")
        w.key("step")
        w.int(step)
        w.raw(",")
        w.key("value")
        w.typedDouble(value)
        w.raw(",")
        w.key("time")
        w.date(time)
        w.raw("}")
    }
}

extension ArtifactRecord {
    fileprivate func write(to w: inout WireJSONWriter) {
        w.raw("{")
        w.key("name")
        w.string(name)
        w.raw(",")
        w.key("location")
        w.string(location)
        w.raw(",")
        w.key("sha256")
        w.string(sha256)
        w.raw(",")
        w.key("bytes")
        w.int(bytes)
        w.optional("kind", kind) { $0.string($1) }
        w.optional("metadata", metadata) { $0.json($1) }
        w.raw("}")
    }
}

extension CompletionReport {
    fileprivate func write(to w: inout WireJSONWriter) {
        w.raw("{")
        w.attempt(taskID, attemptID)
        w.raw(",")
        w.key("result")
        w.json(result)
        w.raw(",")
        w.key("artifacts")
        w.array(artifacts) { $1.write(to: &$0) }
        w.raw("}")
    }
}

extension FailureReport {
    fileprivate func write(to w: inout WireJSONWriter) {
        w.raw("{")
        w.attempt(taskID, attemptID)
        w.raw(",")
        w.key("message")
        w.string(message)
        w.raw(",")
        w.key("retryable")
        w.bool(retryable)
        w.raw(",")
        w.key("reason")
        w.string(reason.rawValue)
        w.optional("details", details) { $0.json($1) }
        w.raw("}")
    }
}

extension PollRequest {
    fileprivate func write(to w: inout WireJSONWriter) {
        w.raw("{")
        w.key("workerID")
        w.int(workerID.rawValue)
        w.raw(",")
        w.key("maxTasks")
        w.int(maxTasks)
        w.raw(",")
        w.key("waitSeconds")
        w.typedDouble(waitSeconds)
        w.raw(",")
        w.key("available")
        w.resources(available)
        w.raw("}")
    }
}

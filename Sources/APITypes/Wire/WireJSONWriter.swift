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

extension PollResponse {
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

extension ReportBatchResponse {
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

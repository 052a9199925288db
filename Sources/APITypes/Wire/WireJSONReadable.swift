// The messages `WireJSONReader` reads: the report batch (the control plane reads one per exchange) and the two
// answers that carry assignments (the worker reads one per exchange). `WireCoding.decode` tries the reader first and
// falls back to `JSONDecoder` when it refuses, so every caller gets the fast path and the same errors as before.

import ClusterModel
import Foundation

/// A message that can be read by `WireJSONReader`: `init?(wireJSON:)` is nil whenever the reader refuses the text,
/// and then the value is whatever `WireCoding.decoder()` makes of it.
public protocol WireJSONReadable: Decodable {
    init?(wireJSON data: Data)
}

extension ReportBatch: WireJSONReadable {
    public init?(wireJSON data: Data) {
        guard let batch = WireJSONReader.read(data, { (r) throws(WireJSONReader.Refusal) in try r.reportBatch() })
        else { return nil }
        self = batch
    }
}

extension ReportBatchResponse: WireJSONReadable {
    public init?(wireJSON data: Data) {
        guard
            let response = WireJSONReader.read(
                data, { (r) throws(WireJSONReader.Refusal) in try r.reportBatchResponse() })
        else { return nil }
        self = response
    }
}

extension PollResponse: WireJSONReadable {
    public init?(wireJSON data: Data) {
        guard
            let response = WireJSONReader.read(
                data,
                { (r) throws(WireJSONReader.Refusal) in
                    var assignments: [TaskAssignment] = []
                    let seen = try r.object(["assignments"]) { (r, _) throws(WireJSONReader.Refusal) in
                        assignments = try r.array { (r) throws(WireJSONReader.Refusal) in try r.assignment() }
                    }
                    guard seen == 1 else { throw WireJSONReader.Refusal() }
                    return PollResponse(assignments: assignments)
                })
        else { return nil }
        self = response
    }
}

/// Each reader below mirrors its type's `Decodable` conformance: a required member missing is refused, an optional
/// one absent or null is nil, and (in `ReportBatch`) a list absent or null is empty.
extension WireJSONReader {
    typealias Refused = WireJSONReader.Refusal

    /// Every bit of `required` set in `seen`, else refused.
    private func require(_ seen: UInt64, _ required: UInt64) throws(Refused) {
        guard seen & required == required else { throw Refused() }
    }

    /// A list that `ReportBatch` reads with `decodeIfPresent ?? []`.
    private mutating func list<Item>(_ item: (inout WireJSONReader) throws(Refused) -> Item) throws(Refused) -> [Item] {
        try null() ? [] : try array(item)
    }

    /// An optional member, read with `decodeIfPresent`.
    private mutating func optional<Value>(_ read: (inout WireJSONReader) throws(Refused) -> Value) throws(Refused)
        -> Value?
    {
        try null() ? nil : try read(&self)
    }

    mutating func reportBatch() throws(Refused) -> ReportBatch {
        var batch = ReportBatch(workerID: WorkerID(rawValue: 0))
        let names: [StaticString] = [
            "workerID", "progress", "logs", "metrics", "artifacts", "completions", "failures", "next",
        ]
        let seen = try object(names) { (r, member) throws(Refused) in
            switch member {
            case 0: batch.workerID = WorkerID(rawValue: try r.int64())
            case 1: batch.progress = try r.list { (r) throws(Refused) in try r.progress() }
            case 2: batch.logs = try r.list { (r) throws(Refused) in try r.logLine() }
            case 3: batch.metrics = try r.list { (r) throws(Refused) in try r.metric() }
            case 4: batch.artifacts = try r.list { (r) throws(Refused) in try r.artifactReport() }
            case 5: batch.completions = try r.list { (r) throws(Refused) in try r.completion() }
            case 6: batch.failures = try r.list { (r) throws(Refused) in try r.failure() }
            default: batch.next = try r.optional { (r) throws(Refused) in try r.pollRequest() }
            }
        }
        try require(seen, 0b1)
        return batch
    }

    private mutating func progress() throws(Refused) -> ProgressReport {
        var report = ProgressReport(taskID: TaskID(rawValue: 0), attemptID: AttemptID(rawValue: 0), fraction: 0)
        let names: [StaticString] = ["taskID", "attemptID", "fraction", "message", "step", "totalSteps"]
        let seen = try object(names) { (r, member) throws(Refused) in
            switch member {
            case 0: report.taskID = TaskID(rawValue: try r.int64())
            case 1: report.attemptID = AttemptID(rawValue: try r.int64())
            case 2: report.fraction = try r.double()
            case 3: report.message = try r.optional { (r) throws(Refused) in try r.string() }
            case 4: report.step = try r.optional { (r) throws(Refused) in try r.int64() }
            default: report.totalSteps = try r.optional { (r) throws(Refused) in try r.int64() }
            }
        }
        try require(seen, 0b111)
        return report
    }

    private mutating func logLine() throws(Refused) -> LogLineReport {
        var line = LogLineReport(
            taskID: TaskID(rawValue: 0), attemptID: AttemptID(rawValue: 0), sequence: 0,
            time: Date(timeIntervalSince1970: 0), stream: .stdout, message: "")
        let names: [StaticString] = ["taskID", "attemptID", "sequence", "time", "stream", "message"]
        let seen = try object(names) { (r, member) throws(Refused) in
            switch member {
            case 0: line.taskID = TaskID(rawValue: try r.int64())
            case 1: line.attemptID = AttemptID(rawValue: try r.int64())
            case 2: line.sequence = try r.int64()
            case 3: line.time = try r.date()
            case 4: line.stream = try r.enumeration(LogStream.self)
            default: line.message = try r.string()
            }
        }
        try require(seen, 0b11_1111)
        return line
    }

    private mutating func metric() throws(Refused) -> MetricReport {
        var metric = MetricReport(
            taskID: TaskID(rawValue: 0), attemptID: AttemptID(rawValue: 0), name: "", step: 0, value: 0,
            time: Date(timeIntervalSince1970: 0))
        let names: [StaticString] = ["taskID", "attemptID", "name", "step", "value", "time"]
        let seen = try object(names) { (r, member) throws(Refused) in
            switch member {
            case 0: metric.taskID = TaskID(rawValue: try r.int64())
            case 1: metric.attemptID = AttemptID(rawValue: try r.int64())
            case 2: metric.name = try r.string()
            case 3: metric.step = try r.int64()
            case 4: metric.value = try r.double()
            default: metric.time = try r.date()
            }
        }
        try require(seen, 0b11_1111)
        return metric
    }

    private mutating func artifactReport() throws(Refused) -> ArtifactReport {
        var taskID = TaskID(rawValue: 0)
        var attemptID = AttemptID(rawValue: 0)
        var artifact: ArtifactRecord?
        let seen = try object(["taskID", "attemptID", "artifact"]) { (r, member) throws(Refused) in
            switch member {
            case 0: taskID = TaskID(rawValue: try r.int64())
            case 1: attemptID = AttemptID(rawValue: try r.int64())
            default: artifact = try r.artifactRecord()
            }
        }
        try require(seen, 0b111)
        guard let artifact else { throw Refused() }
        return ArtifactReport(taskID: taskID, attemptID: attemptID, artifact: artifact)
    }

    private mutating func artifactRecord() throws(Refused) -> ArtifactRecord {
        var record = ArtifactRecord(name: "", location: "", sha256: "", bytes: 0)
        let names: [StaticString] = ["name", "location", "sha256", "bytes", "kind", "metadata"]
        let seen = try object(names) { (r, member) throws(Refused) in
            switch member {
            case 0: record.name = try r.string()
            case 1: record.location = try r.string()
            case 2: record.sha256 = try r.string()
            case 3: record.bytes = try r.int64()
            case 4: record.kind = try r.optional { (r) throws(Refused) in try r.string() }
            default: record.metadata = try r.optional { (r) throws(Refused) in try r.json() }
            }
        }
        try require(seen, 0b1111)
        return record
    }

    private mutating func completion() throws(Refused) -> CompletionReport {
        var report = CompletionReport(taskID: TaskID(rawValue: 0), attemptID: AttemptID(rawValue: 0))
        let seen = try object(["taskID", "attemptID", "result", "artifacts"]) { (r, member) throws(Refused) in
            switch member {
            case 0: report.taskID = TaskID(rawValue: try r.int64())
            case 1: report.attemptID = AttemptID(rawValue: try r.int64())
            // `AnyJSON` reads a null as `.null`, not as a missing value.
            case 2: report.result = try r.json()
            default: report.artifacts = try r.array { (r) throws(Refused) in try r.artifactRecord() }
            }
        }
        try require(seen, 0b1111)
        return report
    }

    private mutating func failure() throws(Refused) -> FailureReport {
        var report = FailureReport(
            taskID: TaskID(rawValue: 0), attemptID: AttemptID(rawValue: 0), message: "", retryable: false)
        let names: [StaticString] = ["taskID", "attemptID", "message", "retryable", "reason", "details"]
        let seen = try object(names) { (r, member) throws(Refused) in
            switch member {
            case 0: report.taskID = TaskID(rawValue: try r.int64())
            case 1: report.attemptID = AttemptID(rawValue: try r.int64())
            case 2: report.message = try r.string()
            case 3: report.retryable = try r.bool()
            case 4: report.reason = try r.enumeration(FailureReason.self)
            default: report.details = try r.optional { (r) throws(Refused) in try r.json() }
            }
        }
        try require(seen, 0b1_1111)
        return report
    }

    private mutating func pollRequest() throws(Refused) -> PollRequest {
        var request = PollRequest(workerID: WorkerID(rawValue: 0), maxTasks: 0, waitSeconds: 0, available: .zero)
        let names: [StaticString] = ["workerID", "maxTasks", "waitSeconds", "available"]
        let seen = try object(names) { (r, member) throws(Refused) in
            switch member {
            case 0: request.workerID = WorkerID(rawValue: try r.int64())
            case 1: request.maxTasks = try r.int()
            case 2: request.waitSeconds = try r.double()
            default: request.available = try r.resources()
            }
        }
        try require(seen, 0b1111)
        return request
    }

    mutating func reportBatchResponse() throws(Refused) -> ReportBatchResponse {
        var response = ReportBatchResponse(accepted: 0)
        let names: [StaticString] = ["accepted", "duplicates", "staleAttempts", "assignments"]
        let seen = try object(names) { (r, member) throws(Refused) in
            switch member {
            case 0: response.accepted = try r.int()
            case 1: response.duplicates = try r.int()
            case 2: response.staleAttempts = try r.array { (r) throws(Refused) in AttemptID(rawValue: try r.int64()) }
            default:
                response.assignments = try r.optional { (r) throws(Refused) in
                    try r.array { (r) throws(Refused) in try r.assignment() }
                }
            }
        }
        try require(seen, 0b111)
        return response
    }

    mutating func assignment() throws(Refused) -> TaskAssignment {
        var a = TaskAssignment(
            taskID: TaskID(rawValue: 0), attemptID: AttemptID(rawValue: 0), attemptNumber: 0, maxAttempts: 0,
            leaseDeadline: Date(timeIntervalSince1970: 0), jobID: JobID(rawValue: 0), jobName: "", jobType: "",
            spec: .null, resources: .zero)
        let names: [StaticString] = [
            "taskID", "attemptID", "attemptNumber", "maxAttempts", "leaseDeadline", "jobID", "jobName", "jobType",
            "taskIndex", "taskCount", "spec", "resources", "gang",
        ]
        let seen = try object(names) { (r, member) throws(Refused) in
            switch member {
            case 0: a.taskID = TaskID(rawValue: try r.int64())
            case 1: a.attemptID = AttemptID(rawValue: try r.int64())
            case 2: a.attemptNumber = try r.int()
            case 3: a.maxAttempts = try r.int()
            case 4: a.leaseDeadline = try r.date()
            case 5: a.jobID = JobID(rawValue: try r.int64())
            case 6: a.jobName = try r.string()
            case 7: a.jobType = try r.string()
            case 8: a.taskIndex = try r.int()
            case 9: a.taskCount = try r.int()
            case 10: a.spec = try r.json()
            case 11: a.resources = try r.resources()
            default: a.gang = try r.optional { (r) throws(Refused) in try r.gang() }
            }
        }
        try require(seen, 0b1111_1111_1111)
        return a
    }

    private mutating func gang() throws(Refused) -> GangInfo {
        var gang = GangInfo(rank: 0, size: 0, peers: [])
        let seen = try object(["rank", "size", "peers"]) { (r, member) throws(Refused) in
            switch member {
            case 0: gang.rank = try r.int()
            case 1: gang.size = try r.int()
            default: gang.peers = try r.array { (r) throws(Refused) in try r.gangPeer() }
            }
        }
        try require(seen, 0b111)
        return gang
    }

    private mutating func gangPeer() throws(Refused) -> GangPeer {
        var peer = GangPeer(rank: 0, taskID: TaskID(rawValue: 0))
        let seen = try object(["rank", "taskID", "workerID", "workerName"]) { (r, member) throws(Refused) in
            switch member {
            case 0: peer.rank = try r.int()
            case 1: peer.taskID = TaskID(rawValue: try r.int64())
            case 2: peer.workerID = try r.optional { (r) throws(Refused) in WorkerID(rawValue: try r.int64()) }
            default: peer.workerName = try r.optional { (r) throws(Refused) in try r.string() }
            }
        }
        try require(seen, 0b11)
        return peer
    }
}

/// Specs and results stored as text (`JSONText` in the control plane) go through `WireCoding` too: one completion
/// encodes its result once and a listing parses each task's spec.
extension AnyJSON: WireJSONReadable {
    public init?(wireJSON data: Data) {
        guard let value = WireJSONReader.read(data, { (r) throws(WireJSONReader.Refusal) in try r.json() }) else {
            return nil
        }
        self = value
    }
}

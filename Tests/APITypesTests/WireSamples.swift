// The wire tests' shared samples: the writer's (`WireJSONWriterTests`) and the reader's (`WireJSONReaderTests`)
// comparisons with Foundation's coders start from the same assignments, which set every optional and hold every
// kind of JSON, so a member added to these types and forgotten by either shows as a difference.
import ClusterModel
import Foundation

@testable import APITypes

enum WireSamples {
    static let time = Date(timeIntervalSince1970: 1_790_000_000.125)

    /// Every kind of JSON: escapes (a NUL among them), non-ASCII text, integers at Int64's edge, doubles beyond it.
    static let everyKind: AnyJSON = [
        "null": nil, "yes": true, "no": false, "int": .int(-42), "big": .int(Int64.max), "lr": 0.0003,
        "huge": 1.5e300, "beyondInt64": 1e20, "tiny": 5e-324,
        "text": "quote \" backslash \\ slash / newline \n tab \t return \r bell \u{07} nul \u{00} é 日本 🚀",
        "list": [1, "two", [3.5, nil], ["four": [:]]], "empty": [], "nested": ["a": ["b": ["c": "d"]]],
    ]

    /// A gang member with every optional set, and a plain task with none.
    static func assignments() -> [TaskAssignment] {
        let gang = GangInfo(
            rank: 1, size: 2,
            peers: [
                GangPeer(rank: 0, taskID: TaskID(10), workerID: WorkerID(3), workerName: "node-\"a\""),
                GangPeer(rank: 1, taskID: TaskID(11)),
            ])
        return [
            TaskAssignment(
                taskID: TaskID(11), attemptID: AttemptID(77), attemptNumber: 2, maxAttempts: 3,
                leaseDeadline: time, jobID: JobID(5), jobName: "train \"gpt\"", jobType: "train", taskIndex: 1,
                taskCount: 2, spec: everyKind,
                resources: Resources(cpuMillis: 8000, memoryBytes: 1 << 34, accelerators: ["gpu-h100": 8, "tpu": 4]),
                gang: gang),
            TaskAssignment(
                taskID: TaskID(12), attemptID: AttemptID(78), attemptNumber: 1, maxAttempts: 1,
                leaseDeadline: time, jobID: JobID(6), jobName: "noop", jobType: "noop", spec: [:],
                resources: Resources()),
        ]
    }

    /// The labels of `value`'s optionals that are nil: a nil optional is left out by both coders, so a comparison
    /// of their texts could not see it missing.
    static func optionalsUnset(_ value: Any) -> [String] {
        Mirror(reflecting: value).children.compactMap { child in
            let mirror = Mirror(reflecting: child.value)
            return mirror.displayStyle == .optional && mirror.children.isEmpty ? child.label : nil
        }
    }
}

// `PollResponse.wireJSON()` and `ReportBatchResponse.wireJSON()` write what `WireCoding.encode` writes: compared
// member by member, decoded back to the same value, and refused (so the caller falls back to `JSONEncoder`) where
// the two would differ.
import ClusterModel
import Foundation
import XCTest

@testable import APITypes

final class WireJSONWriterTests: XCTestCase {
    /// Every optional set and every kind of JSON in the spec, so a member the writer forgets shows as a difference.
    private func sample() -> PollResponse {
        let deadline = Date(timeIntervalSince1970: 1_790_000_000.125)
        let spec: AnyJSON = [
            "null": nil, "yes": true, "no": false, "int": .int(-42), "big": .int(Int64.max), "lr": 0.0003,
            "huge": 1.5e300, "beyondInt64": 1e20, "tiny": 5e-324,
            "text": "quote \" backslash \\ slash / newline \n tab \t return \r bell \u{07} nul \u{00} é 日本 🚀",
            "list": [1, "two", [3.5, nil], ["four": [:]]], "empty": [], "nested": ["a": ["b": ["c": "d"]]],
        ]
        let gang = GangInfo(
            rank: 1, size: 2,
            peers: [
                GangPeer(rank: 0, taskID: TaskID(10), workerID: WorkerID(3), workerName: "node-\"a\""),
                GangPeer(rank: 1, taskID: TaskID(11)),
            ])
        return PollResponse(assignments: [
            TaskAssignment(
                taskID: TaskID(11), attemptID: AttemptID(77), attemptNumber: 2, maxAttempts: 3,
                leaseDeadline: deadline, jobID: JobID(5), jobName: "train \"gpt\"", jobType: "train", taskIndex: 1,
                taskCount: 2, spec: spec,
                resources: Resources(cpuMillis: 8000, memoryBytes: 1 << 34, accelerators: ["gpu-h100": 8, "tpu": 4]),
                gang: gang),
            TaskAssignment(
                taskID: TaskID(12), attemptID: AttemptID(78), attemptNumber: 1, maxAttempts: 1,
                leaseDeadline: deadline, jobID: JobID(6), jobName: "noop", jobType: "noop", spec: [:],
                resources: Resources()),
        ])
    }

    private func members(_ data: Data) throws -> NSDictionary {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? NSDictionary)
    }

    func testWritesWhatTheEncoderWritesAndReadsBackTheSameValue() throws {
        let response = sample()
        let fast = try XCTUnwrap(response.wireJSON())
        let encoded = try WireCoding.encode(response)
        XCTAssertEqual(try members(fast), try members(encoded), String(decoding: fast, as: UTF8.self))
        XCTAssertEqual(try WireCoding.decode(PollResponse.self, from: fast), response)
        XCTAssertEqual(
            try WireCoding.decode(PollResponse.self, from: fast),
            try WireCoding.decode(PollResponse.self, from: encoded))
        XCTAssertEqual(
            String(decoding: try XCTUnwrap(PollResponse(assignments: []).wireJSON()), as: UTF8.self),
            #"{"assignments":[]}"#)
    }

    func testTheReportAnswerIsWrittenAsTheEncoderWritesItWithAndWithoutAssignments() throws {
        let claimed = ReportBatchResponse(
            accepted: 3, duplicates: 1, staleAttempts: [AttemptID(4), AttemptID(9)], assignments: sample().assignments)
        let noClaim = ReportBatchResponse(accepted: 0)
        let nothingClaimed = ReportBatchResponse(accepted: 2, assignments: [])
        for response in [claimed, noClaim, nothingClaimed] {
            let fast = try XCTUnwrap(response.wireJSON())
            let encoded = try WireCoding.encode(response)
            XCTAssertEqual(try members(fast), try members(encoded), String(decoding: fast, as: UTF8.self))
            XCTAssertEqual(try WireCoding.decode(ReportBatchResponse.self, from: fast), response)
        }
        XCTAssertEqual(
            String(decoding: try XCTUnwrap(noClaim.wireJSON()), as: UTF8.self),
            #"{"accepted":0,"duplicates":0,"staleAttempts":[]}"#, "no claim asked: no assignments member")
        XCTAssertEqual(optionalsUnset(claimed), [])
        var refused = claimed
        refused.assignments?[1].spec = ["x": 2.0]
        XCTAssertNil(refused.wireJSON(), "a whole-number double refuses the whole answer")
    }

    /// The labels of `value`'s optionals that are nil.
    private func optionalsUnset(_ value: Any) -> [String] {
        Mirror(reflecting: value).children.compactMap { child in
            let mirror = Mirror(reflecting: child.value)
            return mirror.displayStyle == .optional && mirror.children.isEmpty ? child.label : nil
        }
    }

    func testTheSampleSetsEveryOptionalSoAForgottenMemberShows() {
        // A member added to these types must be set in `sample()` (and written by the writer): a nil optional is
        // left out by both coders, so the comparison above could not see it missing.
        let assignment = sample().assignments[0]
        XCTAssertEqual(optionalsUnset(assignment), [])
        XCTAssertEqual(optionalsUnset(try XCTUnwrap(assignment.gang?.peers[0])), [])
    }

    func testRefusesWhatTheEncoderWouldWriteDifferently() {
        for value: AnyJSON in [.double(3.0), .double(-0.0), .double(1e15), .double(.nan), .double(.infinity)] {
            var response = sample()
            response.assignments[1].spec = ["x": [value]]
            XCTAssertNil(response.wireJSON(), "\(value)")
        }
    }
}

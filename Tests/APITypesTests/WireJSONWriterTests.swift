// `PollResponse.wireJSON()` and `ReportBatchResponse.wireJSON()` write what `WireCoding.encoder()` writes: compared
// member by member, decoded back to the same value, and refused (so the caller falls back to `JSONEncoder`) where
// the two would differ. The oracle is Foundation's coders themselves, not `WireCoding.encode`/`decode`, which now
// take these writers and readers first.
import ClusterModel
import Foundation
import XCTest

@testable import APITypes

final class WireJSONWriterTests: XCTestCase {
    /// Every optional set and every kind of JSON in the spec, so a member the writer forgets shows as a difference.
    private func sample() -> PollResponse { PollResponse(assignments: WireSamples.assignments()) }

    private func members(_ data: Data) throws -> NSDictionary {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? NSDictionary)
    }

    func testWritesWhatTheEncoderWritesAndReadsBackTheSameValue() throws {
        let response = sample()
        let fast = try XCTUnwrap(response.wireJSON())
        let encoded = try WireCoding.encoder().encode(response)
        XCTAssertEqual(try members(fast), try members(encoded), String(decoding: fast, as: UTF8.self))
        XCTAssertEqual(try WireCoding.decoder().decode(PollResponse.self, from: fast), response)
        XCTAssertEqual(
            try WireCoding.decoder().decode(PollResponse.self, from: fast),
            try WireCoding.decoder().decode(PollResponse.self, from: encoded))
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
            let encoded = try WireCoding.encoder().encode(response)
            XCTAssertEqual(try members(fast), try members(encoded), String(decoding: fast, as: UTF8.self))
            XCTAssertEqual(try WireCoding.decoder().decode(ReportBatchResponse.self, from: fast), response)
        }
        XCTAssertEqual(
            String(decoding: try XCTUnwrap(noClaim.wireJSON()), as: UTF8.self),
            #"{"accepted":0,"duplicates":0,"staleAttempts":[]}"#, "no claim asked: no assignments member")
        XCTAssertEqual(WireSamples.optionalsUnset(claimed), [])
        var refused = claimed
        refused.assignments?[1].spec = ["x": 2.0]
        XCTAssertNil(refused.wireJSON(), "a whole-number double refuses the whole answer")
    }

    func testTheSampleSetsEveryOptionalSoAForgottenMemberShows() {
        // A member added to these types must be set in `sample()` (and written by the writer): a nil optional is
        // left out by both coders, so the comparison above could not see it missing.
        let assignment = sample().assignments[0]
        XCTAssertEqual(WireSamples.optionalsUnset(assignment), [])
        XCTAssertEqual(WireSamples.optionalsUnset(try XCTUnwrap(assignment.gang?.peers[0])), [])
    }

    func testRefusesWhatTheEncoderWouldWriteDifferently() {
        for value: AnyJSON in [.double(3.0), .double(-0.0), .double(1e15), .double(.nan), .double(.infinity)] {
            var response = sample()
            response.assignments[1].spec = ["x": [value]]
            XCTAssertNil(response.wireJSON(), "\(value)")
        }
    }
}

import APITypes
import Foundation
import XCTest

final class JSONBodyCheckTests: XCTestCase {
    private func problem(_ text: String) -> JSONBodyCheck.Problem? { JSONBodyCheck.problem(in: Data(text.utf8)) }

    private func nested(_ depth: Int) -> String {
        String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
    }

    func testDepthIsBoundedAt64Levels() {
        XCTAssertNil(problem(nested(64)))
        XCTAssertEqual(problem(nested(65)), .tooDeep(limit: 64))
        XCTAssertEqual(problem(#"{"a":"# + nested(64) + "}"), .tooDeep(limit: 64))
        XCTAssertEqual(problem(nested(100_000)), .tooDeep(limit: 64), "a huge body stops at the limit")
        XCTAssertEqual(JSONBodyCheck.Problem.tooDeep(limit: 64).description, "body nested deeper than 64 levels; flatten the JSON")
        // Siblings do not add up.
        XCTAssertNil(problem("[" + Array(repeating: nested(63), count: 50).joined(separator: ",") + "]"))
    }

    func testBracketsInsideStringsDoNotCount() {
        XCTAssertNil(problem(#"{"a":""# + String(repeating: "[", count: 500) + #""}"#))
        XCTAssertNil(problem(#"{"a":"\"["# + String(repeating: "{", count: 500) + #""}"#), "an escaped quote does not end the string")
        XCTAssertEqual(problem(#"{"a":"\\"# + #"","# + #""b":"# + nested(64) + "}"), .tooDeep(limit: 64),
                       "an escaped backslash does end the string before the quote")
    }
}

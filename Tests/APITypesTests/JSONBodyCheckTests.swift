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
        XCTAssertEqual(
            JSONBodyCheck.Problem.tooDeep(limit: 64).description, "body nested deeper than 64 levels; flatten the JSON")
        // Siblings do not add up.
        XCTAssertNil(problem("[" + Array(repeating: nested(63), count: 50).joined(separator: ",") + "]"))
    }

    func testBracketsInsideStringsDoNotCount() {
        XCTAssertNil(problem(#"{"a":""# + String(repeating: "[", count: 500) + #""}"#))
        XCTAssertNil(
            problem(#"{"a":"\"["# + String(repeating: "{", count: 500) + #""}"#),
            "an escaped quote does not end the string")
        XCTAssertEqual(
            problem(#"{"a":"\\"# + #"","# + #""b":"# + nested(64) + "}"), .tooDeep(limit: 64),
            "an escaped backslash does end the string before the quote")
    }
}

extension JSONBodyCheckTests {
    func testANULInAStringIsNamedByItsPath() {
        XCTAssertEqual(
            problem(#"{"logs":[{"message":"a"},{"message":"b\u0000c","stream":"stdout"}]}"#),
            .nulInValue(path: "logs[1].message"))
        XCTAssertEqual(problem(#"{"a":{"b":[1,[2,"\u0000"]]}}"#), .nulInValue(path: "a.b[1][1]"))
        XCTAssertEqual(problem(#"["x","\u0000"]"#), .nulInValue(path: "[1]"))
        XCTAssertEqual(problem(#""\u0000""#), .nulInValue(path: "body"))
        XCTAssertEqual(
            problem("{\"raw\":\"a\u{0}b\"}"), .nulInValue(path: "raw"), "a raw 0x00 byte in a string counts too")
        XCTAssertEqual(problem(#"{"labels":{"zone":"a","ra\u0000ck":"b"}}"#), .nulInKey(path: "labels"))
        XCTAssertEqual(
            JSONBodyCheck.Problem.nulInValue(path: "logs[3].message").description,
            "logs[3].message: contains a NUL byte (U+0000), which PostgreSQL cannot store; remove or escape it")
    }

    func testTextThatOnlyLooksLikeANULIsFine() {
        XCTAssertNil(problem(#"{"a":"\\u0000","b":"\u0001","c":"u0000","d":"\\\\"}"#))
    }
}

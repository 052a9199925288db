import Foundation
import XCTest

@testable import HTTPClient

/// The header callback's byte parser (`HTTPHeaderLine`) against the lines libcurl hands it, and against the
/// Foundation trimming it replaced, which is kept here as the oracle.
final class HTTPHeaderLineTests: XCTestCase {
    func testLinesOfAResponseHeaderBlock() {
        let cases: [(String, HTTPHeaderLine)] = [
            ("HTTP/1.1 200 OK\r\n", .status(200)),
            ("HTTP/1.1 100 Continue\r\n", .status(100)),
            ("HTTP/2 404\r\n", .status(404)),
            ("HTTP/1.1  503  Service Unavailable\r\n", .status(503)),
            ("HTTP/1.1\r\n", .status(0)),
            ("HTTP/1.1 abc\r\n", .status(0)),
            ("Content-Type: application/json\r\n", .field(name: "Content-Type", value: "application/json")),
            (
                "Location:  http://127.0.0.1:8080/v1/jobs?x=1 \r\n",
                .field(name: "Location", value: "http://127.0.0.1:8080/v1/jobs?x=1")
            ),
            ("X-Empty:\r\n", .field(name: "X-Empty", value: "")),
            ("  Spaced \t:\tvalue\t\r\n", .field(name: "Spaced", value: "value")),
            ("X-Name: caf\u{E9} \u{2603}\r\n", .field(name: "X-Name", value: "caf\u{E9} \u{2603}")),
            ("\r\n", .other),
            ("", .other),
            ("no colon here\r\n", .other),
        ]
        for (line, expected) in cases {
            XCTAssertEqual(HTTPHeaderLine(line), expected, "line \(line.debugDescription)")
        }
    }

    func testTheByteParserAgreesWithTheFoundationTrimmingItReplaced() {
        var generator = SystemRandomNumberGenerator()
        // libcurl hands over one line at a time, so a line break only ends a line.
        let pieces = ["HTTP/", "1.1", " ", "  ", "\t", ":", "200", "OK", "Name", "value", "a:b", "\u{E9}"]
        for _ in 0..<2_000 {
            let line =
                (0..<Int.random(in: 0...7, using: &generator)).map { _ in
                    pieces.randomElement(using: &generator)!
                }.joined() + ["", "\r\n", "\n"].randomElement(using: &generator)!
            XCTAssertEqual(HTTPHeaderLine(line), Self.oracle(line), "line \(line.debugDescription)")
        }
    }

    /// What `TransferSink.receiveHeaderLine` did before the byte parser, for ASCII blanks (the only ones HTTP allows).
    private static func oracle(_ line: String) -> HTTPHeaderLine {
        let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.hasPrefix("HTTP/") {
            let parts = trimmed.split(separator: " ")
            return .status(parts.count > 1 ? Int(parts[1]) ?? 0 : 0)
        }
        guard let colon = trimmed.firstIndex(of: ":") else { return .other }
        return .field(
            name: trimmed[..<colon].trimmingCharacters(in: .whitespaces),
            value: trimmed[trimmed.index(after: colon)...].trimmingCharacters(in: .whitespaces))
    }
}

extension HTTPHeaderLine {
    /// The line's UTF-8 bytes as libcurl would hand them over.
    fileprivate init(_ text: String) {
        var text = text
        self = text.withUTF8 { HTTPHeaderLine(UnsafeRawBufferPointer($0)) }
    }
}

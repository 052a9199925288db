import Foundation
import Gzip
import XCTest
import Zstd

@testable import DataShards

final class InputReaderTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("input-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }
    func write(_ name: String, _ text: String) throws -> String { try write(name, Array(text.utf8)) }

    func readAll(_ path: String, _ options: InputOptions = InputOptions()) throws -> ([InputDocument], InputStats) {
        let reader = try DocumentReader(path: path, options: options)
        var docs: [InputDocument] = []
        while let d = try reader.next() { docs.append(d) }
        XCTAssertNil(try reader.next())
        return (docs, reader.stats)
    }

    func expectError(_ path: String, line: UInt = #line, _ expected: InputError) {
        expectError(path, InputOptions(), line: line, expected)
    }

    func expectError(_ path: String, _ options: InputOptions, line: UInt = #line, _ expected: InputError) {
        XCTAssertThrowsError(try readAll(path, options), line: line) { error in
            XCTAssertEqual(error as? InputError, expected, line: line)
            XCTAssertTrue("\(error)".contains(path), "message names the file: \(error)", line: line)
        }
    }

    func testFormatDetection() {
        XCTAssertEqual(InputFormat(path: "/a/b.jsonl.zst"), InputFormat(content: .jsonl, compression: .zstd))
        XCTAssertEqual(InputFormat(path: "x.JSONL.GZ"), InputFormat(content: .jsonl, compression: .gzip))
        XCTAssertEqual(InputFormat(path: "x.txt.gz"), InputFormat(content: .text, compression: .gzip))
        XCTAssertEqual(InputFormat(path: "x.txt"), InputFormat(content: .text, compression: .none))
        XCTAssertNil(InputFormat(path: "x.parquet"))
        XCTAssertNil(InputFormat(path: "x.gz"))
    }

    func testTextSplitModesAndLineNumbers() throws {
        let path = try write("a.txt", "first line\nsecond line\n\n\nthird para\r\nstill third\n   \nlast")
        let (whole, _) = try readAll(path)
        XCTAssertEqual(
            whole,
            [
                InputDocument(
                    text: "first line\nsecond line\n\n\nthird para\r\nstill third\n   \nlast", file: path, line: 1)
            ])
        let (lines, ls) = try readAll(path, InputOptions(textSplit: .lines))
        XCTAssertEqual(lines.map(\.text), ["first line", "second line", "third para", "still third", "last"])
        XCTAssertEqual(lines.map(\.line), [1, 2, 5, 6, 8])
        XCTAssertEqual(ls.blankLines, 3)
        XCTAssertEqual(ls.lines, 8)
        let (paras, _) = try readAll(path, InputOptions(textSplit: .paragraphs))
        XCTAssertEqual(paras.map(\.text), ["first line\nsecond line", "third para\nstill third", "last"])
        XCTAssertEqual(paras.map(\.line), [1, 5, 8])
        let withNewline = try write("b.txt", "one document\nends with newline\n")
        XCTAssertEqual(try readAll(withNewline).0.map(\.text), ["one document\nends with newline\n"])
    }

    func testJSONLWithConfigurableFieldAndCompressedVariants() throws {
        var lines: [String] = []
        for i in 0..<5000 { lines.append("{\"id\": \(i), \"body\": \"doc \(i) \\u00e9\\n✓\", \"text\": 1}") }
        let content = lines.joined(separator: "\n") + "\n\n"
        let plain = try write("d.jsonl", content)
        let options = InputOptions(textField: "body")
        let (docs, stats) = try readAll(plain, options)
        XCTAssertEqual(docs.count, 5000)
        XCTAssertEqual(docs[42], InputDocument(text: "doc 42 é\n✓", file: plain, line: 43))
        XCTAssertEqual(stats.documents, 5000)
        XCTAssertEqual(stats.blankLines, 1)
        let half = content.utf8.count / 2
        let bytes = Array(content.utf8)
        let zst = try write(
            "d.jsonl.zst", try Zstd.compress(Array(bytes[..<half])) + Zstd.compress(Array(bytes[half...])))
        let gz = try write(
            "d.jsonl.gz", try Gzip.compress(Array(bytes[..<half])) + Gzip.compress(Array(bytes[half...])))
        XCTAssertEqual(try readAll(zst, options).0.map(\.text), docs.map(\.text))
        XCTAssertEqual(try readAll(zst, options).0.map(\.line), docs.map(\.line))
        XCTAssertEqual(try readAll(gz, options).0.map(\.text), docs.map(\.text))
        let txtgz = try write("t.txt.gz", try Gzip.compress(Array("plain text\nin gzip".utf8)))
        XCTAssertEqual(try readAll(txtgz).0.map(\.text), ["plain text\nin gzip"])
    }

    func testLinesAcrossManyReadChunks() throws {
        // 3 MB of lines of varying length: crosses the 1 MiB read chunk several times.
        var s = ""
        for i in 0..<60_000 { s += "{\"text\": \"" + String(repeating: "x", count: i % 97) + "\(i)\"}\n" }
        let path = try write("big.jsonl", s)
        let (docs, stats) = try readAll(path)
        XCTAssertEqual(docs.count, 60_000)
        XCTAssertEqual(docs[59_999].line, 60_000)
        XCTAssertTrue(docs[59_999].text.hasSuffix("59999"))
        XCTAssertEqual(stats.bytes, s.utf8.count)
    }

    func testMalformedJSONFailsWithFileAndLineOrIsSkipped() throws {
        let path = try write("m.jsonl", "{\"text\": \"ok\"}\n{\"text\": \"broken\"\n[1, 2]\n{\"text\": \"fine\"}\n")
        XCTAssertThrowsError(try readAll(path)) { error in
            guard case .malformedJSON(let f, 2, _)? = error as? InputError else { return XCTFail("\(error)") }
            XCTAssertEqual(f, path)
            XCTAssertTrue("\(error)".contains("m.jsonl:2"))
        }
        let (docs, stats) = try readAll(path, InputOptions(badInput: .skip))
        XCTAssertEqual(docs.map(\.text), ["ok", "fine"])
        XCTAssertEqual(docs.map(\.line), [1, 4])
        XCTAssertEqual(stats.skippedMalformedJSON, 2)
        XCTAssertEqual(stats.skipped, 2)
    }

    func testMissingAndNonStringTextField() throws {
        let missing = try write("f.jsonl", "{\"text\": \"a\"}\n{\"content\": \"b\"}\n")
        expectError(missing, .missingTextField(file: missing, line: 2, field: "text"))
        let wrong = try write(
            "g.jsonl", "{\"text\": \"a\"}\n{\"text\": 5}\n{\"text\": null}\n{\"text\": [\"x\"]}\n{\"text\": true}\n")
        expectError(wrong, .textFieldNotString(file: wrong, line: 2, field: "text", found: "a number"))
        let (docs, stats) = try readAll(wrong, InputOptions(badInput: .skip))
        XCTAssertEqual(docs.map(\.text), ["a"])
        XCTAssertEqual(stats.skippedNonStringField, 4)
        let (_, s2) = try readAll(missing, InputOptions(badInput: .skip))
        XCTAssertEqual(s2.skippedMissingField, 1)
    }

    func testInvalidUTF8ReplacedOrRejected() throws {
        let bytes =
            Array("good line\n".utf8) + [0x62, 0x61, 0x64, 0xFF, 0xC3, 0x0A] + Array("{\"text\": \"j\u{FF}\"}".utf8)
        let txt = try write("u.txt", bytes)
        let (docs, stats) = try readAll(txt, InputOptions(textSplit: .lines))
        XCTAssertEqual(docs.map(\.text), ["good line", "bad\u{FFFD}\u{FFFD}", "{\"text\": \"jÿ\"}"])
        XCTAssertEqual(stats.replacedInvalidUTF8, 1)
        expectError(txt, InputOptions(textSplit: .lines, invalidUTF8: .reject), .invalidUTF8(file: txt, line: 2))
        let (kept, s2) = try readAll(txt, InputOptions(textSplit: .lines, badInput: .skip, invalidUTF8: .reject))
        XCTAssertEqual(kept.count, 2)
        XCTAssertEqual(s2.skippedInvalidUTF8, 1)

        let jsonl = try write(
            "u.jsonl", Array("{\"text\": \"ok\"}\n{\"text\": \"x".utf8) + [0xFE] + Array("y\"}\n".utf8))
        XCTAssertEqual(try readAll(jsonl).0.map(\.text), ["ok", "x\u{FFFD}y"])
        expectError(jsonl, InputOptions(invalidUTF8: .reject), .invalidUTF8(file: jsonl, line: 2))
    }

    func testEmptyFiles() throws {
        for (name, bytes) in [
            ("e.txt", [UInt8]()), ("e.jsonl", []), ("e.jsonl.gz", try Gzip.compress([])),
            ("e.jsonl.zst", try Zstd.compress([])),
        ] {
            let path = try write(name, bytes)
            expectError(path, .emptyFile(file: path))
            let (docs, stats) = try readAll(path, InputOptions(badInput: .skip))
            XCTAssertEqual(docs, [])
            XCTAssertEqual(stats.skippedEmptyFiles, 1)
        }
    }

    func testVeryLongLineHasBoundedMemoryAndAClearError() throws {
        let long = String(repeating: "y", count: 3_000_000)
        let path = try write("long.jsonl", "{\"text\": \"a\"}\n{\"text\": \"\(long)\"}\n{\"text\": \"b\"}\n")
        let options = InputOptions(maxLineBytes: 100_000)
        expectError(path, options, .lineTooLong(file: path, line: 2, limit: 100_000))
        let (docs, stats) = try readAll(path, InputOptions(badInput: .skip, maxLineBytes: 100_000))
        XCTAssertEqual(docs.map(\.text), ["a", "b"])
        XCTAssertEqual(docs.map(\.line), [1, 3])
        XCTAssertEqual(stats.skippedTooLong, 1)
        // Without a limit problem the same line reads fine.
        XCTAssertEqual(try readAll(path).0[1].text.count, 3_000_000)
        // Whole-file documents have their own limit; a long last line without "\n" too.
        let txt = try write("long.txt", "short\n" + long)
        expectError(
            txt, InputOptions(maxDocumentBytes: 1_000_000), .documentTooLarge(file: txt, line: 2, limit: 1_000_000))
        let lines = try write("long2.txt", "short\n" + long)
        expectError(
            lines, InputOptions(textSplit: .lines, maxLineBytes: 1000), .lineTooLong(file: lines, line: 2, limit: 1000))
    }

    func testUnreadableUnsupportedAndCorruptFiles() throws {
        let missing = dir.appendingPathComponent("missing.jsonl").path
        XCTAssertThrowsError(try DocumentReader(path: missing)) { error in
            guard case .cannotOpen(let f, _)? = error as? InputError else { return XCTFail("\(error)") }
            XCTAssertEqual(f, missing)
        }
        let sub = dir.appendingPathComponent("folder.txt")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        XCTAssertThrowsError(try DocumentReader(path: sub.path)) { error in
            guard case .cannotOpen? = error as? InputError else { return XCTFail("\(error)") }
        }
        let csv = try write("x.csv", "a,b")
        XCTAssertThrowsError(try DocumentReader(path: csv)) {
            XCTAssertEqual($0 as? InputError, .unsupportedFormat(file: csv))
        }
        var z = try Zstd.compress(Array(String(repeating: "{\"text\": \"hello\"}\n", count: 2000).utf8))
        z.removeLast(8)
        let cut = try write("cut.jsonl.zst", z)
        // Skip policy does not hide a broken file.
        XCTAssertThrowsError(try readAll(cut, InputOptions(badInput: .skip))) { error in
            guard case .decompressionFailed(let f, _)? = error as? InputError else { return XCTFail("\(error)") }
            XCTAssertEqual(f, cut)
        }
        let notGzip = try write("fake.jsonl.gz", "{\"text\": \"not compressed\"}\n")
        XCTAssertThrowsError(try readAll(notGzip)) { error in
            guard case .decompressionFailed? = error as? InputError else { return XCTFail("\(error)") }
        }
    }
}

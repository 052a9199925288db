import Foundation
import XCTest
@testable import DataShards

final class TokenizerJSONTests: XCTestCase {
    func testHashIsStableAndChangesWithContent() throws {
        let a = try Tokenizer.load(path: TokenizerFixtures.gpt2Style)
        let b = try Tokenizer.load(json: a.canonicalJSON())
        XCTAssertEqual(a.hash, b.hash)
        XCTAssertEqual(a.hash.count, 64)
        XCTAssertEqual(a.canonicalJSON(), b.canonicalJSON())
        var t1 = try BPETrainer(vocabularySize: 257, splitPattern: .gpt2)
        t1.add("hello hello world")
        var t2 = try BPETrainer(vocabularySize: 258, splitPattern: .gpt2)
        t2.add("hello hello world")
        XCTAssertNotEqual(try t1.train().hash, try t2.train().hash)
    }

    func testLegacyAndPairMergesLoadTheSame() throws {
        let a = try Tokenizer.load(path: TokenizerFixtures.gpt2Style)  // legacy "a b" strings
        let b = try Tokenizer.load(json: a.canonicalJSON())              // written as [a, b] pairs
        XCTAssertTrue(try String(contentsOfFile: TokenizerFixtures.gpt2Style, encoding: .utf8).contains("\"Ġ t\""))
        XCTAssertTrue(a.canonicalJSON().contains("[\"Ġ\", \"t\"]"))
        XCTAssertEqual(a.merges.map { [$0.0, $0.1] }, b.merges.map { [$0.0, $0.1] })
    }

    func testRejectsUnsupportedAndBrokenFiles() throws {
        let base = try Tokenizer.load(path: TokenizerFixtures.gpt2Style).canonicalJSON()
        func expectError(_ json: String, _ check: (TokenizerError) -> Bool, line: UInt = #line) {
            do {
                _ = try Tokenizer.load(json: json, source: "t.json")
                XCTFail("loaded", line: line)
            } catch {
                XCTAssertTrue(check(error), "\(error)", line: line)
            }
        }
        expectError("{not json", { if case .malformedJSON(let f, _) = $0 { return f == "t.json" }; return false })
        expectError(base.replacingOccurrences(of: "\"normalizer\": null", with: "\"normalizer\": {\"type\": \"NFC\"}"),
                    { if case .unsupported(_, let field, _) = $0 { return field == "normalizer" }; return false })
        expectError(base.replacingOccurrences(of: "\"type\": \"BPE\"", with: "\"type\": \"WordPiece\""),
                    { if case .unsupported(_, let field, _) = $0 { return field == "model.type" }; return false })
        expectError(base.replacingOccurrences(of: "[\"Ġ\", \"t\"]", with: "[\"Ġ\", \"nope\"]"),
                    { if case .mergeTokenNotInVocabulary(_, 0, "nope") = $0 { return true }; return false })
        expectError(base.replacingOccurrences(of: "[\"Ġ\", \"t\"]", with: "42"),
                    { if case .invalidField(_, let field, _) = $0 { return field == "model.merges[0]" }; return false })
        expectError(base.replacingOccurrences(of: "\"!\": 0,", with: ""),
                    { if case .missingByte(_, 0x21) = $0 { return true }; return false })
        expectError(base.replacingOccurrences(of: "\"lstrip\": false", with: "\"lstrip\": true"),
                    { if case .unsupported(_, let field, _) = $0 { return field == "added_tokens[0].lstrip" }; return false })
        let llama = try BPETrainer(vocabularySize: 260, splitPattern: .llama3).train().canonicalJSON()
        expectError(llama.replacingOccurrences(of: "\\\\p{N}{1,3}", with: "\\\\p{N}{1,4}"),
                    { if case .unsupported(_, let field, _) = $0 { return field.hasSuffix("Regex") }; return false })
        XCTAssertThrowsError(try Tokenizer.load(path: "/nonexistent/tokenizer.json")) { error in
            guard case .unreadable(let f, _)? = error as? TokenizerError else { return XCTFail("\(error)") }
            XCTAssertEqual(f, "/nonexistent/tokenizer.json")
        }
    }

    func testTrainerRejectsBadSettings() {
        XCTAssertThrowsError(try BPETrainer(vocabularySize: 100))
        XCTAssertThrowsError(try BPETrainer(vocabularySize: 1000, specialTokens: ["<a>", "<a>"]))
    }

    func testSaveIsAtomicAndLoadable() throws {
        let dir = try TokenizerFixtures.tempDirectory("save")
        defer { try? FileManager.default.removeItem(at: dir) }
        let t = try Tokenizer.load(path: TokenizerFixtures.gpt2Style)
        let path = dir.appendingPathComponent("tokenizer.json").path
        try t.save(to: path)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["tokenizer.json"])
        XCTAssertEqual(try Tokenizer.load(path: path).hash, t.hash)
        XCTAssertThrowsError(try t.save(to: dir.appendingPathComponent("missing/dir/t.json").path))
    }
}

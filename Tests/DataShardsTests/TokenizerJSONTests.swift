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
        let a = try Tokenizer.load(path: TokenizerFixtures.gpt2Style) // legacy "a b" strings
        let b = try Tokenizer.load(json: a.canonicalJSON()) // written as [a, b] pairs
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
        expectError(
            "{not json",
            {
                if case .malformedJSON(let f, _) = $0 { return f == "t.json" }
                return false
            })
        expectError(
            base.replacingOccurrences(of: "\"normalizer\": null", with: "\"normalizer\": {\"type\": \"NFC\"}"),
            {
                if case .unsupported(_, let field, _) = $0 { return field == "normalizer" }
                return false
            })
        expectError(
            base.replacingOccurrences(of: "\"type\": \"BPE\"", with: "\"type\": \"WordPiece\""),
            {
                if case .unsupported(_, let field, _) = $0 { return field == "model.type" }
                return false
            })
        expectError(
            base.replacingOccurrences(of: "[\"Ġ\", \"t\"]", with: "[\"Ġ\", \"nope\"]"),
            {
                if case .mergeTokenNotInVocabulary(_, 0, "nope") = $0 { return true }
                return false
            })
        expectError(
            base.replacingOccurrences(of: "[\"Ġ\", \"t\"]", with: "42"),
            {
                if case .invalidField(_, let field, _) = $0 { return field == "model.merges[0]" }
                return false
            })
        expectError(
            base.replacingOccurrences(of: "\"!\": 0,", with: ""),
            {
                if case .missingByte(_, 0x21) = $0 { return true }
                return false
            })
        expectError(
            base.replacingOccurrences(of: "\"lstrip\": false", with: "\"lstrip\": true"),
            {
                if case .unsupported(_, let field, _) = $0 { return field == "added_tokens[0].lstrip" }
                return false
            })
        let llama = try BPETrainer(vocabularySize: 260, splitPattern: .llama3).train().canonicalJSON()
        expectError(
            llama.replacingOccurrences(of: "\\\\p{N}{1,3}", with: "\\\\p{N}{1,4}"),
            {
                if case .unsupported(_, let field, _) = $0 { return field.hasSuffix("Regex") }
                return false
            })
        XCTAssertThrowsError(try Tokenizer.load(path: "/nonexistent/tokenizer.json")) { error in
            guard case .unreadable(let f, _)? = error as? TokenizerError else { return XCTFail("\(error)") }
            XCTAssertEqual(f, "/nonexistent/tokenizer.json")
        }
    }

    /// HF requires `add_prefix_space` and `trim_offsets` in a ByteLevel pre-tokenizer (and booleans in all
    /// three flags); such files are refused here too, naming the field, instead of read with a guessed value.
    /// `use_regex` may be left out (default true) in both.
    func testByteLevelFlagsAreRequiredAsHFRequiresThem() throws {
        let dir = try TokenizerFixtures.tempDirectory("bytelevel")
        defer { try? FileManager.default.removeItem(at: dir) }
        let base = try TokenizerFixtures.gpt2StyleObject()
        let byteLevel = base["pre_tokenizer"] as! [String: Any]
        func variant(_ name: String, _ edit: (inout [String: Any]) -> Void) throws -> String {
            var object = base
            var pre = byteLevel
            edit(&pre)
            object["pre_tokenizer"] = pre
            return try TokenizerFixtures.write(object, named: name, in: dir)
        }
        func sequence(_ name: String, _ edit: (inout [String: Any]) -> Void) throws -> String {
            var object = base
            var second: [String: Any] = [
                "type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false,
            ]
            edit(&second)
            object["pre_tokenizer"] = [
                "type": "Sequence",
                "pretokenizers": [
                    [
                        "type": "Split", "pattern": ["Regex": SplitPattern.gpt2.regex], "behavior": "Isolated",
                        "invert": false,
                    ], second,
                ],
            ]
            return try TokenizerFixtures.write(object, named: name, in: dir)
        }
        let refused: [(path: String, field: String)] = [
            (try variant("no-prefix-space.json") { $0["add_prefix_space"] = nil }, "pre_tokenizer.add_prefix_space"),
            (try variant("bare.json") { $0 = ["type": "ByteLevel"] }, "pre_tokenizer.add_prefix_space"),
            (try variant("no-trim.json") { $0["trim_offsets"] = nil }, "pre_tokenizer.trim_offsets"),
            (
                try variant("null-prefix-space.json") { $0["add_prefix_space"] = NSNull() },
                "pre_tokenizer.add_prefix_space"
            ),
            (
                try variant("string-prefix-space.json") { $0["add_prefix_space"] = "yes" },
                "pre_tokenizer.add_prefix_space"
            ),
            (try variant("number-prefix-space.json") { $0["add_prefix_space"] = 1 }, "pre_tokenizer.add_prefix_space"),
            (try variant("null-use-regex.json") { $0["use_regex"] = NSNull() }, "pre_tokenizer.use_regex"),
            (
                try sequence("sequence-no-prefix-space.json") { $0["add_prefix_space"] = nil },
                "pre_tokenizer.pretokenizers[1].add_prefix_space"
            ),
        ]
        let accepted = [
            try variant("no-use-regex.json") { $0["use_regex"] = nil }, try sequence("sequence.json") { _ in },
        ]
        let hf = try TokenizerFixtures.referenceLoadErrors(refused.map(\.path) + accepted, in: dir)
        for (k, (path, field)) in refused.enumerated() {
            XCTAssertNotNil(hf[k], "HF loads \(path)")
            XCTAssertThrowsError(try Tokenizer.load(path: path), path) { error in
                guard case .invalidField(let file, let named, _)? = error as? TokenizerError else {
                    return XCTFail("\(error)")
                }
                XCTAssertEqual(file, path)
                XCTAssertEqual(named, field)
                XCTAssertTrue("\(error)".contains("true or false"), "\(error)")
            }
        }
        XCTAssertTrue("\(hf[0] ?? "")".contains("missing field `add_prefix_space`"), hf[0] ?? "")
        for (k, path) in accepted.enumerated() {
            XCTAssertNil(hf[refused.count + k], path)
            XCTAssertNoThrow(try Tokenizer.load(path: path), path)
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

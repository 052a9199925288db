import Foundation
import XCTest

@testable import DataShards

/// Id-for-id equality with the Hugging Face `tokenizers` package (run as a Python subprocess).
final class TokenizerHFEqualityTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try TokenizerFixtures.tempDirectory("hf") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    var allTexts: [String] {
        TokenizerFixtures.texts + TokenizerFixtures.randomTexts(count: 400, seed: 7)
            + TokenizerFixtures.trickyTexts(count: 1000, seed: 3)
    }

    func assertSameIDs(
        _ tokenizer: Tokenizer, jsonPath: String, texts: [String], file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let expected = try TokenizerFixtures.referenceIDs(tokenizerJSON: jsonPath, texts: texts, in: dir)
        XCTAssertEqual(expected.count, texts.count)
        let encoder = tokenizer.makeEncoder()
        var mismatches = 0
        for (text, want) in zip(texts, expected) {
            let got = encoder.encode(text)
            if got != want {
                mismatches += 1
                if mismatches <= 5 {
                    XCTFail(
                        "ids differ for \(text.debugDescription):\n ours \(got)\n   hf \(want)", file: file, line: line)
                }
            }
            // A fresh encoder (cold cache) must agree with the warm one.
            if mismatches == 0 { XCTAssertEqual(tokenizer.encode(text), got, file: file, line: line) }
        }
        XCTAssertEqual(mismatches, 0, "\(mismatches) of \(texts.count) texts differ", file: file, line: line)
    }

    /// (b) the hand-written GPT-2-style fixture (legacy "a b" merges, duplicate merges, <|endoftext|>).
    func testHandWrittenGPT2StyleFixture() throws {
        let tokenizer = try Tokenizer.load(path: TokenizerFixtures.gpt2Style)
        XCTAssertEqual(tokenizer.splitPattern, .gpt2)
        try assertSameIDs(tokenizer, jsonPath: TokenizerFixtures.gpt2Style, texts: allTexts)
        // The fixture merges make these words single tokens; a smoke check the merges are used at all.
        XCTAssertEqual(tokenizer.encode(" the").count, 1)
        XCTAssertEqual(tokenizer.encode("Hello").count, 1)
    }

    /// GPT-2 ByteLevel with `add_prefix_space: true`: a space goes before every text segment between added tokens.
    func testAddPrefixSpace() throws {
        let json = try String(contentsOfFile: TokenizerFixtures.gpt2Style, encoding: .utf8)
            .replacingOccurrences(of: "\"add_prefix_space\": false", with: "\"add_prefix_space\": true")
        let path = dir.appendingPathComponent("prefix-space.json").path
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        let tokenizer = try Tokenizer.load(path: path)
        XCTAssertTrue(tokenizer.addPrefixSpace)
        try assertSameIDs(
            tokenizer, jsonPath: path, texts: TokenizerFixtures.texts + ["the<|endoftext|>the", " x<|endoftext|> y"])
    }

    /// Added tokens that overlap, as HF matches them: the `normalized: false` ones (special tokens by default)
    /// are split out of the whole text first, the `normalized: true` ones only from what lies between; within
    /// a pass the leftmost, then longest, match wins. Each set is checked against the Python library's ids.
    func testOverlappingAddedTokens() throws {
        let end = "<|endoftext|>"
        // (content, special, normalized)
        let sets: [[(String, Bool, Bool)]] = [
            [(end, true, false), ("<|end", false, true)],
            [(end, true, false), ("a<|", false, true)], // starts first, yet the special token wins
            [(end, true, false), ("a<|", false, false)], // same pass: leftmost wins
            [(end, true, true), ("a<|", false, false)], // the pass follows normalized, not special
            [(end, true, false), ("text|>x", false, true)],
            [(end, true, false), ("endoftext", false, true), ("<|", false, true)],
            [("<|end", false, true), (end, true, false), ("of", true, false)],
            [("ab", true, false), ("abc", true, false), ("bcd", true, false), ("cd", false, true)],
        ]
        let texts =
            TokenizerFixtures.texts + [
                "a<|endoftext|>b", "<|end<|endoftext|>", "<|endoftext|>xy", "endoftext|>", "<|endoftext",
                "xendoftextx<|endoftext|>endoftext", "abcd", "xabcdx", "ab bcd abc cd", "a<|end<|endoftext|>text|>xa<|",
                "<|endoftext|><|endoftext|>a<|<|end", "of <|endof <|end of", " a<|endoftext|> b<|",
            ]
        for (k, set) in sets.enumerated() {
            for prefixSpace in [false, true] where prefixSpace == false || k == 1 {
                var object = try TokenizerFixtures.gpt2StyleObject()
                object["added_tokens"] = set.enumerated().map { offset, token in
                    [
                        "id": 400 + offset, "content": token.0, "special": token.1, "normalized": token.2,
                        "single_word": false, "lstrip": false, "rstrip": false,
                    ] as [String: Any]
                }
                if prefixSpace {
                    var pre = object["pre_tokenizer"] as! [String: Any]
                    pre["add_prefix_space"] = true
                    object["pre_tokenizer"] = pre
                }
                let draft = try TokenizerFixtures.write(object, named: "added-\(k)-\(prefixSpace).draft.json", in: dir)
                let path = dir.appendingPathComponent("added-\(k)-\(prefixSpace).json").path
                try TokenizerFixtures.runReference(["resave", draft, path]) // the ids HF assigns
                try assertSameIDs(try Tokenizer.load(path: path), jsonPath: path, texts: texts)
            }
        }
        // The case of the report, spelled out: the special token is one id although "a<|" starts first.
        var object = try TokenizerFixtures.gpt2StyleObject()
        object["added_tokens"] = [
            ["id": 311, "content": end, "special": true, "normalized": false], // 311: its id in model.vocab
            ["id": 312, "content": "a<|", "special": false, "normalized": true],
        ]
        let tokenizer = try Tokenizer.load(path: try TokenizerFixtures.write(object, named: "report.json", in: dir))
        XCTAssertEqual(tokenizer.encode("a<|endoftext|>").last, 311)
        XCTAssertFalse(tokenizer.encode("a<|endoftext|>").contains(312))
    }

    /// (a) + (c): tokenizers trained by us with the GPT-2 and the Llama-3 split patterns, saved as
    /// tokenizer.json and loaded by HF.
    func testTokenizersTrainedByUsGPT2AndLlama3Patterns() throws {
        let corpus = TokenizerFixtures.trainingCorpus()
        for pattern in SplitPattern.allCases {
            var trainer = try BPETrainer(
                vocabularySize: 1200, specialTokens: ["<|endoftext|>", "<|pad|>"], splitPattern: pattern)
            for doc in corpus { trainer.add(doc) }
            let tokenizer = try trainer.train()
            XCTAssertEqual(tokenizer.vocabularySize, 1200)
            let path = dir.appendingPathComponent("trained-\(pattern).json").path
            try tokenizer.save(to: path)
            // The test texts, plus whole real files (Swift sources, C headers) as long documents.
            try assertSameIDs(tokenizer, jsonPath: path, texts: allTexts + corpus)
            // Reloading our own file gives the same tokenizer (same hash).
            XCTAssertEqual(try Tokenizer.load(path: path).hash, tokenizer.hash)
        }
    }

    /// (c) Llama-3 style file: Split(Regex) + ByteLevel(use_regex=false), `ignore_merges: true`, pair merges.
    func testLlama3StyleIgnoreMerges() throws {
        var trainer = try BPETrainer(
            vocabularySize: 800, specialTokens: ["<|begin_of_text|>", "<|end_of_text|>"], splitPattern: .llama3)
        for doc in TokenizerFixtures.trainingCorpus() { trainer.add(doc) }
        let trained = try trainer.train()
        let json = trained.canonicalJSON().replacingOccurrences(
            of: "\"ignore_merges\": false", with: "\"ignore_merges\": true")
        let path = dir.appendingPathComponent("llama3-ignore-merges.json").path
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        let tokenizer = try Tokenizer.load(path: path)
        XCTAssertTrue(tokenizer.ignoreMerges)
        try assertSameIDs(tokenizer, jsonPath: path, texts: allTexts)
    }

    /// Our trainer reproduces the HF BpeTrainer: same vocabulary ids and the same merges in the same order.
    func testTrainerMatchesHFTrainer() throws {
        let corpus = TokenizerFixtures.trainingCorpus()
        let corpusFile = dir.appendingPathComponent("corpus.json")
        try JSONSerialization.data(withJSONObject: corpus).write(to: corpusFile)
        let specials = ["<|endoftext|>", "<pad>"]
        let specialsFile = dir.appendingPathComponent("specials.json")
        try JSONSerialization.data(withJSONObject: specials).write(to: specialsFile)
        for pattern in SplitPattern.allCases {
            let hfPath = dir.appendingPathComponent("hf-\(pattern).json").path
            try TokenizerFixtures.runReference([
                "train", corpusFile.path, "1000", specialsFile.path, pattern.rawValue, hfPath,
            ])
            let hf = try Tokenizer.load(path: hfPath)

            var trainer = try BPETrainer(vocabularySize: 1000, specialTokens: specials, splitPattern: pattern)
            trainer.add(documents: corpus, threads: 2)
            let ours = try trainer.train()
            XCTAssertEqual(ours.modelVocab.count, hf.modelVocab.count, "\(pattern)")
            XCTAssertEqual(
                ours.modelVocab.map(\.token), hf.modelVocab.map(\.token), "\(pattern): vocabulary (in id order) differs"
            )
            XCTAssertEqual(
                ours.merges.map { [$0.0, $0.1] }, hf.merges.map { [$0.0, $0.1] }, "\(pattern): merges differ")
            XCTAssertEqual(ours.addedTokens, hf.addedTokens)
        }
    }
}

import Foundation
import Primitives
import XCTest

@testable import DataShards

final class TokenizerRoundTripTests: XCTestCase {
    static let trained: Tokenizer = {
        var trainer = try! BPETrainer(vocabularySize: 700, specialTokens: ["<|endoftext|>"], splitPattern: .llama3)
        for doc in TokenizerFixtures.trainingCorpus() { trainer.add(doc) }
        return try! trainer.train()
    }()

    func testDecodeEncodeIsIdentityOnTestTexts() throws {
        let gpt2 = try Tokenizer.load(path: TokenizerFixtures.gpt2Style)
        for tokenizer in [Self.trained, gpt2] {
            for text in TokenizerFixtures.texts {
                XCTAssertEqual(tokenizer.decode(tokenizer.encode(text)), text)
                XCTAssertEqual(tokenizer.decode(tokenizer.encode(text, matchAddedTokens: false)), text)
            }
        }
    }

    /// Property: decode(encode(x)) == x for random valid UTF-8 strings of every script, whitespace and emoji,
    /// and for random code points anywhere in Unicode.
    func testDecodeEncodeIsIdentityOnRandomStrings() throws {
        let gpt2 = try Tokenizer.load(path: TokenizerFixtures.gpt2Style)
        var texts = TokenizerFixtures.randomTexts(count: 3000, seed: 12345)
        var state: UInt64 = 42
        for _ in 0..<500 {
            var s = String.UnicodeScalarView()
            for _ in 0..<40 {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                if let u = Unicode.Scalar(UInt32(truncatingIfNeeded: state >> 33) % 0x110000) { s.append(u) }
            }
            texts.append(String(s))
        }
        for tokenizer in [Self.trained, gpt2] {
            let encoder = tokenizer.makeEncoder()
            for text in texts {
                let ids = encoder.encode(text)
                XCTAssertEqual(tokenizer.decode(ids), text)
                XCTAssertEqual(tokenizer.decodeBytes(ids), Array(text.utf8))
            }
        }
    }

    func testSpecialTokensMatchedOrNot() throws {
        let t = Self.trained
        let eot = try XCTUnwrap(t.id(of: "<|endoftext|>"))
        XCTAssertEqual(eot, 0)
        let ids = t.encode("a<|endoftext|>b")
        XCTAssertEqual(ids.filter { $0 == eot }.count, 1)
        XCTAssertFalse(t.encode("a<|endoftext|>b", matchAddedTokens: false).contains(eot))
        XCTAssertEqual(t.decode(ids, skipSpecialTokens: true), "ab")
    }

    func testConcurrentEncodingGivesSameIDs() throws {
        let t = Self.trained
        let texts = TokenizerFixtures.randomTexts(count: 400, seed: 5) + TokenizerFixtures.texts
        let expected = texts.map { t.encode($0) }
        let results = UnsafeMutableBufferPointer<[[UInt32]]>.allocate(capacity: 4)
        results.initialize(repeating: [])
        defer {
            results.deinitialize()
            results.deallocate()
        }
        let box = UncheckedSendable(results)
        DispatchQueue.concurrentPerform(iterations: 4) { k in
            let encoder = t.makeEncoder()
            box.value[k] = texts.map { encoder.encode($0) }
        }
        for k in 0..<4 { XCTAssertEqual(results[k], expected) }
    }

    func testCacheEvictionKeepsResultsCorrect() throws {
        // Many distinct words overflow the bounded cache several times over.
        let t = Self.trained
        let encoder = t.makeEncoder()
        var words: [String] = []
        for i in 0..<200_000 { words.append("w\(i * 7919 % 1_000_003)x") }
        let text = words.joined(separator: " ")
        let ids = encoder.encode(text)
        XCTAssertEqual(t.decode(ids), text)
        XCTAssertEqual(encoder.encode(text), ids)
    }
}

import APITypes
import Checksum
import ClusterModel
import DataShards
import Foundation
import Gzip
import XCTest
import Zstd

@testable import Workers

/// The tokenize executors on real files: shards match direct tokenization, retries are no-ops, and every
/// kind of bad input either fails naming the file and line (leaving nothing behind) or is skipped and counted.
final class TokenizeExecutorTests: XCTestCase {
    private var scratch: TokenizerScratch!
    private var root: URL { scratch.root }
    private var tokenizerPath: String { scratch.tokenizerPath }
    private var datasetDirectory: String { scratch.datasetDirectory }

    override func setUpWithError() throws { scratch = try TokenizerScratch("tokenize-executor") }

    override func tearDown() { scratch?.remove() }

    private func write(_ name: String, _ bytes: [UInt8]) -> String { scratch.writeInput(name, bytes) }

    private func write(_ name: String, _ text: String) -> String { write(name, Array(text.utf8)) }

    private func spec(
        _ files: [String], index: Int = 0, count: Int = 1, badInput: String = "fail",
        invalidUTF8: String = "replace", txtMode: String = "document"
    ) -> TokenizeTaskSpec {
        TokenizeTaskSpec(
            dataset: "ds", datasetDirectory: datasetDirectory, shardIndex: index, shardCount: count, files: files,
            input: TokenizeInputOptions(txtMode: txtMode, badInput: badInput, invalidUTF8: invalidUTF8),
            tokenizerPath: tokenizerPath, endOfText: nil, dedup: false)
    }

    private func directoryListing() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: datasetDirectory)) ?? []).filter { $0 != ".shards" }
            .sorted()
    }

    private func failure(_ spec: TokenizeTaskSpec, file: StaticString = #filePath, line: UInt = #line) -> TaskFailure? {
        do {
            _ = try TokenizeExecutor.tokenize(spec, context: nil)
            XCTFail("expected the task to fail", file: file, line: line)
            return nil
        } catch let failure as TaskFailure {
            return failure
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
            return nil
        }
    }

    func testShardHoldsExactlyTheDirectTokenizationAndARetryIsANoOp() throws {
        let a = write("a.txt", "hello world\nthe lazy dog")
        let b = write("b.jsonl", "{\"text\": \"quick brown fox\"}\n\n{\"text\": \"hello tokens 42\"}\n")
        let c = write("c.jsonl.zst", try Zstd.compress(Array("{\"text\": \"zstd line\"}\n".utf8)))
        let d = write("d.txt.gz", try Gzip.compress(Array("gzip text".utf8)))
        let outcome = try TokenizeExecutor.tokenize(spec([a, b, c, d]), context: nil)

        let tokenizer = try Tokenizer.load(path: tokenizerPath)
        let eot = tokenizer.id(of: "<|endoftext|>")!
        let texts = ["hello world\nthe lazy dog", "quick brown fox", "hello tokens 42", "zstd line", "gzip text"]
        let reader = try ShardReader(prefix: datasetDirectory + "/shard-00000")
        XCTAssertEqual(reader.documentCount, texts.count)
        for (i, text) in texts.enumerated() {
            XCTAssertEqual(try reader.tokens(ofDocument: i), tokenizer.encode(text, matchAddedTokens: false) + [eot])
        }
        XCTAssertEqual(outcome.facts.documents, 5)
        XCTAssertEqual(outcome.facts.sha256, try SHA256.hex(ofFileAt: datasetDirectory + "/shard-00000.bin"))
        XCTAssertEqual(outcome.facts.tokenizerHash, tokenizer.hash)
        XCTAssertEqual(outcome.stats["blankLines"], 1)
        XCTAssertTrue(outcome.wroteIndex, "the only shard is the last one: the index is written")
        let index = try DatasetIndex.load(fromDirectory: datasetDirectory)
        XCTAssertEqual(index.shards.map(\.binSHA256), [outcome.facts.sha256])
        XCTAssertEqual(index.tokenizerHash, tokenizer.hash)

        // The same task again (a retry after a lost completion): same facts, nothing new on disk.
        let again = try TokenizeExecutor.tokenize(spec([a, b, c, d]), context: nil)
        XCTAssertEqual(again.facts, outcome.facts)
        XCTAssertEqual(directoryListing(), ["index.json", "shard-00000.bin", "shard-00000.idx"])
    }

    func testIndexIsWrittenOnlyWhenTheLastShardIsCommitted() throws {
        let a = write("a.txt", "hello")
        let b = write("b.txt", "world")
        let first = try TokenizeExecutor.tokenize(spec([b], index: 1, count: 2), context: nil)
        XCTAssertFalse(first.wroteIndex)
        XCTAssertFalse(FileManager.default.fileExists(atPath: datasetDirectory + "/index.json"))
        let second = try TokenizeExecutor.tokenize(spec([a], index: 0, count: 2), context: nil)
        XCTAssertTrue(second.wroteIndex)
        let index = try DatasetIndex.load(fromDirectory: datasetDirectory)
        XCTAssertEqual(index.shards.map(\.name), ["shard-00000", "shard-00001"])
        XCTAssertEqual(index.shards.map(\.binSHA256), [second.facts.sha256, first.facts.sha256])
    }

    func testDifferentContentForAnExistingShardIsRefusedNotOverwritten() throws {
        let a = write("a.txt", "hello")
        let b = write("b.txt", "world world")
        let first = try TokenizeExecutor.tokenize(spec([a]), context: nil)
        let failure = failure(spec([b]))
        XCTAssertEqual(failure?.retryable, false)
        XCTAssertTrue(failure?.message.contains("different shard") ?? false, failure?.message ?? "")
        XCTAssertEqual(try SHA256.hex(ofFileAt: datasetDirectory + "/shard-00000.bin"), first.facts.sha256)
        XCTAssertEqual(directoryListing(), ["index.json", "shard-00000.bin", "shard-00000.idx"])
    }

    func testMalformedJSONFailsNamingFileAndLineAndLeavesNothing() throws {
        let good = write("good.jsonl", "{\"text\": \"fine\"}\n")
        let bad = write("bad.jsonl", "{\"text\": \"fine\"}\n{\"text\": oops}\n")
        let failure = failure(spec([good, bad]))
        XCTAssertEqual(failure?.retryable, false)
        XCTAssertTrue(
            failure?.message.hasPrefix("bad input: \(bad):2: malformed JSON line") ?? false, failure?.message ?? "")
        XCTAssertEqual(directoryListing(), [], "no shard, no temporaries")
    }

    func testSkipPolicyCountsEveryKindOfBadInput() throws {
        var invalid = Array("{\"text\": \"bad ".utf8)
        invalid += [0xff, 0xfe]
        invalid += Array("\"}\n".utf8)
        let files = [
            write("a.jsonl", "{\"text\": \"ok one\"}\nnot json\n{\"other\": 1}\n{\"text\": 5}\n"),
            write("b.jsonl", invalid),
            write("empty.txt", ""),
            write("c.txt", "ok two"),
        ]
        let outcome = try TokenizeExecutor.tokenize(spec(files, badInput: "skip", invalidUTF8: "reject"), context: nil)
        XCTAssertEqual(outcome.facts.documents, 2)
        XCTAssertEqual(outcome.stats["skippedMalformedJSON"], 1)
        XCTAssertEqual(outcome.stats["skippedMissingField"], 1)
        XCTAssertEqual(outcome.stats["skippedNonStringField"], 1)
        XCTAssertEqual(outcome.stats["skippedInvalidUTF8"], 1)
        XCTAssertEqual(outcome.stats["skippedEmptyFiles"], 1)
        XCTAssertEqual(outcome.stats["skipped"], 5)
    }

    func testInvalidUTF8IsReplacedAndCountedByDefault() throws {
        var bytes = Array("caf".utf8)
        bytes += [0xc3]
        bytes += Array(" ok".utf8)
        let outcome = try TokenizeExecutor.tokenize(spec([write("x.txt", bytes)]), context: nil)
        XCTAssertEqual(outcome.stats["replacedInvalidUTF8"], 1)
        let tokenizer = try Tokenizer.load(path: tokenizerPath)
        let reader = try ShardReader(prefix: datasetDirectory + "/shard-00000")
        XCTAssertEqual(tokenizer.decode(try reader.tokens(ofDocument: 0).dropLast()), "caf\u{FFFD} ok")
    }

    func testEmptyFileFailsUnderTheFailPolicy() throws {
        let failure = failure(spec([write("empty.jsonl", "")]))
        XCTAssertTrue(failure?.message.contains("empty.jsonl") ?? false, failure?.message ?? "")
        XCTAssertEqual(directoryListing(), [])
    }

    func testMissingAndUnreadableInputsFailNamingTheFile() throws {
        let missing = root.path + "/in/missing.txt"
        XCTAssertTrue(failure(spec([missing]))?.message.contains("missing.txt") ?? false)
        let directory = root.path + "/in/dir.txt"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        XCTAssertTrue(failure(spec([directory]))?.message.contains("dir.txt") ?? false)
        let corrupt = write("corrupt.jsonl.gz", [0x1f, 0x8b, 0x08, 0, 1, 2, 3])
        let message = failure(spec([corrupt]))?.message ?? ""
        XCTAssertTrue(message.contains("corrupt.jsonl.gz"), message)
        XCTAssertEqual(directoryListing(), [])
    }

    func testASingleVeryLongLineIsOneDocument() throws {
        let long = String(repeating: "hello world ", count: 200_000) // 2.4 MB, no newline
        let outcome = try TokenizeExecutor.tokenize(spec([write("long.txt", long)], txtMode: "lines"), context: nil)
        XCTAssertEqual(outcome.facts.documents, 1)
        let tokenizer = try Tokenizer.load(path: tokenizerPath)
        let reader = try ShardReader(prefix: datasetDirectory + "/shard-00000")
        XCTAssertEqual(
            try reader.tokens(ofDocument: 0),
            tokenizer.encode(long, matchAddedTokens: false) + [tokenizer.id(of: "<|endoftext|>")!])
    }

    func testLeftoverTemporariesOfAKilledAttemptAreRemoved() throws {
        try FileManager.default.createDirectory(atPath: datasetDirectory, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(
            atPath: datasetDirectory + "/.shards", withIntermediateDirectories: true)
        for name in [
            ".shard-00000.bin.tmp-123-abc", ".shard-00000.idx.tmp-123-abc", ".shard-00001.bin.tmp-9-x",
            ".shards/shard-00000.json.tmp-5-y",
        ] {
            XCTAssertTrue(
                FileManager.default.createFile(atPath: datasetDirectory + "/" + name, contents: Data([1, 2, 3])))
        }
        _ = try TokenizeExecutor.tokenize(spec([write("a.txt", "hello")], index: 0, count: 2), context: nil)
        XCTAssertEqual(
            directoryListing(), [".shard-00001.bin.tmp-9-x", "shard-00000.bin", "shard-00000.idx"],
            "only this shard's temporaries are removed (another shard's writer may be running)")
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: datasetDirectory + "/.shards").sorted(),
            [".lock", "shard-00000.json"])
    }

    func testMissingTokenizerAndUnknownEndOfTextAreNotRetried() throws {
        var bad = spec([write("a.txt", "hello")])
        bad.tokenizerPath = root.path + "/nope.json"
        XCTAssertEqual(failure(bad)?.retryable, false)
        var noEOT = spec([write("b.txt", "hello")])
        noEOT.endOfText = "<eos>"
        XCTAssertTrue(failure(noEOT)?.message.contains("<eos>") ?? false)
    }

    func testTrainingIsDeterministicAndRefusesToOverwriteAnotherTokenizer() throws {
        let files = (0..<5).map { write("t\($0).txt", "sample text number \($0) with words words words") }
        let output = root.path + "/trained/tokenizer.json"
        let spec = TrainTokenizerTaskSpec(
            files: files, input: TokenizeInputOptions(), output: output, vocabularySize: 280,
            sampleBytes: 1 << 20, specialTokens: ["<|endoftext|>"], splitPattern: "llama3")
        let first = try TokenizeTrainExecutor.train(spec, context: nil)
        XCTAssertEqual(first.sampledDocuments, 5)
        XCTAssertEqual(first.hash, try SHA256.hex(ofFileAt: output))
        let second = try TokenizeTrainExecutor.train(spec, context: nil)
        XCTAssertEqual(second.hash, first.hash, "a retry trains the same tokenizer and accepts the file already there")
        var other = spec
        other.specialTokens = ["<|endoftext|>", "<pad>"]
        XCTAssertThrowsError(try TokenizeTrainExecutor.train(other, context: nil)) { error in
            XCTAssertTrue("\(error)".contains("already exists"), "\(error)")
        }
    }

    func testDedupKeepsTheFirstOccurrenceOfEachNormalizedTextAcrossChunks() throws {
        // Chunk 0: "a b" twice (second with other whitespace); chunk 1: "a b" in NFD-free form again, "café" (NFC);
        // chunk 2: "cafe\u{301}" (NFD of café) and a new text. Dataset order decides: first occurrences stay.
        let chunks = [
            [write("c0.jsonl", "{\"text\": \"hello world\"}\n{\"text\": \"  hello \\t world\\n\"}\n")],
            [write("c1.txt", "hello world"), write("c1b.txt", "caf\u{E9} tokens")],
            [write("c2.txt", "cafe\u{301}   tokens"), write("c2b.txt", "Hello world")],
        ]
        func dedupSpec(_ index: Int) -> TokenizeTaskSpec {
            var s = spec(chunks[index], index: index, count: 3)
            s.dedup = true
            return s
        }
        // Tokenizing before the scan wrote the earlier chunks' hashes is an error, not a silent no-dedup.
        XCTAssertTrue(failure(dedupSpec(1))?.message.contains("hash file") ?? false)
        for index in [2, 0, 1] { _ = try TokenizeDedupScanExecutor.scan(dedupSpec(index), context: nil) }
        let outcomes = try [1, 2, 0].map { try TokenizeExecutor.tokenize(dedupSpec($0), context: nil) }.sorted {
            $0.facts.index < $1.facts.index
        }
        XCTAssertEqual(outcomes.map(\.facts.documents), [1, 1, 1])
        XCTAssertEqual(outcomes.map { $0.stats["duplicatesDropped"] }, [1, 1, 1])
        let tokenizer = try Tokenizer.load(path: tokenizerPath)
        let kept = try (0..<3).map { i in
            tokenizer.decode(
                try ShardReader(prefix: datasetDirectory + "/" + TokenizeTaskSpec.shardName(index: i)).tokens(
                    ofDocument: 0
                ).dropLast())
        }
        XCTAssertEqual(
            kept, ["hello world", "caf\u{E9} tokens", "Hello world"], "case is kept; NFC/NFD and whitespace are not")
        XCTAssertEqual(
            TokenizeDedup.normalized("  a\t\n b  c\u{308} "), "a b c\u{308}".precomposedStringWithCanonicalMapping)
    }
}

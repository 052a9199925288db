import DataShards
import Foundation
import XCTest

/// A scratch folder with a small trained tokenizer (BPE, 300 ids, GPT-2 split) and input files under `in/`: the
/// set-up of the executor tests that tokenize real files (TokenizeExecutorTests, NearDedupExecutorTests).
struct TokenizerScratch {
    let root: URL
    var tokenizerPath: String { root.path + "/tokenizer.json" }
    var datasetDirectory: String { root.path + "/out/ds" }

    init(_ name: String) throws {
        root = temporaryDirectory(name)
        do {
            var trainer = try BPETrainer(vocabularySize: 300, specialTokens: ["<|endoftext|>"], splitPattern: .gpt2)
            trainer.add("the quick brown fox jumps over the lazy dog; hello world, hello tokens. 0123456789")
            try trainer.train().save(to: tokenizerPath)
        } catch {
            remove() // the test's tearDown has no scratch to remove when set-up throws
            throw error
        }
    }

    func remove() { try? FileManager.default.removeItem(at: root) }

    /// Writes `bytes` to `in/<name>` (making its folders); returns the path.
    func writeInput(_ name: String, _ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> String {
        let path = root.path + "/in/" + name
        try? FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)), file: file, line: line)
        return path
    }
}

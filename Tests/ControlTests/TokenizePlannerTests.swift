import APITypes
import Foundation
import TestSupport
import XCTest

@testable import Control

/// The tokenize planner (glob expansion, splitting, the tokenizer job in front) and the kind's validator.
final class TokenizePlannerTests: XCTestCase {
    private var root: TemporaryDirectory!

    override func setUpWithError() throws { root = try TemporaryDirectory.make(prefix: "tokenize-planner-") }
    override func tearDown() { root?.remove() }

    private func touch(_ relative: String, bytes: Int = 10) {
        let path = root.path + "/" + relative
        try? FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(repeating: 65, count: bytes)))
    }

    private func manifest(_ settings: String, name: String = "tok", extra: String = "") throws -> JobManifest {
        let text = """
            apiVersion: llmops/v1
            kind: Job
            metadata: {name: \(name)}
            spec:
              type: tokenize
            \(extra.isEmpty ? "" : "  " + extra + "\n")  tokenize:
            \(settings.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
            """
        return try ManifestParser.parse(text: text, fileName: "t.yaml")[0]
    }

    private func problems(_ settings: String, extra: String = "") -> [String] {
        do {
            _ = try manifest(settings, extra: extra)
            return []
        } catch let error as ManifestError {
            return error.problems.map { "\($0.path): \($0.message)" }
        } catch {
            return ["\(error)"]
        }
    }

    func testGlobExpansionMatchesFilesAtAnyDepthSortedWithoutHiddenOrDirectories() {
        touch("data/a.txt")
        touch("data/b.jsonl")
        touch("data/x/c.txt")
        touch("data/x/y/d.txt")
        touch("data/.hidden.txt")
        touch("data/.git/e.txt")
        touch("data/z.md")
        try? FileManager.default.createDirectory(atPath: root.path + "/data/dir.txt", withIntermediateDirectories: true)
        let paths = { (pattern: String) in
            TokenizeInputGlob.expand(self.root.path + pattern).map { String($0.path.dropFirst(self.root.path.count)) }
        }
        XCTAssertEqual(paths("/data/*.txt"), ["/data/a.txt"])
        XCTAssertEqual(paths("/data/**/*.txt"), ["/data/a.txt", "/data/x/c.txt", "/data/x/y/d.txt"])
        XCTAssertEqual(paths("/data/?.jsonl"), ["/data/b.jsonl"])
        XCTAssertEqual(paths("/data/[ab].*"), ["/data/a.txt", "/data/b.jsonl"])
        XCTAssertEqual(paths("/data/x/c.txt"), ["/data/x/c.txt"])
        XCTAssertEqual(paths("/data/nothing/*.txt"), [])
        XCTAssertEqual(TokenizeInputGlob.expand(root.path + "/data/a.txt").first?.bytes, 10)
    }

    func testSplitByFilesOrByBytes() {
        let files = (0..<7).map { InputFile(path: "/f\($0)", bytes: Int64([5, 5, 5, 20, 1, 1, 1][$0])) }
        XCTAssertEqual(
            TokenizePlanner.chunks(files, filesPerTask: 3, bytesPerTask: 0).map { $0.map(\.path) },
            [["/f0", "/f1", "/f2"], ["/f3", "/f4", "/f5"], ["/f6"]])
        XCTAssertEqual(
            TokenizePlanner.chunks(files, filesPerTask: nil, bytesPerTask: 10).map { $0.map(\.path) },
            [["/f0", "/f1"], ["/f2"], ["/f3"], ["/f4", "/f5", "/f6"]], "a file above the budget is a task of its own")
        XCTAssertEqual(TokenizePlanner.chunks([], filesPerTask: nil, bytesPerTask: 10).count, 0)
    }

    func testTaskSpecsCoverEveryFileOnceInOrder() throws {
        for i in 0..<10 {
            touch("in/p\(i).jsonl")
            touch("in/q\(i).txt.gz")
        }
        let m = try manifest(
            """
            inputs: ["\(root.path)/in/*.jsonl", "\(root.path)/in/**/*"]
            output: {dataset: ds, location: \(root.path)/out}
            tokenizer: {train: {vocabularySize: 1000}}
            filesPerTask: 3
            """)
        let specs = try TokenizePlanner().taskSpecs(for: m).map { try $0.decode(as: TokenizeTaskSpec.self) }
        XCTAssertEqual(specs.count, 7)
        let all = specs.flatMap(\.files)
        XCTAssertEqual(all.count, 20, "the second pattern matches the .jsonl files again; each file is used once")
        XCTAssertEqual(Array(all.prefix(10)), (0..<10).map { "\(root.path)/in/p\($0).jsonl" })
        XCTAssertEqual(specs.map(\.shardIndex), Array(0..<7))
        XCTAssertTrue(specs.allSatisfy { $0.shardCount == 7 && $0.datasetDirectory == root.path + "/out/ds" })
        XCTAssertEqual(specs[0].tokenizerPath, root.path + "/out/ds/tokenizer.json")
        XCTAssertEqual(specs[0].endOfText, "<|endoftext|>")
    }

    func testTrainingPutsATokenizerJobInFrontThatTheJobWaitsFor() throws {
        touch("in/a.txt")
        let m = try manifest(
            """
            inputs: ["\(root.path)/in/*.txt"]
            output: {dataset: ds, location: \(root.path)/out}
            tokenizer: {train: {vocabularySize: 1000, sampleBytes: 1MB, splitPattern: gpt2}}
            """, extra: "after: [prepare]")
        let jobs = try TokenizePlanner().expand(m)
        XCTAssertEqual(jobs.map(\.name), ["tok-tokenizer", "tok"])
        XCTAssertEqual(jobs[0].spec.type, "train-tokenizer")
        XCTAssertEqual(jobs[0].spec.after, ["prepare"])
        XCTAssertEqual(jobs[1].spec.after, ["prepare", "tok-tokenizer"])
        XCTAssertEqual(try TokenizePlanner().expand(m), jobs, "deterministic: re-applying is recognised as unchanged")
        // The generated job is a valid manifest of its kind, and plans one task with the expanded files.
        let reparsed = try ManifestParser.validate([jobs[0].manifestValue], fileName: "gen").jobs[0]
        let train = try TrainTokenizerPlanner().taskSpecs(for: reparsed).map {
            try $0.decode(as: TrainTokenizerTaskSpec.self)
        }
        XCTAssertEqual(train.count, 1)
        XCTAssertEqual(train[0].files, [root.path + "/in/a.txt"])
        XCTAssertEqual(train[0].output, root.path + "/out/ds/tokenizer.json")
        XCTAssertEqual(train[0].sampleBytes, 1_000_000)
        XCTAssertEqual(train[0].splitPattern, "gpt2")

        let withPath = try manifest(
            """
            inputs: ["\(root.path)/in/*.txt"]
            output: {dataset: ds, location: \(root.path)/out}
            tokenizer: {path: /models/tokenizer.json}
            """)
        XCTAssertEqual(try TokenizePlanner().expand(withPath).map(\.name), ["tok"])

        let dedup = try manifest(
            """
            inputs: ["\(root.path)/in/*.txt"]
            output: {dataset: ds, location: \(root.path)/out}
            tokenizer: {train: {vocabularySize: 1000}}
            dedup: true
            """)
        let three = try TokenizePlanner().expand(dedup)
        XCTAssertEqual(three.map(\.name), ["tok-tokenizer", "tok-dedup", "tok"])
        XCTAssertEqual(three.map(\.spec.type), ["train-tokenizer", "tokenize-dedup-scan", "tokenize"])
        XCTAssertEqual(three[2].spec.after, ["tok-tokenizer", "tok-dedup"])
        XCTAssertEqual(
            try TokenizePlanner().taskSpecs(for: three[1]), try TokenizePlanner().taskSpecs(for: three[2]),
            "the scan hashes exactly the chunks the tokenize tasks read")
        XCTAssertTrue(
            try TokenizePlanner().taskSpecs(for: three[2]).allSatisfy { try $0.decode(as: TokenizeTaskSpec.self).dedup }
        )
    }

    func testSubmissionFailsWithClearMessages() throws {
        touch("in/a.txt")
        touch("in/b.csv")
        func message(_ settings: String, name: String = "tok") -> String {
            do {
                let m = try manifest(settings, name: name)
                _ = try TokenizePlanner().expand(m)
                _ = try TokenizePlanner().taskSpecs(for: m)
                return ""
            } catch { return "\(error)" }
        }
        let out = "output: {dataset: ds, location: \(root.path)/out}"
        XCTAssertEqual(
            message(
                """
                inputs: ["\(root.path)/in/*.txt", "\(root.path)/none/*.jsonl"]
                \(out)
                tokenizer: {train: {vocabularySize: 1000}}
                """),
            "spec.tokenize.inputs[1]: \"\(root.path)/none/*.jsonl\" matches no files on the control plane's filesystem (a path that reaches the control plane unresolved is control-plane-local and must be where every worker sees it; opsctl apply uploads local files instead)"
        )
        XCTAssertTrue(
            message(
                """
                inputs: ["\(root.path)/in/*"]
                \(out)
                tokenizer: {path: \(root.path)/in/a.txt}
                """
            ).hasPrefix("spec.tokenize.inputs[0]: \(root.path)/in/b.csv: cannot tell the format from the name"))
        XCTAssertEqual(
            message(
                """
                inputs: ["\(root.path)/in/*.txt"]
                \(out)
                tokenizer: {path: \(root.path)/missing.json}
                """),
            "spec.tokenize.tokenizer.path: no readable file \(root.path)/missing.json on the control plane's filesystem (it must be where every worker sees it, or be written by a job this one runs after:)"
        )
        let long = String(repeating: "a", count: 60)
        XCTAssertTrue(
            message(
                """
                inputs: ["\(root.path)/in/*.txt"]
                \(out)
                tokenizer: {train: {vocabularySize: 1000}}
                """, name: long
            ).hasPrefix("metadata.name: expected at most 53 characters"))
        XCTAssertEqual(
            message(
                """
                inputs: ["\(root.path)/in/*"]
                format: txt
                \(out)
                tokenizer: {path: \(root.path)/in/a.txt}
                """), "", "with an explicit format any file name is accepted")
    }

    func testValidatorNamesEveryField() {
        XCTAssertEqual(
            problems(
                """
                inputs: [relative.txt, 3]
                format: csv
                textField: ""
                txtMode: words
                badInput: ignore
                invalidUTF8: drop
                output: {dataset: "a/b", location: out, extra: 1}
                tokenizer: {path: tok.json, train: {vocabularySize: 100, specialTokens: [x, x], splitPattern: bert}}
                filesPerTask: 2
                bytesPerTask: 2 lots
                dedupe: true
                """, extra: "replicas: 2"
            ).sorted(),
            [
                "spec.replicas: expected 1 for a tokenize job (its tasks run independently), got 2",
                "spec.tokenize.dedupe: unknown field (did you mean \"dedup\"?)",
                "spec.tokenize.inputs[0]: expected an absolute path or glob such as \"/data/**/*.jsonl.zst\", got \"relative.txt\"",
                "spec.tokenize.inputs[1]: expected an absolute path or glob, an s3://bucket/key URL, an http(s):// URL or a cp://blobs/<sha256> location, or {name, location, sha256, bytes}, got 3",
                "spec.tokenize.format: expected one of \"auto\", \"txt\", \"jsonl\", got \"csv\"",
                "spec.tokenize.textField: expected a non-empty JSON field name, got \"\"",
                "spec.tokenize.txtMode: expected one of \"document\", \"lines\", \"paragraphs\", got \"words\"",
                "spec.tokenize.badInput: expected one of \"fail\", \"skip\", got \"ignore\"",
                "spec.tokenize.invalidUTF8: expected one of \"replace\", \"reject\", got \"drop\"",
                "spec.tokenize.output.extra: unknown field; allowed fields: dataset, location",
                "spec.tokenize.output.dataset: expected a dataset name (letters, digits, '-', '_', '.'; 1 to 100 characters, not starting with '.'), got \"a/b\"",
                "spec.tokenize.output.location: expected an absolute directory path, got \"out\"",
                "spec.tokenize.tokenizer: expected exactly one of path (an existing tokenizer.json), location (a stored one), dataset (the tokenizer a dataset was made with) or train (settings to train one first)",
                "spec.tokenize.tokenizer.path: expected an absolute path to a tokenizer.json, got \"tok.json\"",
                "spec.tokenize.tokenizer.train.specialTokens: expected distinct tokens, got duplicates",
                "spec.tokenize.tokenizer.train.vocabularySize: expected an integer between 259 and 4000000, got 100",
                "spec.tokenize.tokenizer.train.splitPattern: expected one of \"gpt2\", \"llama3\", got \"bert\"",
                "spec.tokenize.bytesPerTask: expected a size in bytes such as 20MB, 64MiB or 1048576, got \"2 lots\"",
                "spec.tokenize.bytesPerTask: expected either filesPerTask or bytesPerTask, not both",
            ].sorted())
        XCTAssertEqual(
            problems("inputs: [/a/*.txt]"),
            [
                "spec.tokenize.output: missing required field (expected a mapping)",
                "spec.tokenize.tokenizer: missing required field (expected a mapping)",
            ])
        XCTAssertEqual(
            problems(
                """
                inputs: []
                output: {dataset: ds, location: /out}
                tokenizer: {train: {vocabularySize: 500, specialTokens: ["<s>"]}, endOfText: "</s>"}
                """),
            [
                "spec.tokenize.inputs: expected a non-empty list of absolute path globs or URLs, got an empty list",
                "spec.tokenize.tokenizer.endOfText: expected one of the special tokens of train.specialTokens (<s>), got \"</s>\"",
            ])
        XCTAssertEqual(
            problems(
                """
                inputs: [/a/*.txt]
                output: {dataset: ds, location: /out}
                tokenizer: {path: /t.json}
                bytesPerTask: 64MiB
                dedup: false
                """), [])
        XCTAssertEqual(ByteSize.parse("64MiB"), 64 << 20)
        XCTAssertEqual(ByteSize.parse("20MB"), 20_000_000)
        XCTAssertEqual(ByteSize.parse("1.5k"), 1500)
        XCTAssertNil(ByteSize.parse("-1"))
    }
}

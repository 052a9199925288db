// `opsctl export --format hf` as a user runs it (the real binary), loaded by Hugging Face transformers in a real
// python3 process (scripts/hf_export_check.py): GPT2LMHeadModel's logits equal the engine's to 1e-4 at every
// position of every prompt, and both of transformers' tokenizers give our tokenizer's ids. Bad input is refused
// with what was wrong, and nothing half-written is left behind.

import DataShards
import Engine
import Foundation
import XCTest

@testable import Workers

final class HuggingFaceExportTests: XCTestCase {
    private var root: URL!
    /// The largest |engine - transformers| logit difference accepted (fp32 both; measured ~1e-6 on these models).
    private let logitTolerance: Float = 1e-4

    override func setUp() { root = temporaryDirectory("hf-export") }
    override func tearDown() { try? FileManager.default.removeItem(at: root) }

    private static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    private static let fixtureTokenizer = repository.appendingPathComponent(
        "Tests/DataShardsTests/Fixtures/tokenizer/gpt2-style.tokenizer.json")

    private struct Finished {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    private func run(_ executable: String, _ arguments: [String], input: Data? = nil) throws -> Finished {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("OPS_") }
        environment["HOME"] = root.appendingPathComponent("home").path
        process.environment = environment
        // stderr goes to a file so that neither pipe can fill while the other is drained.
        let errorFile = root.appendingPathComponent("stderr-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        let (stdin, stdout) = (Pipe(), Pipe())
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = try FileHandle(forWritingTo: errorFile)
        try process.run()
        stdin.fileHandleForWriting.write(input ?? Data())
        try stdin.fileHandleForWriting.close()
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let errors = try Data(contentsOf: errorFile)
        try FileManager.default.removeItem(at: errorFile)
        return Finished(
            status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
            stderr: String(decoding: errors, as: UTF8.self))
    }

    private func opsctl(_ arguments: [String]) throws -> Finished {
        try run(try opsctlBinaryPath(besides: Self.self), arguments)
    }

    /// What transformers computes for each prompt (scripts/hf_export_check.py).
    private struct Transformers: Decodable {
        struct Result: Decodable {
            var ids: [UInt32]
            var autoIds: [UInt32]
            var logits: [[Float]]
        }
        var results: [Result]
        var tiedHead: Bool
    }

    private func transformers(_ directory: URL, prompts: [String]) throws -> Transformers {
        let script = Self.repository.appendingPathComponent("scripts/hf_export_check.py").path
        let finished = try run(
            "/usr/bin/env", ["python3", script, directory.path], input: try JSONEncoder().encode(prompts))
        guard finished.status == 0 else {
            XCTFail(
                "transformers could not load the export (install with scripts/install-test-deps.sh): \(finished.stderr)"
            )
            throw CocoaError(.fileReadUnknown)
        }
        return try JSONDecoder().decode(Transformers.self, from: Data(finished.stdout.utf8))
    }

    /// A weights checkpoint of a model whose every tensor (biases and LayerNorm gains too) holds distinct values.
    private func checkpoint(_ config: GPTConfig, name: String) throws -> (GPTModel, String) {
        let model = try GPTModel(config: config, seed: 5)
        // Deterministic noise of about ±0.05 on every parameter.
        let noise = (0..<model.parameterCount).map { Float(sin(Double($0) * 12.9898 + 0.5) * 0.05) }
        try model.setParameterVector(zip(model.parameterVector(), noise).map { $0 + $1 })
        let path = root.appendingPathComponent("\(name).safetensors").path
        try model.save(to: path, step: 12)
        return (model, path)
    }

    /// Transformers' ids equal `expectedIDs` and its logits equal the engine's at every position.
    private func assertSameComputation(
        _ hf: Transformers, model: GPTModel, prompts: [String], expectedIDs: (String) -> [UInt32]
    ) throws {
        XCTAssertTrue(hf.tiedHead, "lm_head is tied to wte")
        var largest: Float = 0
        for (prompt, result) in zip(prompts, hf.results) {
            XCTAssertEqual(result.ids, expectedIDs(prompt), "tokenizer.json ids of \(prompt)")
            XCTAssertEqual(result.autoIds, expectedIDs(prompt), "AutoTokenizer ids of \(prompt)")
            largest = max(largest, try assertLogits(model, ids: result.ids, equal: result.logits, prompt))
        }
        print("largest |engine - transformers| logit difference: \(largest)")
    }

    /// The engine's logits after each prefix of `ids` equal `theirs` (one row per position); the largest difference.
    private func assertLogits(_ model: GPTModel, ids: [UInt32], equal theirs: [[Float]], _ label: String) throws
        -> Float
    {
        XCTAssertEqual(theirs.count, ids.count, label)
        var largest: Float = 0
        for position in ids.indices where position < theirs.count {
            let engine = try model.nextTokenLogits(context: ids[0...position].map { Int32($0) })
            XCTAssertEqual(theirs[position].count, engine.count)
            let difference = zip(engine, theirs[position]).map { abs($0 - $1) }.max() ?? .infinity
            largest = max(largest, difference)
            XCTAssertLessThanOrEqual(difference, logitTolerance, "\(label) at position \(position)")
        }
        return largest
    }

    func testTransformersComputesTheEngineLogitsAndOurTokenIDs() throws {
        let tokenizer = try Tokenizer.load(path: Self.fixtureTokenizer.path)
        let config = GPTConfig(
            vocabularySize: tokenizer.vocabularySize, contextLength: 32, layers: 2, heads: 2, width: 16)
        let (model, path) = try checkpoint(config, name: "bpe")
        let out = root.appendingPathComponent("gpt2-out")
        let exported = try opsctl([
            "export", "--checkpoint", path, "--tokenizer", Self.fixtureTokenizer.path, "--format", "hf", out.path,
        ])
        XCTAssertEqual(exported.status, 0, exported.stderr)
        XCTAssertTrue(exported.stdout.contains("exported step 12"), exported.stdout)
        XCTAssertEqual(
            Set(try FileManager.default.contentsOfDirectory(atPath: out.path)),
            ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"])
        let prompts = ["Hello world", "the cat sat on the mat.", "x", "ab<|endoftext|>12  é"]
        let hf = try transformers(out, prompts: prompts)
        try assertSameComputation(hf, model: model, prompts: prompts) { tokenizer.encode($0) }
        XCTAssertTrue(hf.results[3].ids.contains(311), "<|endoftext|> is one special token")
    }

    func testAByteLevelModelExportsWithoutATokenizer() throws {
        let config = GPTConfig(vocabularySize: 256, contextLength: 24, layers: 1, heads: 4, width: 16, mlpWidth: 40)
        let (model, path) = try checkpoint(config, name: "bytes")
        let out = root.appendingPathComponent("bytes-out")
        let exported = try opsctl(["export", "--checkpoint", path, out.path])
        XCTAssertEqual(exported.status, 0, exported.stderr)
        let prompts = ["the cat ", "\u{00}\u{7f} ü€"]
        try assertSameComputation(try transformers(out, prompts: prompts), model: model, prompts: prompts) {
            Array($0.utf8).map(UInt32.init)
        }
    }

    /// The other direction: a directory `GPT2LMHeadModel.save_pretrained` wrote, as `initFrom: {huggingFace}` reads
    /// it, computes transformers' logits in the engine.
    func testADirectorySavedByTransformersIsImportedWithItsLogits() throws {
        let out = root.appendingPathComponent("saved-by-transformers")
        let ids: [[UInt32]] = [[1, 2, 3, 299, 0], [42], Array(0..<16)]
        let script = Self.repository.appendingPathComponent("scripts/hf_gpt2_reference.py").path
        let sizes = ["--vocab", "300", "--context", "16", "--width", "16", "--layers", "2", "--heads", "2"]
        let saved = try run(
            "/usr/bin/env", ["python3", script, out.path] + sizes, input: try JSONEncoder().encode(ids))
        XCTAssertEqual(saved.status, 0, "transformers (scripts/install-test-deps.sh installs it): \(saved.stderr)")
        struct Reference: Decodable { var logits: [[[Float]]] }
        let reference = try JSONDecoder().decode(Reference.self, from: Data(saved.stdout.utf8))
        let model = try HuggingFaceGPT2.loadModel(directory: out.path)
        XCTAssertEqual(model.config, GPTConfig(vocabularySize: 300, contextLength: 16, layers: 2, heads: 2, width: 16))
        var largest: Float = 0
        for (row, logits) in zip(ids, reference.logits) {
            largest = max(largest, try assertLogits(model, ids: row, equal: logits, "\(row)"))
        }
        print("largest |engine - transformers| logit difference after import: \(largest)")
    }

    func testBadInputIsRefusedNamingWhatWasWrongAndNothingIsHalfWritten() throws {
        let (_, bpe) = try checkpoint(
            GPTConfig(vocabularySize: 312, contextLength: 8, layers: 1, heads: 1, width: 4), name: "bpe")
        let (_, windowed) = try checkpoint(
            GPTConfig(vocabularySize: 256, contextLength: 8, layers: 1, heads: 1, width: 4, slidingWindow: 3),
            name: "windowed")
        let foreign = root.appendingPathComponent("foreign.safetensors").path
        try Safetensors.write([NamedTensor(name: "w", shape: [2], values: [1, 2])], metadata: [:], to: foreign)
        let out = root.appendingPathComponent("out")
        let cases: [([String], String)] = [
            (["--checkpoint", root.appendingPathComponent("absent.safetensors").path], "no checkpoint file there"),
            (["--checkpoint", foreign], "not a checkpoint of the engine's GPT"),
            (["--checkpoint", windowed], "slidingWindow of 3"),
            (["--checkpoint", bpe], "pass --tokenizer"),
            (["--checkpoint", bpe, "--tokenizer", foreign], "--tokenizer \(foreign)"),
        ]
        for (arguments, expected) in cases {
            let finished = try opsctl(["export"] + arguments + [out.path])
            XCTAssertEqual(finished.status, 1, "\(arguments)")
            XCTAssertTrue(finished.stderr.contains(expected), "\(arguments): \(finished.stderr)")
        }
        XCTAssertEqual(try opsctl(["export", "--checkpoint", bpe, "--format", "onnx", out.path]).status, 2)
        XCTAssertEqual(try opsctl(["export", "--checkpoint", bpe, "--job", "pre", out.path]).status, 2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "nothing is written for bad input")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: root.path).filter { $0.hasPrefix(".") }
        XCTAssertEqual(leftovers, [], "no temporary directory is left behind")

        // A non-empty OUT is kept as it was without --force, and replaced whole with it.
        let (_, bytes) = try checkpoint(
            GPTConfig(vocabularySize: 256, contextLength: 8, layers: 1, heads: 1, width: 4), name: "bytes")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: out.appendingPathComponent("notes.txt"))
        let refused = try opsctl(["export", "--checkpoint", bytes, out.path])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("exists and is not empty; pass --force"), refused.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path), ["notes.txt"])
        let forced = try opsctl(["export", "--checkpoint", bytes, "--force", out.path])
        XCTAssertEqual(forced.status, 0, forced.stderr)
        XCTAssertEqual(
            Set(try FileManager.default.contentsOfDirectory(atPath: out.path)),
            ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.path).filter { $0.hasPrefix(".") }, [])
    }
}

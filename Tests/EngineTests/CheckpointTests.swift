import Foundation
import XCTest

@testable import Engine

final class CheckpointTests: XCTestCase {
    let config = GPTConfig(vocabularySize: 37, contextLength: 10, layers: 2, heads: 2, width: 8, slidingWindow: 4)

    /// Runs `python3 -c script args...`; returns stdout. Installs safetensors/numpy with pip if absent
    /// (the CI installs them through scripts/install-test-deps.sh).
    static func python(_ script: String, _ arguments: [String]) throws -> String {
        func run(_ args: [String]) throws -> (Int32, String, String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3"] + args
            let out = Pipe()
            let err = Pipe()
            process.standardOutput = out
            process.standardError = err
            try process.run()
            let stdout = out.fileHandleForReading.readDataToEndOfFile()
            let stderr = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return (
                process.terminationStatus, String(decoding: stdout, as: UTF8.self),
                String(decoding: stderr, as: UTF8.self)
            )
        }
        if try run(["-c", "import safetensors, numpy"]).0 != 0 {
            let install = try run(["-m", "pip", "install", "-q", "--disable-pip-version-check", "safetensors", "numpy"])
            XCTAssertEqual(install.0, 0, "pip install safetensors numpy failed: \(install.2)")
        }
        let (status, stdout, stderr) = try run(["-c", script] + arguments)
        XCTAssertEqual(status, 0, "python3 failed: \(stderr)")
        return stdout
    }

    func testPythonSafetensorsOpensCheckpointWithExpectedTensors() throws {
        let dir = try temporaryDirectory("python")
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try GPTModel(config: config, seed: 4)
        let trainer = try Trainer(
            model: model, optimizer: AdamWConfig(), schedule: LearningRateSchedule(peak: 1e-3, totalSteps: 5))
        var random = TestRandom(2)
        _ = try trainer.trainStep(batch: random.tokens(2 * 11, vocabulary: 37), batchSize: 2)
        let path = dir.appendingPathComponent("model.safetensors").path
        try trainer.save(to: path, dataState: #"{"shard":3,"offset":1234}"#)

        let script = """
            import json, sys
            import numpy as np
            from safetensors import safe_open
            from safetensors.numpy import load_file
            tensors = load_file(sys.argv[1])
            with safe_open(sys.argv[1], framework="numpy") as f:
                meta = f.metadata()
            print(json.dumps({
                "shapes": {k: list(v.shape) for k, v in tensors.items()},
                "dtypes": sorted({str(v.dtype) for v in tensors.values()}),
                "metadata": meta,
                "qkv_sum": float(np.sum(tensors["blocks.1.attn.qkv.weight"].astype(np.float64))),
                "ln_f_first": float(tensors["ln_f.weight"][0]),
            }))
            """
        let output = try CheckpointTests.python(script, [path])
        let object = try JSONSerialization.jsonObject(with: Data(output.utf8)) as! [String: Any]
        let shapes = object["shapes"] as! [String: [Int]]
        var expected: [String: [Int]] = [:]
        for slot in model.tensors {
            expected[slot.name] = slot.shape
            expected["optimizer.m." + slot.name] = slot.shape
            expected["optimizer.v." + slot.name] = slot.shape
        }
        XCTAssertEqual(shapes, expected)
        XCTAssertEqual(shapes["tok_emb.weight"], [37, 8])
        XCTAssertEqual(shapes["blocks.0.attn.qkv.weight"], [24, 8])
        XCTAssertEqual(shapes["blocks.1.mlp.proj.weight"], [8, 32])
        XCTAssertEqual(object["dtypes"] as! [String], ["float32"])
        let meta = object["metadata"] as! [String: String]
        XCTAssertEqual(meta["step"], "1")
        XCTAssertEqual(meta["data_state"], #"{"shard":3,"offset":1234}"#)
        let storedConfig = try JSONDecoder().decode(GPTConfig.self, from: Data(meta["config"]!.utf8))
        XCTAssertEqual(storedConfig, config)
        let qkv = model.tensor(named: "blocks.1.attn.qkv.weight")!.reduce(0.0) { $0 + Double($1) }
        XCTAssertEqual(object["qkv_sum"] as! Double, qkv, accuracy: 1e-9)
        XCTAssertEqual(object["ln_f_first"] as! Double, Double(model.tensor(named: "ln_f.weight")![0]))
    }

    func testBFloat16CheckpointRoundTripsWithinBF16Precision() throws {
        let dir = try temporaryDirectory("bf16")
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try GPTModel(config: config, seed: 8)
        let path = dir.appendingPathComponent("bf16.safetensors").path
        try model.save(to: path, step: 7, weightsAs: .bfloat16)
        let fp32Path = dir.appendingPathComponent("fp32.safetensors").path
        try model.save(to: fp32Path, step: 7)
        let checkpoint = try Checkpoint(path: path)
        func payload(_ c: Checkpoint) -> Int { c.file.entries.values.reduce(0) { $0 + $1.byteRange.count } }
        XCTAssertEqual(2 * payload(checkpoint), payload(try Checkpoint(path: fp32Path)), "bf16 halves the tensor bytes")
        XCTAssertEqual(checkpoint.file.entries["tok_emb.weight"]?.dtype, .bfloat16)
        XCTAssertFalse(checkpoint.hasOptimizerState)
        XCTAssertThrowsError(try checkpoint.loadTrainer())
        let loaded = try checkpoint.loadModel()
        let a = model.parameterVector()
        let b = loaded.parameterVector()
        for i in 0..<a.count {
            XCTAssertEqual(b[i], a[i], accuracy: abs(a[i]) / 128 + 1e-30)
        }
        // Python's safetensors parses the BF16 file too (numpy has no bf16 type; torch, if present, reads values).
        let script = """
            import json, sys
            from safetensors import safe_open
            with safe_open(sys.argv[1], framework="numpy") as f:
                keys = sorted(f.keys())
                meta = f.metadata()
            total = None
            try:
                import torch
                with safe_open(sys.argv[1], framework="pt") as f:
                    t = f.get_tensor("tok_emb.weight")
                    assert t.dtype == torch.bfloat16
                    total = float(t.float().double().sum())
            except ImportError:
                pass
            print(json.dumps({"keys": keys, "step": meta["step"], "total": total}))
            """
        let output = try CheckpointTests.python(script, [path])
        let object = try JSONSerialization.jsonObject(with: Data(output.utf8)) as! [String: Any]
        XCTAssertEqual(object["keys"] as! [String], model.tensors.map(\.name).sorted())
        XCTAssertEqual(object["step"] as! String, "7")
        if let total = object["total"] as? Double {
            XCTAssertEqual(
                total, loaded.tensor(named: "tok_emb.weight")!.reduce(0.0) { $0 + Double($1) }, accuracy: 1e-6)
        }
        // Exactly representable values survive unchanged.
        XCTAssertEqual(loaded.tensor(named: "ln_f.weight"), model.tensor(named: "ln_f.weight"))
    }

    func testBFloat16Conversion() {
        XCTAssertEqual(BFloat16.fromFloat(1), 0x3F80)
        XCTAssertEqual(BFloat16.toFloat(0x3F80), 1)
        XCTAssertEqual(BFloat16.toFloat(BFloat16.fromFloat(-2.5)), -2.5)
        // Round to nearest even: 1 + 2^-8 is halfway between 1 and 1 + 2^-7 and rounds to 1.
        XCTAssertEqual(BFloat16.toFloat(BFloat16.fromFloat(1 + 0x1p-8)), 1)
        XCTAssertEqual(BFloat16.toFloat(BFloat16.fromFloat(1 + 0x1.8p-8)), 1 + 0x1p-7)
        XCTAssertTrue(BFloat16.toFloat(BFloat16.fromFloat(.nan)).isNaN)
        XCTAssertEqual(BFloat16.toFloat(BFloat16.fromFloat(.infinity)), .infinity)
        let values: [Float] = [0.1, -3.14159, 1e-20, 65504]
        let decoded = try! Safetensors.decode(Safetensors.encode(values, as: .bfloat16), as: .bfloat16)
        for (x, y) in zip(values, decoded) { XCTAssertEqual(y, x, accuracy: abs(x) / 128) }
    }

    func testMismatchedAndCorruptCheckpointsAreRejectedWithClearErrors() throws {
        let dir = try temporaryDirectory("bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("m.safetensors").path
        try GPTModel(config: config, seed: 1).save(to: path)
        var other = config
        other.width = 16
        let otherModel = try GPTModel(config: other, seed: 1)
        XCTAssertThrowsError(try otherModel.load(from: Checkpoint(path: path))) { error in
            XCTAssertTrue("\(error)".contains("does not match"), "\(error)")
        }
        let garbage = dir.appendingPathComponent("garbage.safetensors").path
        try Data([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]).write(to: URL(fileURLWithPath: garbage))
        XCTAssertThrowsError(try Checkpoint(path: garbage)) { error in
            XCTAssertTrue("\(error)".contains(garbage), "\(error)")
        }
        XCTAssertThrowsError(try Checkpoint(path: dir.appendingPathComponent("absent").path)) { error in
            XCTAssertTrue("\(error)".contains("cannot read"), "\(error)")
        }
        // Writing into a directory that does not exist fails with the path, and leaves nothing behind.
        let missingDir = dir.appendingPathComponent("no/such/dir/m.safetensors").path
        XCTAssertThrowsError(try GPTModel(config: config, seed: 1).save(to: missingDir)) { error in
            XCTAssertTrue("\(error)".contains(missingDir), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: missingDir + ".partial"))
        // A truncated file (crash mid-copy) is refused, not half-loaded.
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let truncated = dir.appendingPathComponent("truncated.safetensors").path
        try data.prefix(data.count - 100).write(to: URL(fileURLWithPath: truncated))
        XCTAssertThrowsError(try Checkpoint(path: truncated))
    }
}

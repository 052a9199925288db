import Foundation
import XCTest

@testable import Engine

/// Issue 22.5: crafted safetensors headers are refused with the file and tensor named (the reference
/// implementation refuses each of them too) instead of trapping; non-finite weights are refused at load; a
/// diverging step stops before it touches the weights.
final class CheckpointValidationTests: XCTestCase {
    let config = GPTConfig(vocabularySize: 37, contextLength: 10, layers: 2, heads: 2, width: 8, slidingWindow: 4)

    /// A safetensors file: 8-byte header length (declared, or the real one), the header, `dataBytes` zeros.
    func craft(_ dir: URL, _ name: String, header: String, dataBytes: Int, declaredLength: UInt64? = nil) throws
        -> String
    {
        var length = (declaredLength ?? UInt64(header.utf8.count)).littleEndian
        var bytes = Data(bytes: &length, count: 8)
        bytes.append(Data(header.utf8))
        bytes.append(Data(count: dataBytes))
        let path = dir.appendingPathComponent(name).path
        try bytes.write(to: URL(fileURLWithPath: path))
        return path
    }

    func testCraftedHeadersAreRefusedNamingFileAndTensor() throws {
        let dir = try temporaryDirectory("crafted")
        defer { try? FileManager.default.removeItem(at: dir) }
        func tensor(_ shape: String, _ offsets: String, dtype: String = "F32") -> String {
            "{\"w\": {\"dtype\": \"\(dtype)\", \"shape\": \(shape), \"data_offsets\": \(offsets)}}"
        }
        // (file, expected tensor in the error or nil for a file-level error). Each trapped or was accepted before.
        let cases: [(String, String?)] = [
            (
                try craft(
                    dir, "product-overflow", header: tensor("[4294967296, 4294967296, 16]", "[0, 16]"), dataBytes: 16),
                "w"
            ),
            (
                try craft(dir, "bytes-overflow", header: tensor("[2305843009213693952, 2]", "[0, 16]"), dataBytes: 16),
                "w"
            ),
            (try craft(dir, "negative-dims", header: tensor("[-1, -4]", "[0, 16]"), dataBytes: 16), "w"),
            (try craft(dir, "reversed-offsets", header: tensor("[2]", "[8, 0]"), dataBytes: 16), "w"),
            (try craft(dir, "beyond-data", header: tensor("[4]", "[0, 16]"), dataBytes: 8), "w"),
            (try craft(dir, "wrong-size", header: tensor("[3]", "[0, 16]"), dataBytes: 16), "w"),
            (try craft(dir, "fractional-dim", header: tensor("[2.5]", "[0, 10]"), dataBytes: 10), "w"),
            (try craft(dir, "huge-dim", header: tensor("[18446744073709551615]", "[0, 4]"), dataBytes: 4), "w"),
            (
                try craft(
                    dir, "overlap",
                    header:
                        "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}, \"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}",
                    dataBytes: 12), "w"
            ),
            (try craft(dir, "trailing-data", header: tensor("[2]", "[0, 8]"), dataBytes: 16), nil),
            (
                try craft(
                    dir, "header-length-max", header: tensor("[2]", "[0, 8]"), dataBytes: 8, declaredLength: .max), nil
            ),
            (
                try craft(
                    dir, "header-length-beyond-file", header: tensor("[2]", "[0, 8]"), dataBytes: 8,
                    declaredLength: 1 << 40), nil
            ),
        ]
        for (path, tensorName) in cases {
            XCTAssertThrowsError(try Safetensors.File(path: path), path) { error in
                guard let error = error as? EngineError else { return XCTFail("\(error)") }
                switch (error, tensorName) {
                case (.invalidTensor(let file, let name, _), let expected?):
                    XCTAssertEqual(file, path)
                    XCTAssertEqual(name, expected)
                case (.invalidCheckpoint(let file, _), nil):
                    XCTAssertEqual(file, path)
                default:
                    XCTFail("\(path): \(error)")
                }
                XCTAssertTrue("\(error)".contains(path), "\(error)")
            }
            // A Checkpoint (what opsctl apply and the workers open) refuses it the same way.
            XCTAssertThrowsError(try Checkpoint(path: path))
        }
        // The reference implementation refuses every one of them and opens a file we write.
        let good = dir.appendingPathComponent("good.safetensors").path
        try GPTModel(config: config, seed: 3).save(to: good) // fp32: numpy has no bf16
        XCTAssertNoThrow(try Checkpoint(path: good))
        // Valid safetensors, but a dtype the engine does not read (the reference opens it).
        let int64 = try craft(dir, "dtype", header: tensor("[2]", "[0, 16]", dtype: "I64"), dataBytes: 16)
        XCTAssertThrowsError(try Safetensors.File(path: int64)) { error in
            guard case .invalidTensor(int64, "w", let reason)? = error as? EngineError else {
                return XCTFail("\(error)")
            }
            XCTAssertTrue(reason.contains("I64"), reason)
        }
        let script = """
            import json, sys
            from safetensors import safe_open
            verdicts = []
            for path in sys.argv[1:]:
                try:
                    with safe_open(path, framework="numpy") as f:
                        for k in f.keys(): f.get_tensor(k)
                    verdicts.append("ok")
                except Exception as e:
                    verdicts.append("refused")
            print(json.dumps(verdicts))
            """
        let output = try CheckpointTests.python(script, cases.map(\.0) + [good])
        let verdicts = try JSONDecoder().decode([String].self, from: Data(output.utf8))
        XCTAssertEqual(verdicts, Array(repeating: "refused", count: cases.count) + ["ok"])
    }

    func testNonFiniteWeightsAreRefusedAtLoadNamingTheTensor() throws {
        let dir = try temporaryDirectory("nonfinite")
        defer { try? FileManager.default.removeItem(at: dir) }
        for (value, dtype) in [(Float.nan, TensorDType.float32), (.infinity, .bfloat16), (-.infinity, .float32)] {
            let model = try GPTModel(config: config, seed: 5)
            let slot = model.tensors.first { $0.name == "blocks.1.mlp.proj.weight" }!
            model.parameters[slot.offset + 7] = value
            model.parameters[slot.offset + 9] = value
            let path = dir.appendingPathComponent("m-\(dtype.rawValue)-\(value).safetensors").path
            try model.save(to: path, weightsAs: dtype)
            let checkpoint = try Checkpoint(path: path) // the header is fine
            XCTAssertThrowsError(try checkpoint.loadModel()) { error in
                guard case .nonFiniteTensor(path, "blocks.1.mlp.proj.weight", 2, 7, let first)? = error as? EngineError
                else {
                    return XCTFail("\(error)")
                }
                XCTAssertEqual(first.bitPattern, value.isNaN ? first.bitPattern : value.bitPattern)
                XCTAssertEqual(first.isNaN, value.isNaN)
                XCTAssertTrue("\(error)".contains("diverged"), "\(error)")
            }
        }
    }

    func testDivergingStepStopsBeforeTheUpdate() throws {
        // A learning rate of 1e30 blows the weights up within a few steps.
        let model = try GPTModel(config: config, seed: 6)
        let trainer = try Trainer(
            model: model, optimizer: AdamWConfig(weightDecay: 0, maxGradientNorm: nil),
            schedule: LearningRateSchedule(peak: 1e30, totalSteps: 50))
        var random = TestRandom(9)
        var diverged: EngineError?
        var before: [UInt32] = []
        for _ in 0..<50 {
            before = model.parameters.map(\.bitPattern)
            do {
                _ = try trainer.trainStep(batch: random.tokens(2 * 11, vocabulary: 37), batchSize: 2)
            } catch {
                diverged = error
                break
            }
        }
        guard case .diverged(let step, let loss, let norm, _)? = diverged else {
            return XCTFail("never diverged: \(String(describing: diverged))")
        }
        XCTAssertFalse(loss.isFinite && norm.isFinite)
        XCTAssertEqual(step, trainer.step + 1, "the failed step is not counted")
        XCTAssertEqual(model.parameters.map(\.bitPattern), before, "the weights are those before the failed step")
        XCTAssertTrue("\(diverged!)".contains("at step \(step)"), "\(diverged!)")
        XCTAssertTrue("\(diverged!)".contains("Lower the learning rate"), "\(diverged!)")
    }
}

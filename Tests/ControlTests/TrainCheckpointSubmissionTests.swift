import APITypes
import Engine
import Foundation
import TestSupport
import XCTest

@testable import Control

/// Issue 22.5 at `opsctl apply`: a `{path}` checkpoint is opened as the worker will open it, so a crafted header
/// (which passed apply and then trapped the worker, and its retry the next one) is refused at submission with
/// the file and tensor named.
final class TrainCheckpointSubmissionTests: XCTestCase {
    private var root: TemporaryDirectory!
    override func setUpWithError() throws { root = try TemporaryDirectory.make(prefix: "train-checkpoint-") }
    override func tearDown() { root?.remove() }

    private let model = TrainModelSettings(vocabularySize: 37, contextLength: 10, layers: 2, heads: 2, width: 8)

    private func refusal(_ path: String, model: TrainModelSettings?, field: String = "spec.eval.checkpoint") -> (
        field: String, message: String
    )? {
        do {
            try TrainJobPlanner.checkCheckpointFile(path, field: field, model: model)
            return nil
        } catch StoreError.invalid(let field, let message) {
            return (field, message)
        } catch {
            XCTFail("\(error)")
            return nil
        }
    }

    private func safetensors(_ name: String, header: String, dataBytes: Int) throws -> String {
        var length = UInt64(header.utf8.count).littleEndian
        var bytes = Data(bytes: &length, count: 8)
        bytes.append(Data(header.utf8))
        bytes.append(Data(count: dataBytes))
        let path = root.path + "/" + name
        try bytes.write(to: URL(fileURLWithPath: path))
        return path
    }

    func testCraftedAndForeignFilesAreRefusedAtSubmission() throws {
        let crafted = try safetensors(
            "crafted.safetensors",
            header:
                #"{"tok_emb.weight": {"dtype": "F32", "shape": [4294967296, 4294967296, 16], "data_offsets": [0, 16]}, "__metadata__": {"format": "llm-ops-gpt/1"}}"#,
            dataBytes: 16)
        for (field, wanted) in [("spec.eval.checkpoint", nil), ("spec.train.initFrom", model)]
            as [(String, TrainModelSettings?)]
        {
            let refused = try XCTUnwrap(refusal(crafted, model: wanted, field: field), field)
            XCTAssertEqual(refused.field, field + ".path")
            XCTAssertTrue(
                refused.message.contains(crafted) && refused.message.contains("tok_emb.weight")
                    && refused.message.contains("overflows"),
                refused.message)
        }
        // Valid safetensors, but not a checkpoint of this system.
        let foreign = try safetensors(
            "foreign.safetensors", header: #"{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}"#,
            dataBytes: 8)
        XCTAssertTrue(try XCTUnwrap(refusal(foreign, model: nil)).message.contains("llm-ops-gpt/1"))
        XCTAssertEqual(
            refusal(root.path + "/absent.safetensors", model: nil)?.message,
            "no checkpoint file at \(root.path)/absent.safetensors")

        // A real checkpoint passes, and its model must match an initFrom's.
        let good = root.path + "/good.safetensors"
        try GPTModel(config: GPTConfig(vocabularySize: 37, contextLength: 10, layers: 2, heads: 2, width: 8), seed: 1)
            .save(to: good)
        XCTAssertNil(refusal(good, model: nil))
        XCTAssertNil(refusal(good, model: model, field: "spec.train.initFrom"))
        var wider = model
        wider.width = 16
        let mismatch = try XCTUnwrap(refusal(good, model: wider, field: "spec.train.initFrom"))
        XCTAssertEqual(mismatch.field, "spec.train.initFrom")
        XCTAssertTrue(mismatch.message.contains("use the same spec.train.model"), mismatch.message)
    }
}

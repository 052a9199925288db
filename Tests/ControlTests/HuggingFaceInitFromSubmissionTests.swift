import APITypes
import Engine
import Foundation
import TestSupport
import XCTest

@testable import Control

/// `initFrom: {huggingFace: DIR}` at `opsctl apply`: DIR's config.json is read as the worker will read it, so a
/// directory that is missing, not GPT-2, or of another model than the spec's is refused with the field named (422)
/// instead of failing on a worker later.
final class HuggingFaceInitFromSubmissionTests: XCTestCase {
    private var root: TemporaryDirectory!
    override func setUpWithError() throws { root = try TemporaryDirectory.make(prefix: "hf-submission-") }
    override func tearDown() { root?.remove() }

    private let model = TrainModelSettings(vocabularySize: 37, contextLength: 10, layers: 2, heads: 2, width: 8)

    private func refusal(_ directory: String, model: TrainModelSettings) -> (field: String, message: String)? {
        do {
            try TrainJobPlanner.checkHuggingFaceDirectory(directory, field: "spec.train.initFrom", model: model)
            return nil
        } catch StoreError.invalid(let field, let message) {
            return (field, message)
        } catch {
            XCTFail("\(error)")
            return nil
        }
    }

    func testADirectoryThatDoesNotFitTheSpecIsRefusedAtSubmission() throws {
        let directory = root.path + "/gpt2"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let config = GPTConfig(vocabularySize: 37, contextLength: 10, layers: 2, heads: 2, width: 8)
        try HuggingFaceGPT2.write(
            try GPTModel(config: config, seed: 1), step: 3, endOfTextTokenID: nil, into: directory)
        XCTAssertNil(refusal(directory, model: model), "the spec's own model is accepted")

        var wider = model
        wider.width = 16
        let mismatch = try XCTUnwrap(refusal(directory, model: wider))
        XCTAssertEqual(mismatch.field, "spec.train.initFrom")
        XCTAssertTrue(mismatch.message.contains("the Hugging Face model \(directory) has model"), mismatch.message)

        let absent = try XCTUnwrap(refusal(root.path + "/absent", model: model))
        XCTAssertEqual(absent.field, "spec.train.initFrom.huggingFace")
        XCTAssertTrue(absent.message.contains("no such directory"), absent.message)

        try Data(#"{"model_type": "llama", "vocab_size": 37}"#.utf8)
            .write(to: URL(fileURLWithPath: directory + "/config.json"))
        let llama = try XCTUnwrap(refusal(directory, model: model))
        XCTAssertTrue(llama.message.contains("model_type is \"llama\""), llama.message)

        try HuggingFaceGPT2.write(
            try GPTModel(config: config, seed: 1), step: 3, endOfTextTokenID: nil, into: directory)
        try FileManager.default.removeItem(atPath: directory + "/model.safetensors")
        let noWeights = try XCTUnwrap(refusal(directory, model: model))
        XCTAssertTrue(noWeights.message.contains("no model.safetensors"), noWeights.message)
    }
}

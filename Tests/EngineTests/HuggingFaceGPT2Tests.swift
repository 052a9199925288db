import Foundation
import XCTest

@testable import Engine

/// The engine's model as a Hugging Face GPT-2 directory and back (issue 18, "Export to the ecosystem"): every
/// tensor survives the renaming and Conv1D transposition bit for bit, and a directory the engine would compute
/// differently from transformers is refused with the field named. (transformers itself loads the export in
/// WorkersTests.HuggingFaceExportTests.)
final class HuggingFaceGPT2Tests: XCTestCase {
    let config = GPTConfig(vocabularySize: 61, contextLength: 12, layers: 2, heads: 2, width: 8, mlpWidth: 24)

    /// A model whose every tensor (biases and LayerNorm gains included) holds distinct values.
    func perturbedModel() throws -> GPTModel {
        let model = try GPTModel(config: config, seed: 3)
        var random = TestRandom(11)
        let noise = random.floats(model.parameterCount, scale: 0.05)
        try model.setParameterVector(zip(model.parameterVector(), noise).map { $0 + $1 })
        return model
    }

    func testExportThenImportGivesTheSameWeightsAndLogits() throws {
        let dir = try temporaryDirectory("hf-roundtrip")
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try perturbedModel()
        try HuggingFaceGPT2.write(model, step: 9, endOfTextTokenID: 60, into: dir.path)

        let file = try Safetensors.File(path: dir.appendingPathComponent("model.safetensors").path)
        XCTAssertEqual(file.metadata["format"], "pt", "from_pretrained refuses safetensors without format pt")
        XCTAssertEqual(file.entries["transformer.h.1.attn.c_attn.weight"]?.shape, [8, 24], "Conv1D is [in, out]")
        XCTAssertEqual(file.entries["transformer.h.0.mlp.c_proj.weight"]?.shape, [24, 8])
        XCTAssertNil(file.entries["lm_head.weight"], "the head is tied, as save_pretrained writes it")
        XCTAssertEqual(file.entries.count, 4 + 12 * config.layers)
        // c_attn.weight[i][j] is the engine's qkv.weight[j][i].
        let qkv = try XCTUnwrap(model.tensor(named: "blocks.1.attn.qkv.weight"))
        let cAttn = try file.values("transformer.h.1.attn.c_attn.weight")
        XCTAssertEqual(cAttn[2 * 24 + 17], qkv[17 * 8 + 2])

        let configJSON =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: dir.appendingPathComponent("config.json"))) as? [String: Any]
        XCTAssertEqual(configJSON?["n_inner"] as? Int, 24)
        XCTAssertEqual(configJSON?["eos_token_id"] as? Int, 60)
        XCTAssertEqual(configJSON?["activation_function"] as? String, "gelu_new")
        XCTAssertEqual(configJSON?["layer_norm_epsilon"] as? Double, 1e-5, "as transformers writes it")

        let imported = try HuggingFaceGPT2.loadModel(directory: dir.path)
        XCTAssertEqual(imported.config, config)
        XCTAssertEqual(imported.parameterVector(), model.parameterVector())
        let context: [Int32] = [5, 17, 60, 0, 33]
        XCTAssertEqual(try imported.nextTokenLogits(context: context), try model.nextTokenLogits(context: context))
    }

    /// The hub's `gpt2` files come from `GPT2Model` (no `transformer.` prefix) and may carry `lm_head.weight`.
    func testImportAcceptsUnprefixedNamesAndATiedHeadButRefusesAnUntiedOne() throws {
        let dir = try temporaryDirectory("hf-unprefixed")
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try perturbedModel()
        try HuggingFaceGPT2.write(model, step: 0, endOfTextTokenID: nil, into: dir.path)
        let weights = dir.appendingPathComponent("model.safetensors").path
        let file = try Safetensors.File(path: weights)
        var tensors = try file.entries.keys.sorted().map { name in
            NamedTensor(
                name: String(name.dropFirst("transformer.".count)), shape: file.entries[name]!.shape,
                values: try file.values(name))
        }
        let wte = try file.values("transformer.wte.weight")
        tensors.append(NamedTensor(name: "lm_head.weight", shape: [61, 8], values: wte))
        try Safetensors.write(tensors, metadata: ["format": "pt"], to: weights)
        XCTAssertEqual(try HuggingFaceGPT2.loadModel(directory: dir.path).parameterVector(), model.parameterVector())

        tensors[tensors.count - 1].values[0] += 1
        try Safetensors.write(tensors, metadata: ["format": "pt"], to: weights)
        XCTAssertThrowsError(try HuggingFaceGPT2.loadModel(directory: dir.path)) { error in
            XCTAssertTrue("\(error)".contains("lm_head.weight differs from wte.weight"), "\(error)")
        }
    }

    func testConfigsTheEngineWouldComputeDifferentlyAreRefusedNamingTheField() throws {
        let dir = try temporaryDirectory("hf-refused")
        defer { try? FileManager.default.removeItem(at: dir) }
        try HuggingFaceGPT2.write(try perturbedModel(), step: 0, endOfTextTokenID: nil, into: dir.path)
        let configURL = dir.appendingPathComponent("config.json")
        let original = try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as! [String: Any]
        let cases: [(String, Any, String)] = [
            ("model_type", "llama", "model_type is \"llama\""),
            ("layer_norm_epsilon", 1e-6, "layer_norm_epsilon"),
            ("activation_function", "relu", "activation_function is \"relu\""),
            ("scale_attn_by_inverse_layer_idx", true, "scale_attn_by_inverse_layer_idx"),
            ("tie_word_embeddings", false, "tie_word_embeddings"),
            ("n_head", 3, "width"),
            ("vocab_size", "many", "vocab_size is \"many\""),
        ]
        for (key, value, expected) in cases {
            var changed = original
            changed[key] = value
            try JSONSerialization.data(withJSONObject: changed).write(to: configURL)
            XCTAssertThrowsError(try HuggingFaceGPT2.loadModel(directory: dir.path), key) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(key): \(error)")
            }
        }
        try JSONSerialization.data(withJSONObject: original).write(to: configURL)
        let model = try GPTModel(
            config: GPTConfig(vocabularySize: 61, contextLength: 12, layers: 1, heads: 2, width: 8), seed: 1)
        XCTAssertThrowsError(try HuggingFaceGPT2.load(directory: dir.path, into: model)) { error in
            XCTAssertTrue("\(error)".contains("the model to load into is"), "\(error)")
        }
        try FileManager.default.removeItem(at: dir.appendingPathComponent("model.safetensors"))
        XCTAssertThrowsError(try HuggingFaceGPT2.loadModel(directory: dir.path)) { error in
            XCTAssertTrue("\(error)".contains("no model.safetensors"), "\(error)")
        }
        XCTAssertThrowsError(try HuggingFaceGPT2.loadModel(directory: dir.path + "-absent")) { error in
            XCTAssertTrue("\(error)".contains("no such directory"), "\(error)")
        }
    }

    func testASlidingWindowModelIsNotExported() throws {
        let dir = try temporaryDirectory("hf-window")
        defer { try? FileManager.default.removeItem(at: dir) }
        var windowed = config
        windowed.slidingWindow = 4
        let model = try GPTModel(config: windowed, seed: 1)
        XCTAssertThrowsError(try HuggingFaceGPT2.write(model, step: 0, endOfTextTokenID: nil, into: dir.path)) {
            XCTAssertTrue("\($0)".contains("slidingWindow of 4"), "\($0)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
    }
}

// `config.json` of a Hugging Face GPT-2 (`GPT2Config`) for the engine's `GPTConfig`, and back. The engine's model
// is GPT-2 with fixed choices (LayerNorm epsilon 1e-5, tanh GELU, attention scaled by 1/sqrt(head width), tied
// head, full causal attention), so export writes them and import refuses a file that asks for anything else
// rather than loading weights that would compute other logits.

import Foundation

/// A Hugging Face model directory the engine cannot read or write, and why.
public struct HuggingFaceModelError: Error, CustomStringConvertible, Sendable, Equatable {
    public let path: String
    public let reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "Hugging Face model \(path) is not usable: \(reason)" }
}

public enum HuggingFaceGPT2Config {
    public static let fileName = "config.json"
    /// The engine's `Kernels.layerNormEpsilon` (a Float) as the decimal transformers writes (1e-05, not the
    /// Float's 9.99999974737875e-06).
    static let layerNormEpsilon = Double("\(Kernels.layerNormEpsilon)") ?? 1e-5

    /// config.json for `config`. `endOfTextTokenID` (the tokenizer's `<|endoftext|>`, if it has one) becomes
    /// `bos_token_id`/`eos_token_id`, which `generate()` stops at; `step` is kept as `llm_ops_step` for provenance.
    public static func json(
        for config: GPTConfig, endOfTextTokenID: Int?, step: Int, path: String
    ) throws(HuggingFaceModelError) -> Data {
        if let window = config.slidingWindow {
            throw HuggingFaceModelError(
                path: path,
                reason:
                    "the model attends within a slidingWindow of \(window) positions, which GPT-2 cannot express; export a model trained without slidingWindow"
            )
        }
        let object: [String: Any] = [
            "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2",
            "vocab_size": config.vocabularySize, "n_positions": config.contextLength, "n_ctx": config.contextLength,
            "n_embd": config.width, "n_layer": config.layers, "n_head": config.heads, "n_inner": config.mlpWidth,
            "activation_function": "gelu_new", "layer_norm_epsilon": layerNormEpsilon,
            "scale_attn_weights": true, "scale_attn_by_inverse_layer_idx": false, "reorder_and_upcast_attn": false,
            "tie_word_embeddings": true, "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0,
            "initializer_range": 0.02, "use_cache": true, "torch_dtype": "float32",
            "bos_token_id": endOfTextTokenID.map { $0 as Any } ?? NSNull(),
            "eos_token_id": endOfTextTokenID.map { $0 as Any } ?? NSNull(),
            "llm_ops_step": step,
        ]
        do {
            return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        } catch {
            throw HuggingFaceModelError(path: path, reason: "cannot encode config.json: \(error)")
        }
    }

    /// The engine config of a GPT-2 config.json; every field that would change the computation is checked.
    public static func read(path: String) throws(HuggingFaceModelError) -> GPTConfig {
        func fail(_ reason: String) -> HuggingFaceModelError { HuggingFaceModelError(path: path, reason: reason) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw fail("cannot read \(path) (a Hugging Face model directory holds config.json and model.safetensors)")
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw fail("config.json is not a JSON object")
        }
        let modelType = object["model_type"] as? String
        guard modelType == "gpt2" else {
            throw fail(
                "model_type is \(modelType.map { "\"\($0)\"" } ?? "absent"); only GPT-2 (model_type \"gpt2\") maps onto the engine's model"
            )
        }
        func integer(_ key: String) throws(HuggingFaceModelError) -> Int {
            guard let number = object[key] as? NSNumber, let value = Int(exactly: number.doubleValue), value >= 1
            else { throw fail("config.json field \(key) is \(describe(object[key])); expected a positive integer") }
            return value
        }
        func require(_ key: String, _ ok: Bool, _ expected: String) throws(HuggingFaceModelError) {
            if !ok {
                throw fail(
                    "config.json field \(key) is \(describe(object[key])); the engine computes only \(expected)")
            }
        }
        let activation = object["activation_function"] as? String ?? "gelu_new"
        try require(
            "activation_function", ["gelu_new", "gelu_pytorch_tanh"].contains(activation), "\"gelu_new\" (tanh GELU)")
        // Compared as the Float the kernels use: 1e-05 written by Python is the engine's epsilon.
        let epsilon = (object["layer_norm_epsilon"] as? NSNumber)?.doubleValue ?? layerNormEpsilon
        try require("layer_norm_epsilon", Float(epsilon) == Kernels.layerNormEpsilon, "\(layerNormEpsilon)")
        try require("scale_attn_weights", (object["scale_attn_weights"] as? Bool) ?? true, "true")
        try require(
            "scale_attn_by_inverse_layer_idx", !((object["scale_attn_by_inverse_layer_idx"] as? Bool) ?? false),
            "false")
        try require("tie_word_embeddings", (object["tie_word_embeddings"] as? Bool) ?? true, "true (a tied head)")
        let width = try integer("n_embd")
        let mlpWidth = object["n_inner"] == nil || object["n_inner"] is NSNull ? 4 * width : try integer("n_inner")
        let config = GPTConfig(
            vocabularySize: try integer("vocab_size"), contextLength: try integer("n_positions"),
            layers: try integer("n_layer"), heads: try integer("n_head"), width: width, mlpWidth: mlpWidth)
        do { try config.validate() } catch { throw fail("config.json describes no valid model: \(error)") }
        return config
    }

    private static func describe(_ value: Any?) -> String {
        guard let value, !(value is NSNull) else { return "absent" }
        if let string = value as? String { return "\"\(string)\"" }
        return "\(value)"
    }
}

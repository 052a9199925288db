// The one mapping between the engine's tensor names and Hugging Face transformers' GPT-2 (`GPT2LMHeadModel`).
// Export (`opsctl export --format hf`) and import (`initFrom: {huggingFace: DIR}`) both read it, so a name or a
// transposition is stated once.

/// One engine tensor and its name in a Hugging Face GPT-2 `model.safetensors`.
public struct HuggingFaceGPT2Name: Sendable, Equatable {
    /// The engine's name (`blocks.0.attn.qkv.weight`), as in checkpoints.
    public let engine: String
    /// transformers' name (`transformer.h.0.attn.c_attn.weight`), as `save_pretrained` writes it.
    public let huggingFace: String
    /// GPT-2's linear layers are `Conv1D`: their weight is `[in, out]`, the engine's (PyTorch `Linear`) is
    /// `[out, in]`, so these are transposed on the way out and back.
    public let transposed: Bool
}

public enum HuggingFaceGPT2Names {
    /// `transformer.` is what `GPT2LMHeadModel.save_pretrained` writes; `GPT2Model` files (the hub's `gpt2`) have
    /// no prefix, so import accepts both.
    public static let prefix = "transformer."

    /// transformers' buffers and tied head that are not parameters of their own: the causal mask (`attn.bias`,
    /// `attn.masked_bias` in files from transformers < 4.31) and `lm_head.weight` (tied to `wte`, which import
    /// checks).
    public static let tiedHead = "lm_head.weight"

    /// Every engine tensor of `config`, in the engine's order, with its Hugging Face name.
    public static func all(layers: Int) -> [HuggingFaceGPT2Name] {
        var names = [
            HuggingFaceGPT2Name(engine: "tok_emb.weight", huggingFace: prefix + "wte.weight", transposed: false),
            HuggingFaceGPT2Name(engine: "pos_emb.weight", huggingFace: prefix + "wpe.weight", transposed: false),
        ]
        // Per block: (engine suffix, GPT-2 suffix, Conv1D weight).
        let block: [(String, String, Bool)] = [
            ("ln1.weight", "ln_1.weight", false), ("ln1.bias", "ln_1.bias", false),
            ("attn.qkv.weight", "attn.c_attn.weight", true), ("attn.qkv.bias", "attn.c_attn.bias", false),
            ("attn.proj.weight", "attn.c_proj.weight", true), ("attn.proj.bias", "attn.c_proj.bias", false),
            ("ln2.weight", "ln_2.weight", false), ("ln2.bias", "ln_2.bias", false),
            ("mlp.fc.weight", "mlp.c_fc.weight", true), ("mlp.fc.bias", "mlp.c_fc.bias", false),
            ("mlp.proj.weight", "mlp.c_proj.weight", true), ("mlp.proj.bias", "mlp.c_proj.bias", false),
        ]
        for l in 0..<layers {
            for (engine, huggingFace, transposed) in block {
                names.append(
                    HuggingFaceGPT2Name(
                        engine: "blocks.\(l).\(engine)", huggingFace: prefix + "h.\(l).\(huggingFace)",
                        transposed: transposed))
            }
        }
        names.append(HuggingFaceGPT2Name(engine: "ln_f.weight", huggingFace: prefix + "ln_f.weight", transposed: false))
        names.append(HuggingFaceGPT2Name(engine: "ln_f.bias", huggingFace: prefix + "ln_f.bias", transposed: false))
        return names
    }

    /// `values` of a `[rows, columns]` matrix as `[columns, rows]` (row-major both ways).
    static func transpose(_ values: [Float], rows: Int, columns: Int) -> [Float] {
        precondition(values.count == rows * columns, "transpose: \(values.count) values for [\(rows), \(columns)]")
        var out = [Float](repeating: 0, count: values.count)
        for r in 0..<rows {
            for c in 0..<columns { out[c * rows + r] = values[r * columns + c] }
        }
        return out
    }
}

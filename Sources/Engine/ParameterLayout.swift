/// One named tensor inside the model's flat parameter vector.
public struct TensorSlot: Sendable, Equatable {
    public let name: String
    public let shape: [Int]
    /// Offset (in elements) in the flat parameter / gradient / moment vectors.
    public let offset: Int
    public var count: Int { shape.reduce(1, *) }
    /// AdamW weight decay applies to matrices (embeddings, linear weights) only, never to biases or norms.
    public var decays: Bool { shape.count >= 2 }
}

/// Offsets of every tensor in one contiguous Float vector. Parameters, gradients and both AdamW moments
/// share this layout, so a worker can exchange the whole model as one flat vector.
struct ParameterLayout: Sendable {
    struct Block: Sendable {
        var ln1Weight = 0, ln1Bias = 0, qkvWeight = 0, qkvBias = 0, projWeight = 0, projBias = 0
        var ln2Weight = 0, ln2Bias = 0, fcWeight = 0, fcBias = 0, fcProjWeight = 0, fcProjBias = 0
    }

    private(set) var slots: [TensorSlot] = []
    private(set) var count = 0
    private(set) var tokenEmbedding = 0
    private(set) var positionEmbedding = 0
    private(set) var blocks: [Block] = []
    private(set) var finalNormWeight = 0
    private(set) var finalNormBias = 0

    init(config: GPTConfig) {
        let C = config.width
        let V = config.vocabularySize
        let F = config.mlpWidth
        tokenEmbedding = add("tok_emb.weight", [V, C])
        positionEmbedding = add("pos_emb.weight", [config.contextLength, C])
        for l in 0..<config.layers {
            let p = "blocks.\(l)."
            var b = Block()
            b.ln1Weight = add(p + "ln1.weight", [C])
            b.ln1Bias = add(p + "ln1.bias", [C])
            b.qkvWeight = add(p + "attn.qkv.weight", [3 * C, C])
            b.qkvBias = add(p + "attn.qkv.bias", [3 * C])
            b.projWeight = add(p + "attn.proj.weight", [C, C])
            b.projBias = add(p + "attn.proj.bias", [C])
            b.ln2Weight = add(p + "ln2.weight", [C])
            b.ln2Bias = add(p + "ln2.bias", [C])
            b.fcWeight = add(p + "mlp.fc.weight", [F, C])
            b.fcBias = add(p + "mlp.fc.bias", [F])
            b.fcProjWeight = add(p + "mlp.proj.weight", [C, F])
            b.fcProjBias = add(p + "mlp.proj.bias", [C])
            blocks.append(b)
        }
        finalNormWeight = add("ln_f.weight", [C])
        finalNormBias = add("ln_f.bias", [C])
    }

    private mutating func add(_ name: String, _ shape: [Int]) -> Int {
        let slot = TensorSlot(name: name, shape: shape, offset: count)
        slots.append(slot)
        count += slot.count
        return slot.offset
    }
}

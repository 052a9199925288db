import Foundation

/// Shape of a GPT decoder-only transformer. Codable: it is stored in checkpoint metadata.
public struct GPTConfig: Codable, Sendable, Equatable, Hashable {
    public var vocabularySize: Int
    /// Maximum sequence length (size of the position embedding).
    public var contextLength: Int
    public var layers: Int
    public var heads: Int
    /// Model width (embedding size, d_model).
    public var width: Int
    /// Hidden width of the MLP (4 x width in GPT-2).
    public var mlpWidth: Int
    /// When set, each position attends only to itself and the `slidingWindow - 1` positions before it.
    public var slidingWindow: Int?

    public init(
        vocabularySize: Int, contextLength: Int, layers: Int, heads: Int, width: Int,
        mlpWidth: Int? = nil, slidingWindow: Int? = nil
    ) {
        self.vocabularySize = vocabularySize
        self.contextLength = contextLength
        self.layers = layers
        self.heads = heads
        self.width = width
        self.mlpWidth = mlpWidth ?? 4 * width
        self.slidingWindow = slidingWindow
    }

    public var headWidth: Int { width / heads }

    /// Checks every field; the error names the field and the expected range.
    public func validate() throws(EngineError) {
        func check(_ ok: Bool, _ field: String, _ value: Int, _ expected: String) throws(EngineError) {
            if !ok { throw .invalidConfig(field: field, value: String(value), expected: expected) }
        }
        try check(
            vocabularySize >= 2 && vocabularySize <= Int(Int32.max), "vocabularySize", vocabularySize, "2 ... 2^31-1")
        try check(contextLength >= 1, "contextLength", contextLength, ">= 1")
        try check(layers >= 1, "layers", layers, ">= 1")
        try check(heads >= 1, "heads", heads, ">= 1")
        try check(width >= 1 && width % heads == 0, "width", width, "a positive multiple of heads (\(heads))")
        try check(mlpWidth >= 1, "mlpWidth", mlpWidth, ">= 1")
        if let window = slidingWindow { try check(window >= 1, "slidingWindow", window, ">= 1 or absent") }
    }

    /// Number of trainable parameters (the tied head is counted once).
    public var parameterCount: Int { ParameterLayout(config: self).count }

    /// Matrix-multiply flops of one training step (forward + backward) for `tokens` tokens at sequence
    /// length `sequenceLength`: 6 per weight per token, plus the attention score and value products
    /// counted only over the keys each position may attend to (causal, and the window if set).
    public func trainingFlops(tokens: Int, sequenceLength: Int) -> Double {
        let C = Double(width)
        let L = Double(layers)
        let F = Double(mlpWidth)
        let V = Double(vocabularySize)
        let matrixWeights = L * (3 * C * C + C * C + 2 * C * F) + V * C
        var keys = 0.0
        for t in 0..<sequenceLength { keys += Double(min(t + 1, slidingWindow ?? Int.max)) }
        let meanKeys = keys / Double(max(1, sequenceLength))
        // Per token and layer, forward: q.k over meanKeys keys and p.v over the same: 2 x 2 x C x keys.
        let attention = L * 2 * 2 * C * meanKeys
        return 3 * 2 * Double(tokens) * (matrixWeights + attention)
    }
}

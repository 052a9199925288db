import Foundation
import Primitives

/// How to draw tokens from the model.
public struct SamplingOptions: Sendable, Equatable, Codable {
    /// 0 means greedy (argmax).
    public var temperature: Float
    /// Keep only the k most likely tokens (nil: all).
    public var topK: Int?
    public var seed: UInt64
    public var maxNewTokens: Int

    public init(temperature: Float = 1, topK: Int? = nil, seed: UInt64 = 0, maxNewTokens: Int = 64) {
        self.temperature = temperature
        self.topK = topK
        self.seed = seed
        self.maxNewTokens = maxNewTokens
    }
}

extension GPTModel {
    /// Continues `prompt` by `maxNewTokens` sampled tokens (returned without the prompt). Same
    /// (weights, prompt, options) give the same tokens.
    public func generate(prompt: [Int32], options: SamplingOptions) throws(EngineError) -> [Int32] {
        guard !prompt.isEmpty else { throw .invalidBatch("the prompt is empty; give at least one token") }
        guard options.temperature >= 0 else {
            throw .invalidConfig(field: "temperature", value: "\(options.temperature)", expected: ">= 0")
        }
        if let k = options.topK, k < 1 {
            throw .invalidConfig(field: "topK", value: "\(k)", expected: ">= 1 or absent")
        }
        var random = SplitMix64(seed: options.seed)
        var context = prompt
        var produced: [Int32] = []
        for _ in 0..<max(0, options.maxNewTokens) {
            let logits = try nextTokenLogits(context: context)
            let token = Self.pick(logits: logits, options: options, random: &random)
            produced.append(token)
            context.append(token)
        }
        releaseActivations()
        return produced
    }

    static func pick(logits: [Float], options: SamplingOptions, random: inout SplitMix64) -> Int32 {
        if options.temperature == 0 {
            var best = 0
            for i in 1..<logits.count where logits[i] > logits[best] { best = i }
            return Int32(best)
        }
        var order = Array(0..<logits.count)
        if let k = options.topK, k < logits.count {
            order.sort { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
            order.removeLast(order.count - k)
        }
        let maxLogit = order.map { logits[$0] }.max() ?? 0
        let weights = order.map { exp(Double(logits[$0] - maxLogit) / Double(options.temperature)) }
        let total = weights.reduce(0, +)
        var u = random.nextUniform() * total
        for (i, w) in zip(order, weights) {
            u -= w
            if u < 0 { return Int32(i) }
        }
        return Int32(order.last!)
    }
}

import Foundation

/// AdamW hyper-parameters (PyTorch semantics: decoupled weight decay `p -= lr * weightDecay * p`).
public struct AdamWConfig: Codable, Sendable, Equatable {
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    /// Applied to matrices (embeddings and linear weights) only.
    public var weightDecay: Float
    /// Clip the global gradient L2 norm to this value before the update; nil disables clipping.
    public var maxGradientNorm: Float?

    public init(
        beta1: Float = 0.9, beta2: Float = 0.95, epsilon: Float = 1e-8, weightDecay: Float = 0.1,
        maxGradientNorm: Float? = 1.0
    ) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.maxGradientNorm = maxGradientNorm
    }

    public func validate() throws(EngineError) {
        func bad(_ field: String, _ value: Float, _ expected: String) -> EngineError {
            .invalidConfig(field: "optimizer.\(field)", value: String(value), expected: expected)
        }
        guard beta1 >= 0 && beta1 < 1 else { throw bad("beta1", beta1, "0 <= beta1 < 1") }
        guard beta2 >= 0 && beta2 < 1 else { throw bad("beta2", beta2, "0 <= beta2 < 1") }
        guard epsilon > 0 else { throw bad("epsilon", epsilon, "> 0") }
        guard weightDecay >= 0 else { throw bad("weightDecay", weightDecay, ">= 0") }
        if let clip = maxGradientNorm, !(clip > 0) { throw bad("maxGradientNorm", clip, "> 0 or absent") }
    }
}

/// AdamW state over a model's flat parameter vector: first and second moments in the same layout.
public final class AdamW {
    public let config: AdamWConfig
    /// Number of updates applied so far (drives bias correction).
    public internal(set) var updates: Int = 0
    let firstMoment: UnsafeMutableBufferPointer<Float>
    let secondMoment: UnsafeMutableBufferPointer<Float>
    /// (offset, count, decays) of every tensor, from the model layout.
    private let segments: [(offset: Int, count: Int, decays: Bool)]

    public init(config: AdamWConfig, for model: GPTModel) throws(EngineError) {
        try config.validate()
        self.config = config
        firstMoment = .allocate(capacity: model.parameterCount)
        firstMoment.initialize(repeating: 0)
        secondMoment = .allocate(capacity: model.parameterCount)
        secondMoment.initialize(repeating: 0)
        segments = model.tensors.map { ($0.offset, $0.count, $0.decays) }
    }

    deinit {
        firstMoment.deallocate()
        secondMoment.deallocate()
    }

    public func firstMomentVector() -> [Float] { Array(firstMoment) }
    public func secondMomentVector() -> [Float] { Array(secondMoment) }

    /// Clears the moments and the update count (e.g. when a worker wants a fresh inner optimizer).
    public func reset() {
        firstMoment.update(repeating: 0)
        secondMoment.update(repeating: 0)
        updates = 0
    }

    /// One AdamW update of `model`'s parameters from its accumulated gradients at learning rate `rate`.
    public func apply(to model: GPTModel, learningRate rate: Float) {
        updates += 1
        let b1 = config.beta1
        let b2 = config.beta2
        let eps = config.epsilon
        let correction1 = 1 - Float(pow(Double(b1), Double(updates)))
        let correction2 = 1 - Float(pow(Double(b2), Double(updates)))
        let p = SharedPointer(model.parameters.baseAddress!)
        let g = SharedPointer(model.gradients.baseAddress!)
        let m = SharedPointer(firstMoment.baseAddress!)
        let v = SharedPointer(secondMoment.baseAddress!)
        for segment in segments {
            let decay = segment.decays ? rate * config.weightDecay : 0
            let chunk = 16384
            let chunks = (segment.count + chunk - 1) / chunk
            Parallel.forRows(chunks, threads: model.threads, minimumRowsPerThread: 4) { range in
                let start = segment.offset + range.lowerBound * chunk
                let end = segment.offset + min(segment.count, range.upperBound * chunk)
                for i in start..<end {
                    let grad = g.base[i]
                    let mi = b1 * m.base[i] + (1 - b1) * grad
                    let vi = b2 * v.base[i] + (1 - b2) * grad * grad
                    m.base[i] = mi
                    v.base[i] = vi
                    let update = (mi / correction1) / ((vi / correction2).squareRoot() + eps)
                    p.base[i] -= rate * update + decay * p.base[i]
                }
            }
        }
    }
}

/// Global L2 norm and clipping of a model's gradients (fixed chunking, so the result does not depend
/// on the thread count).
enum GradientNorm {
    static func compute(_ gradients: UnsafeMutableBufferPointer<Float>, threads: Int) -> Double {
        let chunk = 65536
        let chunks = (gradients.count + chunk - 1) / chunk
        let partial = UnsafeMutablePointer<Double>.allocate(capacity: max(1, chunks))
        defer { partial.deallocate() }
        let out = SharedPointer(partial)
        let base = gradients.baseAddress!
        let count = gradients.count
        Parallel.forRows(chunks, threads: threads, minimumRowsPerThread: 4) { range in
            for c in range {
                var sum: Float = 0
                for i in (c * chunk)..<min(count, (c + 1) * chunk) { sum += base[i] * base[i] }
                out.base[c] = Double(sum)
            }
        }
        var total = 0.0
        for c in 0..<chunks { total += partial[c] }
        return total.squareRoot()
    }

    static func scale(_ gradients: UnsafeMutableBufferPointer<Float>, by factor: Float) {
        for i in 0..<gradients.count { gradients[i] *= factor }
    }
}

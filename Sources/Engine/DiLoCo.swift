import Foundation

/// Low-communication data parallelism (DiLoCo, Douillard et al. 2023) on flat parameter vectors:
/// each worker trains H inner steps from the global weights, sends `pseudoGradient(global:local:)`,
/// the pseudo-gradients are averaged, and `OuterNesterovSGD` turns them into the next global weights.
public enum DiLoCo {
    /// global - local: the direction the inner steps moved, with the sign of a gradient.
    public static func pseudoGradient(global: [Float], local: [Float]) throws(EngineError) -> [Float] {
        guard global.count == local.count else { throw .vectorLengthMismatch(expected: global.count, got: local.count) }
        return [Float](unsafeUninitializedCapacity: global.count) { out, n in
            for i in 0..<global.count { out[i] = global[i] - local[i] }
            n = global.count
        }
    }

    /// Element-wise mean of equally long vectors (summed in the given order, so deterministic).
    public static func average(_ vectors: [[Float]]) throws(EngineError) -> [Float] {
        guard let first = vectors.first else { throw .invalidBatch("nothing to average") }
        var sum = [Double](repeating: 0, count: first.count)
        for v in vectors {
            guard v.count == first.count else { throw .vectorLengthMismatch(expected: first.count, got: v.count) }
            for i in 0..<v.count { sum[i] += Double(v[i]) }
        }
        let n = Double(vectors.count)
        return sum.map { Float($0 / n) }
    }
}

/// Outer optimizer of DiLoCo: SGD with Nesterov momentum, as `torch.optim.SGD(nesterov=True)`:
/// `v = momentum * v + g; θ -= lr * (g + momentum * v)`.
public final class OuterNesterovSGD {
    public var learningRate: Float
    public var momentum: Float
    /// Momentum buffer in the model's flat layout (save it with the checkpoint's extra tensors).
    public private(set) var velocity: [Float]

    public init(parameterCount: Int, learningRate: Float = 0.7, momentum: Float = 0.9) throws(EngineError) {
        guard learningRate > 0 else { throw .invalidConfig(field: "outer.learningRate", value: "\(learningRate)", expected: "> 0") }
        guard momentum >= 0 && momentum < 1 else { throw .invalidConfig(field: "outer.momentum", value: "\(momentum)", expected: "0 <= momentum < 1") }
        self.learningRate = learningRate
        self.momentum = momentum
        velocity = [Float](repeating: 0, count: parameterCount)
    }

    /// Restores a saved momentum buffer.
    public func setVelocity(_ values: [Float]) throws(EngineError) {
        guard values.count == velocity.count else { throw .vectorLengthMismatch(expected: velocity.count, got: values.count) }
        velocity = values
    }

    /// Name of the momentum buffer when stored as a checkpoint's extra tensor.
    public static let velocityTensorName = "outer.velocity"

    /// The outer state as checkpoint extra tensors (fp32; pass to `Trainer.save(extraTensors:)`).
    public var stateTensors: [NamedTensor] {
        [NamedTensor(name: Self.velocityTensorName, shape: [velocity.count], values: velocity)]
    }

    /// Restores the momentum buffer saved by `stateTensors`.
    public func restore(from checkpoint: Checkpoint) throws(EngineError) {
        try setVelocity(try checkpoint.tensor(named: Self.velocityTensorName))
    }

    /// Applies one outer step to `global` from the averaged pseudo-gradient.
    public func step(global: inout [Float], pseudoGradient g: [Float]) throws(EngineError) {
        guard global.count == velocity.count else { throw .vectorLengthMismatch(expected: velocity.count, got: global.count) }
        guard g.count == velocity.count else { throw .vectorLengthMismatch(expected: velocity.count, got: g.count) }
        let mu = momentum, lr = learningRate
        velocity.withUnsafeMutableBufferPointer { v in
            global.withUnsafeMutableBufferPointer { p in
                for i in 0..<v.count {
                    v[i] = mu * v[i] + g[i]
                    p[i] -= lr * (g[i] + mu * v[i])
                }
            }
        }
    }
}

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

/// How a pseudo-gradient travels between DiLoCo members. Both compact formats split the vector into blocks of
/// `blockSize` values with one fp32 scale each (1.6% of int4's bytes, 11% of sign's):
/// - int4: integers -7...7 times (the block's largest magnitude / 7), two per byte: 0.52 bytes a parameter;
/// - sign: one bit a value, ± the block's mean magnitude (the scale that minimizes the squared error): 0.14
///   bytes a parameter, 28x fewer than fp32.
/// Why compact formats at all: on the sample pipeline's data the gap to one worker grows with the round length
/// H (DiLoCoBench: +0.6% at H = 1, +11% at H = 50 with bf16 deltas), and sign deltas at H = 4 cost the bytes bf16
/// deltas cost at H = 57. They are lossy per round; `PseudoGradientEncoder`'s error feedback makes them lossless
/// over rounds.
public enum PseudoGradientFormat: String, Sendable, CaseIterable {
    case float32 = "fp32"
    case bfloat16 = "bf16"
    case int4, sign

    public static let blockSize = 256

    /// Bytes of `count` values on the wire.
    public func byteCount(values count: Int) -> Int {
        let scales = 4 * ((count + Self.blockSize - 1) / Self.blockSize)
        switch self {
        case .float32: return 4 * count
        case .bfloat16: return 2 * count
        case .int4: return scales + (count + 1) / 2
        case .sign: return scales + (count + 7) / 8
        }
    }
}

extension DiLoCo {
    /// `values` as `format` on the wire, and the values every receiver decodes from it (what was really sent).
    public static func encode(_ values: [Float], as format: PseudoGradientFormat) throws(EngineError) -> (
        bytes: Data, sent: [Float]
    ) {
        switch format {
        case .float32:
            return (Safetensors.encode(values, as: .float32), values)
        case .bfloat16:
            let bytes = Safetensors.encode(values, as: .bfloat16)
            return (bytes, try Safetensors.decode(bytes, as: .bfloat16))
        case .int4, .sign:
            let n = values.count
            let block = PseudoGradientFormat.blockSize
            let blocks = (n + block - 1) / block
            let perByte = format == .int4 ? 2 : 8
            var scales = [Float](repeating: 0, count: blocks)
            var packed = [UInt8](repeating: 0, count: (n + perByte - 1) / perByte)
            var sent = [Float](repeating: 0, count: n)
            for b in 0..<blocks {
                let range = (b * block)..<min(n, (b + 1) * block)
                var peak: Float = 0
                var sum: Float = 0
                for i in range {
                    peak = max(peak, abs(values[i]))
                    sum += abs(values[i])
                }
                guard peak.isFinite, sum.isFinite else {
                    throw .invalidBatch("a pseudo-gradient value is not finite (the inner steps diverged)")
                }
                if format == .int4 {
                    let scale = peak / 7
                    scales[b] = scale
                    for i in range {
                        let q = scale > 0 ? Int8(min(7, max(-7, (values[i] / scale).rounded()))) : 0
                        sent[i] = Float(q) * scale
                        packed[i / 2] |= UInt8(q + 8) << (4 * UInt8(i % 2))
                    }
                } else {
                    let scale = sum / Float(range.count)
                    scales[b] = scale
                    for i in range {
                        let positive = values[i] >= 0
                        sent[i] = positive ? scale : -scale
                        if positive { packed[i / 8] |= 1 << UInt8(i % 8) }
                    }
                }
            }
            var bytes = scales.withUnsafeBufferPointer { Data(buffer: $0) }
            bytes.append(contentsOf: packed)
            return (bytes, sent)
        }
    }

    /// The `count` values of `bytes` written by `encode(_:as:)`.
    public static func decode(_ bytes: Data, count: Int, as format: PseudoGradientFormat) throws(EngineError) -> [Float]
    {
        guard bytes.count == format.byteCount(values: count) else {
            throw .invalidBatch(
                "\(bytes.count) bytes are not \(count) \(format.rawValue) values (\(format.byteCount(values: count)) bytes)"
            )
        }
        switch format {
        case .float32: return try Safetensors.decode(bytes, as: .float32)
        case .bfloat16: return try Safetensors.decode(bytes, as: .bfloat16)
        case .int4, .sign:
            let block = PseudoGradientFormat.blockSize
            let packedStart = 4 * ((count + block - 1) / block)
            return bytes.withUnsafeBytes { raw in
                [Float](unsafeUninitializedCapacity: count) { out, n in
                    for i in 0..<count {
                        let scale = raw.loadUnaligned(fromByteOffset: 4 * (i / block), as: Float.self)
                        if format == .int4 {
                            let q = Int((raw[packedStart + i / 2] >> (4 * UInt8(i % 2))) & 0x0F) - 8
                            out[i] = Float(q) * scale
                        } else {
                            out[i] = (raw[packedStart + i / 8] >> UInt8(i % 8)) & 1 == 1 ? scale : -scale
                        }
                    }
                    n = count
                }
            }
        }
    }
}

/// A member's side of the wire with error feedback: what the encoding dropped from one round's pseudo-gradient
/// is added to the next one's, so rounding errors do not accumulate in the global weights: they are delayed by
/// a round instead (Seide et al. 2014, Karimireddy et al. 2019: error feedback fixes sign compression).
public final class PseudoGradientEncoder {
    public let format: PseudoGradientFormat
    /// What was not sent yet, in the model's flat layout (local to the member; a replacement starts at zero).
    public private(set) var residual: [Float]

    public init(format: PseudoGradientFormat, parameterCount: Int) {
        self.format = format
        residual = [Float](repeating: 0, count: parameterCount)
    }

    /// Encodes `delta` + the residual; keeps what the encoding lost as the new residual.
    public func encode(_ delta: [Float]) throws(EngineError) -> (bytes: Data, sent: [Float]) {
        guard delta.count == residual.count else {
            throw .vectorLengthMismatch(expected: residual.count, got: delta.count)
        }
        var total = delta
        for i in 0..<total.count { total[i] += residual[i] }
        let wire = try DiLoCo.encode(total, as: format)
        for i in 0..<total.count { residual[i] = total[i] - wire.sent[i] }
        return wire
    }

    /// A contribution the round was completed without (it arrived too late): it is sent with the next one.
    public func restore(_ sent: [Float]) throws(EngineError) {
        guard sent.count == residual.count else {
            throw .vectorLengthMismatch(expected: residual.count, got: sent.count)
        }
        for i in 0..<sent.count { residual[i] += sent[i] }
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
        guard learningRate > 0 else {
            throw .invalidConfig(field: "outer.learningRate", value: "\(learningRate)", expected: "> 0")
        }
        guard momentum >= 0 && momentum < 1 else {
            throw .invalidConfig(field: "outer.momentum", value: "\(momentum)", expected: "0 <= momentum < 1")
        }
        self.learningRate = learningRate
        self.momentum = momentum
        velocity = [Float](repeating: 0, count: parameterCount)
    }

    /// Restores a saved momentum buffer.
    public func setVelocity(_ values: [Float]) throws(EngineError) {
        guard values.count == velocity.count else {
            throw .vectorLengthMismatch(expected: velocity.count, got: values.count)
        }
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
        guard global.count == velocity.count else {
            throw .vectorLengthMismatch(expected: velocity.count, got: global.count)
        }
        guard g.count == velocity.count else { throw .vectorLengthMismatch(expected: velocity.count, got: g.count) }
        let mu = momentum
        let lr = learningRate
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

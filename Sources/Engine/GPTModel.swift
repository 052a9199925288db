import BLAS
import Foundation
import Primitives

/// A GPT decoder-only transformer with hand-written forward and backward passes.
///
/// Parameters and their gradients each live in one contiguous Float vector (layout: `tensors`), so a
/// whole model can be copied, averaged or sent between workers as a flat vector. Batches are Int32 token
/// arrays of `batchSize` rows of `sequenceLength + 1` tokens: row b predicts tokens[1...T] from
/// tokens[0..<T]. Not thread-safe: use one model from one thread/task at a time (it parallelizes inside).
public final class GPTModel {
    public let config: GPTConfig
    let layout: ParameterLayout
    /// fp32 master weights, `parameterCount` elements.
    let parameters: UnsafeMutableBufferPointer<Float>
    /// Accumulated gradients (same layout); zeroed by `zeroGradients()`.
    let gradients: UnsafeMutableBufferPointer<Float>
    private var arena: ActivationArena?

    /// Threads for the engine's own loops and for OpenBLAS (process-wide OpenBLAS setting).
    public var threads: Int {
        didSet {
            threads = max(1, threads)
            BLAS.threadCount = threads
        }
    }

    /// A freshly initialized model: GPT-2 style N(0, 0.02) weights, residual projections scaled by
    /// 1/sqrt(2 * layers), zero biases, unit LayerNorm gains. Identical for identical (config, seed).
    public convenience init(config: GPTConfig, seed: UInt64, threads: Int = 1) throws(EngineError) {
        try self.init(config: config, threads: threads, seed: seed)
    }

    /// `seed == nil` leaves the weights zero (they are about to be loaded from a checkpoint).
    init(config: GPTConfig, threads: Int, seed: UInt64?) throws(EngineError) {
        try config.validate()
        self.config = config
        layout = ParameterLayout(config: config)
        parameters = .allocate(capacity: layout.count)
        parameters.initialize(repeating: 0)
        gradients = .allocate(capacity: layout.count)
        gradients.initialize(repeating: 0)
        self.threads = max(1, threads)
        BLAS.threadCount = self.threads
        if let seed { initialize(seed: seed) }
    }

    deinit {
        parameters.deallocate()
        gradients.deallocate()
    }

    public var parameterCount: Int { layout.count }

    /// Named tensors in flat-vector order (names as stored in checkpoints).
    public var tensors: [TensorSlot] { layout.slots }

    private func initialize(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let residualScale = 0.02 / (2 * Double(config.layers)).squareRoot()
        for slot in layout.slots {
            let p = parameters.baseAddress! + slot.offset
            if slot.name.hasSuffix(".bias") {
                for i in 0..<slot.count { p[i] = 0 }
            } else if slot.shape.count == 1 {
                for i in 0..<slot.count { p[i] = 1 }
            } else {
                let std =
                    slot.name.hasSuffix("attn.proj.weight") || slot.name.hasSuffix("mlp.proj.weight")
                    ? residualScale : 0.02
                for i in 0..<slot.count { p[i] = Float(random.nextNormal() * std) }
            }
        }
    }

    // MARK: Flat vectors

    /// A copy of all parameters, in `tensors` order.
    public func parameterVector() -> [Float] { Array(parameters) }

    /// Replaces all parameters (e.g. the new global weights of a DiLoCo round).
    public func setParameterVector(_ values: [Float]) throws(EngineError) {
        guard values.count == layout.count else {
            throw .vectorLengthMismatch(expected: layout.count, got: values.count)
        }
        _ = values.withUnsafeBufferPointer { parameters.update(fromContentsOf: $0) }
    }

    /// A copy of the accumulated gradients, in `tensors` order.
    public func gradientVector() -> [Float] { Array(gradients) }

    /// Calls `body` with read/write access to the parameters in place (no copy).
    public func withParameters<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(parameters)
    }

    public func withGradients<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(gradients)
    }

    public func zeroGradients() {
        gradients.update(repeating: 0)
    }

    /// The values of one named tensor (a copy).
    public func tensor(named name: String) -> [Float]? {
        guard let slot = layout.slots.first(where: { $0.name == name }) else { return nil }
        return Array(parameters[slot.offset..<(slot.offset + slot.count)])
    }

    // MARK: Batches

    func prepare(batch tokens: [Int32], batchSize B: Int, training: Bool) throws(EngineError) -> ActivationArena {
        guard B >= 1 else { throw .invalidBatch("batchSize \(B) must be >= 1") }
        guard tokens.count % B == 0, tokens.count / B >= 2 else {
            throw .invalidBatch("\(tokens.count) tokens do not split into \(B) rows of sequenceLength + 1 >= 2 tokens")
        }
        let T = tokens.count / B - 1
        guard T <= config.contextLength else {
            throw .invalidBatch("sequence length \(T) exceeds the model's contextLength \(config.contextLength)")
        }
        let V = Int32(config.vocabularySize)
        if let bad = tokens.firstIndex(where: { $0 < 0 || $0 >= V }) {
            throw .invalidBatch("token \(tokens[bad]) at index \(bad) is outside the vocabulary 0..<\(V)")
        }
        let arena = self.arena(batch: B, length: T, training: training)
        for b in 0..<B {
            for t in 0..<T {
                arena.inputs[b * T + t] = tokens[b * (T + 1) + t]
                arena.targets[b * T + t] = tokens[b * (T + 1) + t + 1]
            }
        }
        return arena
    }

    func arena(batch B: Int, length T: Int, training: Bool) -> ActivationArena {
        if let a = arena, a.batch == B, a.length == T, a.isTraining || !training { return a }
        arena = nil // free the old one before allocating the new one
        let a = ActivationArena(config: config, batch: B, length: T, training: training)
        arena = a
        return a
    }

    /// Drops the activation memory (it is reallocated on the next pass).
    public func releaseActivations() { arena = nil }

    // MARK: Public passes

    /// Mean cross-entropy (nats per token) of the batch; no gradients.
    public func loss(batch tokens: [Int32], batchSize: Int) throws(EngineError) -> Float {
        let a = try prepare(batch: tokens, batchSize: batchSize, training: false)
        return Float(forward(a, computeLoss: true, gradientScale: nil))
    }

    /// Forward and backward: ADDS `scale` x d(mean loss)/d(parameters) into the gradients and returns
    /// the batch's mean loss. Call `zeroGradients()` first; several calls accumulate.
    @discardableResult
    public func accumulateGradients(batch tokens: [Int32], batchSize: Int, scale: Float = 1) throws(EngineError)
        -> Float
    {
        let a = try prepare(batch: tokens, batchSize: batchSize, training: true)
        let rows = a.batch * a.length
        let loss = forward(a, computeLoss: true, gradientScale: scale / Float(rows))
        backward(a)
        return Float(loss)
    }

    /// Logits of the next token after `context` (the last `contextLength` tokens are used).
    public func nextTokenLogits(context: [Int32]) throws(EngineError) -> [Float] {
        guard !context.isEmpty else { throw .invalidBatch("context is empty") }
        let window = Array(context.suffix(config.contextLength))
        // The appended dummy target (0) is never used: logits are taken before the loss.
        let a = try prepare(batch: window + [0], batchSize: 1, training: false)
        forward(a, computeLoss: false, gradientScale: nil)
        let V = config.vocabularySize
        let C = config.width
        let last = a.length - 1
        var logits = [Float](repeating: 0, count: V)
        logits.withUnsafeMutableBufferPointer { out in
            BLAS.sgemm(
                .none, .transposed, m: 1, n: V, k: C, a: a.at(a.lnf + last * C), lda: C,
                b: parameters.baseAddress! + layout.tokenEmbedding, ldb: C, c: out.baseAddress!, ldc: V)
        }
        return logits
    }

    // MARK: Forward

    /// Runs the network; returns the mean loss when `computeLoss`. With a `gradientScale`, the logits
    /// buffer is left holding dL/dlogits for `backward`.
    @discardableResult
    func forward(_ a: ActivationArena, computeLoss: Bool, gradientScale: Float?) -> Double {
        let B = a.batch
        let T = a.length
        let rows = B * T
        let C = config.width
        let F = config.mlpWidth
        let V = config.vocabularySize
        let w = parameters.baseAddress!
        let shape = Kernels.AttentionShape(
            batch: B, length: T, width: C, heads: config.heads,
            window: config.slidingWindow)
        let wte = w + layout.tokenEmbedding
        let wpe = w + layout.positionEmbedding
        Kernels.embeddingForward(
            out: a.at(a.layers[0].input), tokens: a.inputs, tokenEmbedding: wte,
            positionEmbedding: wpe, rows: rows, length: T, width: C)
        for (l, act) in a.layers.enumerated() {
            let p = layout.blocks[l]
            let x = a.at(act.input)
            Kernels.layerNormForward(
                out: a.at(act.ln1), mean: a.at(act.ln1Mean), rstd: a.at(act.ln1Rstd),
                input: x, weight: w + p.ln1Weight, bias: w + p.ln1Bias,
                rows: rows, width: C, threads: threads)
            Kernels.linearForward(
                out: a.at(act.qkv), input: a.at(act.ln1), weight: w + p.qkvWeight,
                bias: w + p.qkvBias, rows: rows, inWidth: C, outWidth: 3 * C)
            Kernels.attentionForward(
                out: a.at(act.attention), probs: a.at(act.probs), qkv: a.at(act.qkv),
                shape: shape, threads: threads)
            let residual = a.at(act.residual)
            residual.update(from: x, count: rows * C)
            Kernels.linearForward(
                out: residual, input: a.at(act.attention), weight: w + p.projWeight,
                bias: w + p.projBias, rows: rows, inWidth: C, outWidth: C, accumulate: true)
            Kernels.layerNormForward(
                out: a.at(act.ln2), mean: a.at(act.ln2Mean), rstd: a.at(act.ln2Rstd),
                input: residual, weight: w + p.ln2Weight, bias: w + p.ln2Bias,
                rows: rows, width: C, threads: threads)
            Kernels.linearForward(
                out: a.at(act.fc), input: a.at(act.ln2), weight: w + p.fcWeight,
                bias: w + p.fcBias, rows: rows, inWidth: C, outWidth: F)
            Kernels.geluForward(out: a.at(act.fcGelu), input: a.at(act.fc), count: rows * F, threads: threads)
            let next = l + 1 < a.layers.count ? a.at(a.layers[l + 1].input) : a.at(a.output)
            next.update(from: residual, count: rows * C)
            Kernels.linearForward(
                out: next, input: a.at(act.fcGelu), weight: w + p.fcProjWeight,
                bias: w + p.fcProjBias, rows: rows, inWidth: F, outWidth: C, accumulate: true)
        }
        Kernels.layerNormForward(
            out: a.at(a.lnf), mean: a.at(a.lnfMean), rstd: a.at(a.lnfRstd),
            input: a.at(a.output), weight: w + layout.finalNormWeight,
            bias: w + layout.finalNormBias, rows: rows, width: C, threads: threads)
        guard computeLoss else { return 0 }
        return Kernels.headForward(
            logits: a.at(a.logits), losses: a.at(a.losses), input: a.at(a.lnf),
            embedding: wte, targets: a.targets, rows: rows, width: C, vocabulary: V,
            gradientScale: gradientScale, threads: threads)
    }

    // MARK: Backward

    func backward(_ a: ActivationArena) {
        let B = a.batch
        let T = a.length
        let rows = B * T
        let C = config.width
        let F = config.mlpWidth
        let V = config.vocabularySize
        let w = parameters.baseAddress!
        let g = gradients.baseAddress!
        let shape = Kernels.AttentionShape(
            batch: B, length: T, width: C, heads: config.heads,
            window: config.slidingWindow)
        let dResidual = a.at(a.dResidual)
        let dNorm = a.at(a.dNorm)
        Kernels.headBackward(
            inputGradient: dNorm, embeddingGradient: g + layout.tokenEmbedding,
            logitsGradient: a.at(a.logits), input: a.at(a.lnf), embedding: w + layout.tokenEmbedding,
            rows: rows, width: C, vocabulary: V)
        dResidual.update(repeating: 0, count: rows * C)
        Kernels.layerNormBackward(
            inputGradient: dResidual, weightGradient: g + layout.finalNormWeight,
            biasGradient: g + layout.finalNormBias, outputGradient: dNorm,
            input: a.at(a.output), weight: w + layout.finalNormWeight,
            mean: a.at(a.lnfMean), rstd: a.at(a.lnfRstd), rows: rows, width: C,
            threads: threads)
        for l in stride(from: a.layers.count - 1, through: 0, by: -1) {
            let act = a.layers[l]
            let p = layout.blocks[l]
            // MLP: out = residual + proj(gelu(fc(ln2(residual)))).
            let dFC = a.at(a.dFC)
            Kernels.linearBackward(
                inputGradient: dFC, weightGradient: g + p.fcProjWeight,
                biasGradient: g + p.fcProjBias, outputGradient: dResidual,
                input: a.at(act.fcGelu), weight: w + p.fcProjWeight,
                rows: rows, inWidth: F, outWidth: C)
            Kernels.geluBackward(gradient: dFC, input: a.at(act.fc), count: rows * F, threads: threads)
            Kernels.linearBackward(
                inputGradient: dNorm, weightGradient: g + p.fcWeight,
                biasGradient: g + p.fcBias, outputGradient: dFC, input: a.at(act.ln2),
                weight: w + p.fcWeight, rows: rows, inWidth: C, outWidth: F)
            Kernels.layerNormBackward(
                inputGradient: dResidual, weightGradient: g + p.ln2Weight,
                biasGradient: g + p.ln2Bias, outputGradient: dNorm,
                input: a.at(act.residual), weight: w + p.ln2Weight,
                mean: a.at(act.ln2Mean), rstd: a.at(act.ln2Rstd), rows: rows,
                width: C, threads: threads)
            // Attention: residual = input + proj(attn(qkv(ln1(input)))).
            let dAttention = a.at(a.dAttention)
            let dQKV = a.at(a.dQKV)
            Kernels.linearBackward(
                inputGradient: dAttention, weightGradient: g + p.projWeight,
                biasGradient: g + p.projBias, outputGradient: dResidual,
                input: a.at(act.attention), weight: w + p.projWeight,
                rows: rows, inWidth: C, outWidth: C)
            Kernels.attentionBackward(
                qkvGradient: dQKV, scratch: a.at(a.dProbs), outputGradient: dAttention,
                probs: a.at(act.probs), qkv: a.at(act.qkv), shape: shape, threads: threads)
            Kernels.linearBackward(
                inputGradient: dNorm, weightGradient: g + p.qkvWeight,
                biasGradient: g + p.qkvBias, outputGradient: dQKV, input: a.at(act.ln1),
                weight: w + p.qkvWeight, rows: rows, inWidth: C, outWidth: 3 * C)
            Kernels.layerNormBackward(
                inputGradient: dResidual, weightGradient: g + p.ln1Weight,
                biasGradient: g + p.ln1Bias, outputGradient: dNorm,
                input: a.at(act.input), weight: w + p.ln1Weight,
                mean: a.at(act.ln1Mean), rstd: a.at(act.ln1Rstd), rows: rows,
                width: C, threads: threads)
        }
        Kernels.embeddingBackward(
            tokenGradient: g + layout.tokenEmbedding, positionGradient: g + layout.positionEmbedding,
            outputGradient: dResidual, tokens: a.inputs, rows: rows, length: T, width: C)
    }
}

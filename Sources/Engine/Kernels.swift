import BLAS
import Foundation

/// The non-matrix parts of the transformer as tight loops over contiguous Float rows, plus the
/// sgemm-based linear layer and attention. Every function works on caller-owned memory; none allocates.
/// Backward functions that produce parameter gradients ADD into them (gradient accumulation), while
/// activation gradients are overwritten unless the name says otherwise.
enum Kernels {
    static let layerNormEpsilon: Float = 1e-5

    // MARK: LayerNorm

    static func layerNormForward(
        out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
        rstd: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        rows: Int, width C: Int, threads: Int
    ) {
        precondition(
            rows >= 0 && C > 0 && threads >= 1, "layerNormForward: rows \(rows), width \(C), threads \(threads)")
        let o = SharedPointer(out)
        let mu = SharedPointer(mean)
        let rs = SharedPointer(rstd)
        Parallel.forRows(rows, threads: threads) { range in
            for r in range {
                let x = input + r * C
                var sum: Float = 0
                for i in 0..<C { sum += x[i] }
                let m = sum / Float(C)
                var variance: Float = 0
                for i in 0..<C {
                    let d = x[i] - m
                    variance += d * d
                }
                let s = 1 / (variance / Float(C) + layerNormEpsilon).squareRoot()
                let y = o.base + r * C
                for i in 0..<C { y[i] = (x[i] - m) * s * weight[i] + bias[i] }
                mu.base[r] = m
                rs.base[r] = s
            }
        }
    }

    /// Adds the input gradient into `inputGradient` (the residual stream) and the parameter gradients
    /// into `weightGradient`/`biasGradient`.
    static func layerNormBackward(
        inputGradient: UnsafeMutablePointer<Float>,
        weightGradient: UnsafeMutablePointer<Float>,
        biasGradient: UnsafeMutablePointer<Float>,
        outputGradient: UnsafePointer<Float>, input: UnsafePointer<Float>,
        weight: UnsafePointer<Float>, mean: UnsafePointer<Float>,
        rstd: UnsafePointer<Float>, rows: Int, width C: Int, threads: Int
    ) {
        precondition(
            rows >= 0 && C > 0 && threads >= 1, "layerNormBackward: rows \(rows), width \(C), threads \(threads)")
        let dx = SharedPointer(inputGradient)
        Parallel.forRows(rows, threads: threads) { range in
            for r in range {
                let x = input + r * C
                let dy = outputGradient + r * C
                let m = mean[r]
                let s = rstd[r]
                var meanGrad: Float = 0
                var meanGradXhat: Float = 0
                for i in 0..<C {
                    let g = dy[i] * weight[i]
                    meanGrad += g
                    meanGradXhat += g * (x[i] - m) * s
                }
                meanGrad /= Float(C)
                meanGradXhat /= Float(C)
                let d = dx.base + r * C
                for i in 0..<C {
                    let xhat = (x[i] - m) * s
                    d[i] += (dy[i] * weight[i] - meanGrad - xhat * meanGradXhat) * s
                }
            }
        }
        // Parameter gradients reduce over rows: one pass in row order keeps them deterministic.
        for r in 0..<rows {
            let x = input + r * C
            let dy = outputGradient + r * C
            let m = mean[r]
            let s = rstd[r]
            for i in 0..<C {
                weightGradient[i] += dy[i] * (x[i] - m) * s
                biasGradient[i] += dy[i]
            }
        }
    }

    // MARK: GELU (tanh approximation, as GPT-2)

    private static let geluScale: Float = (2 / Float.pi).squareRoot()

    static func geluForward(
        out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
        count: Int, threads: Int
    ) {
        precondition(count >= 0 && threads >= 1, "geluForward: count \(count), threads \(threads)")
        let o = SharedPointer(out)
        let chunk = 4096
        Parallel.forRows((count + chunk - 1) / chunk, threads: threads, minimumRowsPerThread: 4) { range in
            let start = range.lowerBound * chunk
            let end = min(count, range.upperBound * chunk)
            let x = input + start
            let y = o.base + start
            for i in 0..<(end - start) {
                let v = x[i]
                let t = VectorMath.tanh(geluScale * (v + 0.044715 * v * v * v))
                y[i] = 0.5 * v * (1 + t)
            }
        }
    }

    /// `gradient` holds dL/d(gelu output) on entry and dL/d(gelu input) on return.
    static func geluBackward(
        gradient: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
        count: Int, threads: Int
    ) {
        precondition(count >= 0 && threads >= 1, "geluBackward: count \(count), threads \(threads)")
        let g = SharedPointer(gradient)
        let chunk = 4096
        Parallel.forRows((count + chunk - 1) / chunk, threads: threads, minimumRowsPerThread: 4) { range in
            let start = range.lowerBound * chunk
            let end = min(count, range.upperBound * chunk)
            let x = input + start
            let d = g.base + start
            for i in 0..<(end - start) {
                let v = x[i]
                let t = VectorMath.tanh(geluScale * (v + 0.044715 * v * v * v))
                let sech2 = 1 - t * t
                let local = 0.5 * (1 + t) + 0.5 * v * sech2 * geluScale * (1 + 0.134145 * v * v)
                d[i] *= local
            }
        }
    }

    // MARK: Linear layers (y = x W^T + b, W stored [out, in] as in PyTorch)

    static func linearForward(
        out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        rows: Int, inWidth: Int, outWidth: Int, accumulate: Bool = false
    ) {
        precondition(rows >= 0 && inWidth > 0 && outWidth > 0, "linearForward: rows \(rows), \(inWidth) -> \(outWidth)")
        // Seed the output with the bias (added to what is there when accumulating a residual), then
        // let sgemm add x W^T on top.
        for r in 0..<rows {
            let y = out + r * outWidth
            if accumulate {
                for j in 0..<outWidth { y[j] += bias[j] }
            } else {
                for j in 0..<outWidth { y[j] = bias[j] }
            }
        }
        BLAS.sgemm(
            .none, .transposed, m: rows, n: outWidth, k: inWidth,
            a: input, lda: inWidth, b: weight, ldb: inWidth, beta: 1, c: out, ldc: outWidth)
    }

    /// Writes dL/dx into `inputGradient` and adds dL/dW, dL/db into the parameter gradients.
    static func linearBackward(
        inputGradient: UnsafeMutablePointer<Float>,
        weightGradient: UnsafeMutablePointer<Float>,
        biasGradient: UnsafeMutablePointer<Float>,
        outputGradient: UnsafePointer<Float>, input: UnsafePointer<Float>,
        weight: UnsafePointer<Float>, rows: Int, inWidth: Int, outWidth: Int
    ) {
        precondition(
            rows >= 0 && inWidth > 0 && outWidth > 0, "linearBackward: rows \(rows), \(inWidth) -> \(outWidth)")
        BLAS.sgemm(
            .none, .none, m: rows, n: inWidth, k: outWidth,
            a: outputGradient, lda: outWidth, b: weight, ldb: inWidth,
            beta: 0, c: inputGradient, ldc: inWidth)
        BLAS.sgemm(
            .transposed, .none, m: outWidth, n: inWidth, k: rows,
            a: outputGradient, lda: outWidth, b: input, ldb: inWidth,
            beta: 1, c: weightGradient, ldc: inWidth)
        addColumnSums(into: biasGradient, of: outputGradient, rows: rows, width: outWidth)
    }

    static func addColumnSums(
        into sums: UnsafeMutablePointer<Float>, of matrix: UnsafePointer<Float>,
        rows: Int, width: Int
    ) {
        for r in 0..<rows {
            let row = matrix + r * width
            for j in 0..<width { sums[j] += row[j] }
        }
    }

    // MARK: Causal (optionally sliding-window) multi-head self-attention

    struct AttentionShape {
        var batch: Int, length: Int, width: Int, heads: Int, window: Int?
        /// Rows per block of the score matrix: blocks above the diagonal (the future) and left of the
        /// window are never computed, so causal attention does ~half the work and a short sliding window
        /// far less. Small blocks are only for tests.
        var block: Int = 64
        var headWidth: Int { width / heads }
        var scale: Float { 1 / Float(headWidth).squareRoot() }
        var blocks: Int { (length + block - 1) / block }
        /// First position that position `t` may attend to.
        @inline(__always) func firstKey(_ t: Int) -> Int {
            guard let window else { return 0 }
            return max(0, t - window + 1)
        }
        /// Last position that attends to key position `k`.
        @inline(__always) func lastQuery(_ k: Int) -> Int {
            guard let window else { return length - 1 }
            return min(length - 1, k + window - 1)
        }
        /// Rows of block `i` and the key columns they need: rows [r0, r1), keys [k0, r1).
        @inline(__always) func rowBlock(_ i: Int) -> (r0: Int, r1: Int, k0: Int) {
            let r0 = i * block
            let r1 = min(length, r0 + block)
            return (r0, r1, firstKey(r0))
        }
        /// Key columns of block `i` and the query rows that attend to them: keys [c0, c1), rows [c0, q1).
        @inline(__always) func keyBlock(_ i: Int) -> (c0: Int, c1: Int, q1: Int) {
            let c0 = i * block
            let c1 = min(length, c0 + block)
            return (c0, c1, lastQuery(c1 - 1) + 1)
        }
    }

    /// qkv: [B, T, 3C] (q | k | v, head h at columns h*hs ..< (h+1)*hs of each part).
    /// probs: [B, H, T, T] attention probabilities (kept for backward). out: [B, T, C].
    static func attentionForward(
        out: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>,
        qkv: UnsafePointer<Float>, shape s: AttentionShape, threads: Int
    ) {
        let T = s.length
        let C = s.width
        let hs = s.headWidth
        let H = s.heads
        let pr = SharedPointer(probs)
        let o = SharedPointer(out)
        forEachHead(s, threads: threads) { b, h in
            let q = qkv + b * T * 3 * C + h * hs
            let p = pr.base + (b * H + h) * T * T
            for i in 0..<s.blocks {
                let (r0, r1, k0) = s.rowBlock(i)
                BLAS.sgemm(
                    .none, .transposed, m: r1 - r0, n: r1 - k0, k: hs, alpha: s.scale,
                    a: q + r0 * 3 * C, lda: 3 * C, b: q + C + k0 * 3 * C, ldb: 3 * C,
                    c: p + r0 * T + k0, ldc: T)
            }
        }
        Parallel.forRows(s.batch * H * T, threads: threads) { range in
            for row in range {
                let t = row % T
                let p = pr.base + row * T
                let first = s.firstKey(t)
                let count = t + 1 - first
                let maxValue = VectorMath.maximum(p + first, count)
                let sum = VectorMath.exponentiate(p + first, count, shift: maxValue)
                VectorMath.scale(p + first, count, by: 1 / sum)
                for j in 0..<first { p[j] = 0 }
                for j in (t + 1)..<T { p[j] = 0 }
            }
        }
        forEachHead(s, threads: threads) { b, h in
            let v = qkv + b * T * 3 * C + 2 * C + h * hs
            let p = pr.base + (b * H + h) * T * T
            let y = o.base + b * T * C + h * hs
            for i in 0..<s.blocks {
                let (r0, r1, k0) = s.rowBlock(i)
                BLAS.sgemm(
                    .none, .none, m: r1 - r0, n: hs, k: r1 - k0, a: p + r0 * T + k0, lda: T,
                    b: v + k0 * 3 * C, ldb: 3 * C, c: y + r0 * C, ldc: C)
            }
        }
    }

    /// Runs `body(b, h)` for every (batch row, head). With several threads the heads are spread over
    /// the engine's workers and OpenBLAS runs single-threaded inside each call: these 256x256x64-sized
    /// products are too small to split well, and each head's result is the same either way.
    static func forEachHead(_ s: AttentionShape, threads: Int, _ body: (Int, Int) -> Void) {
        let count = s.batch * s.heads
        if threads <= 1 || count < 2 {
            for i in 0..<count { body(i / s.heads, i % s.heads) }
            return
        }
        let previous = BLAS.threadCount
        BLAS.threadCount = 1
        Parallel.forRows(count, threads: threads, minimumRowsPerThread: 1) { range in
            for i in range { body(i / s.heads, i % s.heads) }
        }
        BLAS.threadCount = previous
    }

    /// Writes dL/d(qkv) into `qkvGradient` from dL/d(out); `scratch` holds [B, H, T, T] floats.
    static func attentionBackward(
        qkvGradient: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
        outputGradient: UnsafePointer<Float>, probs: UnsafePointer<Float>,
        qkv: UnsafePointer<Float>, shape s: AttentionShape, threads: Int
    ) {
        let T = s.length
        let C = s.width
        let hs = s.headWidth
        let H = s.heads
        let dg = SharedPointer(qkvGradient)
        let sc = SharedPointer(scratch)
        forEachHead(s, threads: threads) { b, h in
            let v = qkv + b * T * 3 * C + 2 * C + h * hs
            let dv = dg.base + b * T * 3 * C + 2 * C + h * hs
            let p = probs + (b * H + h) * T * T
            let dp = sc.base + (b * H + h) * T * T
            let dout = outputGradient + b * T * C + h * hs
            for i in 0..<s.blocks {
                // dP = dO V^T on the computed part of the score matrix.
                let (r0, r1, k0) = s.rowBlock(i)
                BLAS.sgemm(
                    .none, .transposed, m: r1 - r0, n: r1 - k0, k: hs, a: dout + r0 * C, lda: C,
                    b: v + k0 * 3 * C, ldb: 3 * C, c: dp + r0 * T + k0, ldc: T)
                // dV = P^T dO over the query rows that see these keys (P is zero elsewhere in them).
                let (c0, c1, q1) = s.keyBlock(i)
                BLAS.sgemm(
                    .transposed, .none, m: c1 - c0, n: hs, k: q1 - c0, a: p + c0 * T + c0, lda: T,
                    b: dout + c0 * C, ldb: C, c: dv + c0 * 3 * C, ldc: 3 * C)
            }
        }
        // Softmax backward: dS = P * (dP - sum(dP * P)), zero outside the allowed window.
        let ds = sc
        Parallel.forRows(s.batch * H * T, threads: threads) { range in
            for row in range {
                let t = row % T
                let p = probs + row * T
                let d = ds.base + row * T
                let first = s.firstKey(t)
                var dot: Float = 0
                for j in first...t { dot += p[j] * d[j] }
                for j in 0..<first { d[j] = 0 }
                for j in first...t { d[j] = p[j] * (d[j] - dot) }
                for j in (t + 1)..<T { d[j] = 0 }
            }
        }
        forEachHead(s, threads: threads) { b, h in
            let q = qkv + b * T * 3 * C + h * hs
            let dq = dg.base + b * T * 3 * C + h * hs
            let d = sc.base + (b * H + h) * T * T
            for i in 0..<s.blocks {
                // dQ = scale * dS K, dK = scale * dS^T Q, on the same blocks as the forward pass.
                let (r0, r1, k0) = s.rowBlock(i)
                BLAS.sgemm(
                    .none, .none, m: r1 - r0, n: hs, k: r1 - k0, alpha: s.scale, a: d + r0 * T + k0, lda: T,
                    b: q + C + k0 * 3 * C, ldb: 3 * C, c: dq + r0 * 3 * C, ldc: 3 * C)
                let (c0, c1, q1) = s.keyBlock(i)
                BLAS.sgemm(
                    .transposed, .none, m: c1 - c0, n: hs, k: q1 - c0, alpha: s.scale, a: d + c0 * T + c0, lda: T,
                    b: q + c0 * 3 * C, ldb: 3 * C, c: dq + C + c0 * 3 * C, ldc: 3 * C)
            }
        }
    }

    // MARK: Embeddings

    /// out[r] = tokenEmbedding[tokens[r]] + positionEmbedding[r % length].
    static func embeddingForward(
        out: UnsafeMutablePointer<Float>, tokens: UnsafePointer<Int32>,
        tokenEmbedding: UnsafePointer<Float>, positionEmbedding: UnsafePointer<Float>,
        rows: Int, length: Int, width C: Int
    ) {
        precondition(rows >= 0 && length > 0 && C > 0, "embeddingForward: rows \(rows), length \(length), width \(C)")
        for r in 0..<rows {
            // Token ids were checked against the vocabulary by GPTModel (invalidBatch) before any kernel ran.
            precondition(tokens[r] >= 0, "embeddingForward: negative token id \(tokens[r]) at row \(r)")
            let tok = tokenEmbedding + Int(tokens[r]) * C
            let pos = positionEmbedding + (r % length) * C
            let x = out + r * C
            for i in 0..<C { x[i] = tok[i] + pos[i] }
        }
    }

    /// Adds the embedding gradients (sequential: several rows may share a token).
    static func embeddingBackward(
        tokenGradient: UnsafeMutablePointer<Float>, positionGradient: UnsafeMutablePointer<Float>,
        outputGradient: UnsafePointer<Float>, tokens: UnsafePointer<Int32>,
        rows: Int, length: Int, width C: Int
    ) {
        precondition(rows >= 0 && length > 0 && C > 0, "embeddingBackward: rows \(rows), length \(length), width \(C)")
        for r in 0..<rows {
            precondition(tokens[r] >= 0, "embeddingBackward: negative token id \(tokens[r]) at row \(r)")
            let d = outputGradient + r * C
            let tok = tokenGradient + Int(tokens[r]) * C
            let pos = positionGradient + (r % length) * C
            for i in 0..<C {
                tok[i] += d[i]
                pos[i] += d[i]
            }
        }
    }

    // MARK: Tied output head + loss

    /// logits = input · embedding^T, then per-row cross-entropy (see `crossEntropy`). Returns the mean loss.
    static func headForward(
        logits: UnsafeMutablePointer<Float>, losses: UnsafeMutablePointer<Float>,
        input: UnsafePointer<Float>, embedding: UnsafePointer<Float>,
        targets: UnsafePointer<Int32>, rows: Int, width C: Int, vocabulary V: Int,
        gradientScale: Float?, threads: Int
    ) -> Double {
        BLAS.sgemm(
            .none, .transposed, m: rows, n: V, k: C, a: input, lda: C, b: embedding, ldb: C,
            c: logits, ldc: V)
        crossEntropy(
            logits: logits, losses: losses, targets: targets, rows: rows, vocabulary: V,
            gradientScale: gradientScale, threads: threads)
        var total = 0.0
        for r in 0..<rows { total += Double(losses[r]) }
        return total / Double(rows)
    }

    /// From dL/dlogits (left in `logitsGradient` by `headForward`): writes dL/dinput, adds dL/dembedding.
    static func headBackward(
        inputGradient: UnsafeMutablePointer<Float>, embeddingGradient: UnsafeMutablePointer<Float>,
        logitsGradient: UnsafePointer<Float>, input: UnsafePointer<Float>,
        embedding: UnsafePointer<Float>, rows: Int, width C: Int, vocabulary V: Int
    ) {
        BLAS.sgemm(
            .none, .none, m: rows, n: C, k: V, a: logitsGradient, lda: V, b: embedding, ldb: C,
            beta: 0, c: inputGradient, ldc: C)
        BLAS.sgemm(
            .transposed, .none, m: V, n: C, k: rows, a: logitsGradient, lda: V, b: input, ldb: C,
            beta: 1, c: embeddingGradient, ldc: C)
    }

    // MARK: Softmax cross-entropy

    /// Per-row loss into `losses`; when `gradientScale` is given the logits are replaced by
    /// gradientScale * (softmax - onehot(target)).
    static func crossEntropy(
        logits: UnsafeMutablePointer<Float>, losses: UnsafeMutablePointer<Float>,
        targets: UnsafePointer<Int32>, rows: Int, vocabulary V: Int,
        gradientScale: Float?, threads: Int
    ) {
        precondition(
            rows >= 0 && V > 0 && threads >= 1, "crossEntropy: rows \(rows), vocabulary \(V), threads \(threads)")
        let lg = SharedPointer(logits)
        let ls = SharedPointer(losses)
        Parallel.forRows(rows, threads: threads, minimumRowsPerThread: 4) { range in
            for r in range {
                let x = lg.base + r * V
                let maxValue = VectorMath.maximum(x, V)
                let target = Int(targets[r])
                // The other end of GPTModel's vocabulary check: an id past it would read another row's logits.
                precondition((0..<V).contains(target), "crossEntropy: target \(target) outside the vocabulary 0..<\(V)")
                let targetLogit = x[target]
                let sum: Float
                if let scale = gradientScale {
                    sum = VectorMath.exponentiate(x, V, shift: maxValue)
                    VectorMath.scale(x, V, by: scale / sum)
                    x[target] -= scale
                } else {
                    sum = VectorMath.sumOfExponentials(x, V, shift: maxValue, scratch: x)
                }
                ls.base[r] = logf(sum) - (targetLogit - maxValue)
            }
        }
    }
}

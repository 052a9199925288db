import BLAS
import Foundation
import XCTest

@testable import Engine

/// Finite-difference checks of every layer's backward pass in isolation. Inputs are Float (the engine's
/// type); the scalar test loss is summed in Double and the step is large enough that Float rounding in
/// the forward pass stays far below the tolerance.
final class LayerGradientTests: XCTestCase {
    let epsilon: Float = 1e-2
    let tolerance = 5e-3

    func testLayerNormGradients() {
        var random = TestRandom(1)
        let rows = 3
        let C = 16
        var x = random.floats(rows * C, scale: 2)
        var weight = random.floats(C).map { 1 + 0.3 * $0 }
        var bias = random.floats(C, scale: 0.3)
        let r = random.floats(rows * C)

        func forward(_ x: [Float], _ w: [Float], _ b: [Float]) -> Double {
            var out = [Float](repeating: 0, count: rows * C)
            var mean = [Float](repeating: 0, count: rows)
            var rstd = mean
            Kernels.layerNormForward(
                out: &out, mean: &mean, rstd: &rstd, input: x, weight: w, bias: b,
                rows: rows, width: C, threads: 1)
            return weightedSum(out, r)
        }
        var out = [Float](repeating: 0, count: rows * C)
        var mean = [Float](repeating: 0, count: rows)
        var rstd = mean
        Kernels.layerNormForward(
            out: &out, mean: &mean, rstd: &rstd, input: x, weight: weight, bias: bias,
            rows: rows, width: C, threads: 1)
        var dx = [Float](repeating: 0, count: rows * C)
        var dw = [Float](repeating: 0, count: C)
        var db = dw
        Kernels.layerNormBackward(
            inputGradient: &dx, weightGradient: &dw, biasGradient: &db, outputGradient: r,
            input: x, weight: weight, mean: mean, rstd: rstd, rows: rows, width: C, threads: 1)
        let w0 = weight
        let b0 = bias
        let x0 = x
        let nx = numericGradient(&x, indices: Array(0..<x.count), epsilon: epsilon) { forward($0, w0, b0) }
        let nw = numericGradient(&weight, indices: Array(0..<C), epsilon: epsilon) { forward(x0, $0, b0) }
        let nb = numericGradient(&bias, indices: Array(0..<C), epsilon: epsilon) { forward(x0, w0, $0) }
        XCTAssertLessThan(relativeError(dx.map(Double.init), nx), tolerance, "layernorm input")
        XCTAssertLessThan(relativeError(dw.map(Double.init), nw), tolerance, "layernorm weight")
        XCTAssertLessThan(relativeError(db.map(Double.init), nb), tolerance, "layernorm bias")
    }

    func testGELUGradient() {
        var random = TestRandom(2)
        let n = 200
        var x = random.floats(n, scale: 2)
        let r = random.floats(n)
        func forward(_ x: [Float]) -> Double {
            var out = [Float](repeating: 0, count: n)
            Kernels.geluForward(out: &out, input: x, count: n, threads: 1)
            return weightedSum(out, r)
        }
        var g = r
        Kernels.geluBackward(gradient: &g, input: x, count: n, threads: 1)
        let numeric = numericGradient(&x, indices: Array(0..<n), epsilon: 1e-3) { forward($0) }
        XCTAssertLessThan(relativeError(g.map(Double.init), numeric), tolerance)
        // GELU(0) = 0, GELU(x) ~ x for large x.
        var out = [Float](repeating: 0, count: 2)
        Kernels.geluForward(out: &out, input: [0, 10], count: 2, threads: 1)
        XCTAssertEqual(out[0], 0)
        XCTAssertEqual(out[1], 10, accuracy: 1e-4)
    }

    func testLinearGradients() {
        var random = TestRandom(3)
        let rows = 4
        let inW = 6
        let outW = 5
        var x = random.floats(rows * inW)
        var w = random.floats(outW * inW, scale: 0.5)
        var b = random.floats(outW)
        let r = random.floats(rows * outW)
        func forward(_ x: [Float], _ w: [Float], _ b: [Float]) -> Double {
            var out = [Float](repeating: 0, count: rows * outW)
            Kernels.linearForward(out: &out, input: x, weight: w, bias: b, rows: rows, inWidth: inW, outWidth: outW)
            return weightedSum(out, r)
        }
        var dx = [Float](repeating: 0, count: rows * inW)
        var dw = [Float](repeating: 0, count: outW * inW)
        var db = [Float](repeating: 0, count: outW)
        Kernels.linearBackward(
            inputGradient: &dx, weightGradient: &dw, biasGradient: &db, outputGradient: r,
            input: x, weight: w, rows: rows, inWidth: inW, outWidth: outW)
        let x0 = x
        let w0 = w
        let b0 = b
        let nx = numericGradient(&x, indices: Array(0..<x.count), epsilon: epsilon) { forward($0, w0, b0) }
        let nw = numericGradient(&w, indices: Array(0..<w.count), epsilon: epsilon) { forward(x0, $0, b0) }
        let nb = numericGradient(&b, indices: Array(0..<b.count), epsilon: epsilon) { forward(x0, w0, $0) }
        XCTAssertLessThan(relativeError(dx.map(Double.init), nx), tolerance, "linear input")
        XCTAssertLessThan(relativeError(dw.map(Double.init), nw), tolerance, "linear weight")
        XCTAssertLessThan(relativeError(db.map(Double.init), nb), tolerance, "linear bias")
    }

    func checkAttention(window: Int?, block: Int = 64) {
        var random = TestRandom(4)
        let shape = Kernels.AttentionShape(batch: 2, length: 5, width: 8, heads: 2, window: window, block: block)
        let n = shape.batch * shape.length * 3 * shape.width
        let outCount = shape.batch * shape.length * shape.width
        let probsCount = shape.batch * shape.heads * shape.length * shape.length
        var qkv = random.floats(n)
        let r = random.floats(outCount)
        func forward(_ qkv: [Float]) -> Double {
            var out = [Float](repeating: 0, count: outCount)
            var probs = [Float](repeating: 0, count: probsCount)
            Kernels.attentionForward(out: &out, probs: &probs, qkv: qkv, shape: shape, threads: 1)
            return weightedSum(out, r)
        }
        var out = [Float](repeating: 0, count: outCount)
        var probs = [Float](repeating: 0, count: probsCount)
        Kernels.attentionForward(out: &out, probs: &probs, qkv: qkv, shape: shape, threads: 1)
        // Masking: nothing attends to the future or beyond the window; rows sum to 1.
        for row in 0..<(shape.batch * shape.heads * shape.length) {
            let t = row % shape.length
            var sum: Float = 0
            for j in 0..<shape.length {
                let p = probs[row * shape.length + j]
                if j > t || j < shape.firstKey(t) { XCTAssertEqual(p, 0, "row \(row) key \(j)") }
                sum += p
            }
            XCTAssertEqual(sum, 1, accuracy: 1e-5)
        }
        var dqkv = [Float](repeating: 0, count: n)
        var scratch = [Float](repeating: 0, count: probsCount)
        Kernels.attentionBackward(
            qkvGradient: &dqkv, scratch: &scratch, outputGradient: r, probs: probs, qkv: qkv,
            shape: shape, threads: 1)
        let numeric = numericGradient(&qkv, indices: Array(0..<n), epsilon: epsilon) { forward($0) }
        XCTAssertLessThan(
            relativeError(dqkv.map(Double.init), numeric), tolerance, "attention window \(String(describing: window))")
    }

    func testCausalAttentionGradient() { checkAttention(window: nil) }

    func testSlidingWindowAttentionGradient() { checkAttention(window: 2) }

    /// Score blocks above the diagonal / outside the window are skipped; with 2-row blocks every case
    /// (partial last block, window starting inside a block) occurs at length 5.
    func testBlockSkippingAttentionGradient() {
        checkAttention(window: nil, block: 2)
        checkAttention(window: 2, block: 2)
        checkAttention(window: 3, block: 2)
    }

    func testBlockSkippingMatchesFullAttention() {
        var random = TestRandom(8)
        for window in [nil, 1, 5, 40] as [Int?] {
            let full = Kernels.AttentionShape(batch: 2, length: 37, width: 12, heads: 3, window: window, block: 1000)
            var blocked = full
            blocked.block = 8
            let n = 2 * 37 * 36
            let outCount = 2 * 37 * 12
            let probsCount = 2 * 3 * 37 * 37
            let qkv = random.floats(n)
            let dout = random.floats(outCount)
            func run(_ s: Kernels.AttentionShape, threads: Int) -> ([Float], [Float]) {
                var out = [Float](repeating: 0, count: outCount)
                var probs = [Float](repeating: .nan, count: probsCount)
                Kernels.attentionForward(out: &out, probs: &probs, qkv: qkv, shape: s, threads: threads)
                var dqkv = [Float](repeating: .nan, count: n)
                var scratch = [Float](repeating: .nan, count: probsCount)
                Kernels.attentionBackward(
                    qkvGradient: &dqkv, scratch: &scratch, outputGradient: dout, probs: probs,
                    qkv: qkv, shape: s, threads: threads)
                return (out, dqkv)
            }
            let (o1, g1) = run(full, threads: 1)
            let (o2, g2) = run(blocked, threads: 2)
            XCTAssertLessThan(
                relativeError(o1.map(Double.init), o2.map(Double.init)), 1e-6, "window \(String(describing: window))")
            XCTAssertLessThan(
                relativeError(g1.map(Double.init), g2.map(Double.init)), 1e-6, "window \(String(describing: window))")
            XCTAssertFalse(g2.contains { $0.isNaN }, "every gradient element is written")
        }
        BLAS.threadCount = 1
    }

    func testEmbeddingGradients() {
        var random = TestRandom(6)
        let V = 5
        let T = 3
        let C = 4
        let rows = 6
        let tokens: [Int32] = [1, 4, 1, 0, 1, 3] // repeated tokens must accumulate
        var wte = random.floats(V * C)
        var wpe = random.floats(T * C)
        let r = random.floats(rows * C)
        func forward(_ wte: [Float], _ wpe: [Float]) -> Double {
            var out = [Float](repeating: 0, count: rows * C)
            Kernels.embeddingForward(
                out: &out, tokens: tokens, tokenEmbedding: wte, positionEmbedding: wpe,
                rows: rows, length: T, width: C)
            return weightedSum(out, r)
        }
        var dwte = [Float](repeating: 0, count: V * C)
        var dwpe = [Float](repeating: 0, count: T * C)
        Kernels.embeddingBackward(
            tokenGradient: &dwte, positionGradient: &dwpe, outputGradient: r, tokens: tokens,
            rows: rows, length: T, width: C)
        let wte0 = wte
        let wpe0 = wpe
        let nte = numericGradient(&wte, indices: Array(0..<wte.count), epsilon: epsilon) { forward($0, wpe0) }
        let npe = numericGradient(&wpe, indices: Array(0..<wpe.count), epsilon: epsilon) { forward(wte0, $0) }
        XCTAssertLessThan(relativeError(dwte.map(Double.init), nte), tolerance, "token embedding")
        XCTAssertLessThan(relativeError(dwpe.map(Double.init), npe), tolerance, "position embedding")
        XCTAssertEqual(dwte[2 * C..<3 * C].allSatisfy { $0 == 0 }, true, "unused token gets no gradient")
    }

    func testTiedHeadAndLossGradients() {
        var random = TestRandom(7)
        let rows = 4
        let C = 6
        let V = 9
        var x = random.floats(rows * C)
        var e = random.floats(V * C, scale: 0.5)
        let targets: [Int32] = [0, 8, 3, 3]
        func loss(_ x: [Float], _ e: [Float]) -> Double {
            var logits = [Float](repeating: 0, count: rows * V)
            var losses = [Float](repeating: 0, count: rows)
            return Kernels.headForward(
                logits: &logits, losses: &losses, input: x, embedding: e, targets: targets,
                rows: rows, width: C, vocabulary: V, gradientScale: nil, threads: 1)
        }
        var logits = [Float](repeating: 0, count: rows * V)
        var losses = [Float](repeating: 0, count: rows)
        _ = Kernels.headForward(
            logits: &logits, losses: &losses, input: x, embedding: e, targets: targets,
            rows: rows, width: C, vocabulary: V, gradientScale: 1 / Float(rows), threads: 1)
        var dx = [Float](repeating: 0, count: rows * C)
        var de = [Float](repeating: 0, count: V * C)
        Kernels.headBackward(
            inputGradient: &dx, embeddingGradient: &de, logitsGradient: logits, input: x,
            embedding: e, rows: rows, width: C, vocabulary: V)
        let x0 = x
        let e0 = e
        let nx = numericGradient(&x, indices: Array(0..<x.count), epsilon: epsilon) { loss($0, e0) }
        let ne = numericGradient(&e, indices: Array(0..<e.count), epsilon: epsilon) { loss(x0, $0) }
        XCTAssertLessThan(relativeError(dx.map(Double.init), nx), tolerance, "head input")
        XCTAssertLessThan(relativeError(de.map(Double.init), ne), tolerance, "tied embedding (head side)")
    }

    func testCrossEntropyGradient() {
        var random = TestRandom(5)
        let rows = 3
        let V = 7
        var logits = random.floats(rows * V, scale: 2)
        let targets: [Int32] = [0, 6, 3]
        func loss(_ logits: [Float]) -> Double {
            var copy = logits
            var losses = [Float](repeating: 0, count: rows)
            Kernels.crossEntropy(
                logits: &copy, losses: &losses, targets: targets, rows: rows, vocabulary: V,
                gradientScale: nil, threads: 1)
            return losses.reduce(0.0) { $0 + Double($1) }
        }
        // Reference loss computed independently.
        var expected = 0.0
        for r in 0..<rows {
            let row = logits[(r * V)..<((r + 1) * V)].map(Double.init)
            let lse = log(row.map(exp).reduce(0, +))
            expected += lse - row[Int(targets[r])]
        }
        XCTAssertEqual(loss(logits), expected, accuracy: 1e-5)
        var grad = logits
        var losses = [Float](repeating: 0, count: rows)
        Kernels.crossEntropy(
            logits: &grad, losses: &losses, targets: targets, rows: rows, vocabulary: V,
            gradientScale: 1, threads: 1)
        let numeric = numericGradient(&logits, indices: Array(0..<logits.count), epsilon: 1e-2) { loss($0) }
        XCTAssertLessThan(relativeError(grad.map(Double.init), numeric), tolerance)
    }

    func testFastExpAndTanhMatchLibm() {
        var worstExp = 0.0
        var worstTanh = 0.0
        var x: Float = -80
        while x < 80 {
            let exact = Foundation.exp(Double(x))
            worstExp = max(worstExp, abs(Double(VectorMath.exp(x)) - exact) / exact)
            worstTanh = max(worstTanh, abs(Double(VectorMath.tanh(x)) - Foundation.tanh(Double(x))))
            x += 0.0373
        }
        XCTAssertLessThan(worstExp, 1e-6, "relative error of exp")
        XCTAssertLessThan(worstTanh, 1e-6, "absolute error of tanh")
        XCTAssertEqual(VectorMath.exp(0), 1)
        XCTAssertEqual(VectorMath.exp(-1000), VectorMath.exp(-87), "clamped, not garbage")
        XCTAssertEqual(VectorMath.tanh(200), 1)
        XCTAssertEqual(VectorMath.tanh(-200), -1)
    }
}

import BLAS
import XCTest

@testable import Engine

/// Finite-difference check of the whole model (embeddings, every block, final norm, tied head and loss)
/// through the public training entry point, tensor by tensor.
final class ModelGradientTests: XCTestCase {
    func checkModel(window: Int?) throws {
        let config = GPTConfig(
            vocabularySize: 13, contextLength: 8, layers: 2, heads: 2, width: 8, slidingWindow: window)
        let model = try GPTModel(config: config, seed: 7)
        // Larger-than-default weights so that every path carries a visible gradient.
        var random = TestRandom(11)
        try model.setParameterVector(
            model.parameterVector().enumerated().map { i, v in
                v + random.floats(1, scale: 0.1)[0]
            })
        let B = 2
        let T = 6
        let batch = random.tokens(B * (T + 1), vocabulary: config.vocabularySize)
        model.zeroGradients()
        try model.accumulateGradients(batch: batch, batchSize: B)
        let analytic = model.gradientVector()
        var parameters = model.parameterVector()
        func loss(_ p: [Float]) -> Double {
            try! model.setParameterVector(p)
            // Sum of per-token losses in Double, divided once: the mean the gradient refers to.
            let a = try! model.prepare(batch: batch, batchSize: B, training: false)
            return model.forward(a, computeLoss: true, gradientScale: nil)
        }
        for slot in model.tensors {
            // Up to 12 coordinates per tensor, spread over the whole tensor.
            let stride = max(1, slot.count / 12)
            let indices = Array(Swift.stride(from: slot.offset, to: slot.offset + slot.count, by: stride).prefix(12))
            let numeric = numericGradient(&parameters, indices: indices, epsilon: 1e-2, loss: loss)
            let exact = indices.map { Double(analytic[$0]) }
            let error = relativeError(exact, numeric)
            let scale = numeric.map(abs).max() ?? 0
            if scale < 1e-6 {
                XCTAssertLessThan(
                    exact.map(abs).max() ?? 0, 1e-5, "\(slot.name): numeric gradient ~0 but analytic is not")
            } else {
                XCTAssertLessThan(
                    error, 1e-2, "\(slot.name) (window \(String(describing: window))): relative error \(error)")
            }
        }
        try model.setParameterVector(parameters)
    }

    func testWholeModelGradient() throws { try checkModel(window: nil) }

    func testWholeModelGradientWithSlidingWindow() throws { try checkModel(window: 3) }

    func testGradientAccumulationEqualsLargerBatch() throws {
        let config = GPTConfig(vocabularySize: 17, contextLength: 8, layers: 1, heads: 2, width: 8)
        let model = try GPTModel(config: config, seed: 3)
        var random = TestRandom(5)
        let a = random.tokens(2 * 9, vocabulary: 17)
        let b = random.tokens(2 * 9, vocabulary: 17)
        model.zeroGradients()
        try model.accumulateGradients(batch: a + b, batchSize: 4)
        let whole = model.gradientVector()
        model.zeroGradients()
        try model.accumulateGradients(batch: a, batchSize: 2, scale: 0.5)
        try model.accumulateGradients(batch: b, batchSize: 2, scale: 0.5)
        let accumulated = model.gradientVector()
        XCTAssertLessThan(relativeError(whole.map(Double.init), accumulated.map(Double.init)), 1e-5)
    }

    func testThreadedPassesMatchSingleThreaded() throws {
        // Large enough that every row-parallel loop really splits across workers.
        let config = GPTConfig(vocabularySize: 97, contextLength: 32, layers: 2, heads: 4, width: 32)
        var random = TestRandom(21)
        let batch = random.tokens(8 * 33, vocabulary: 97)
        func run(threads: Int) throws -> (Float, [Float]) {
            let model = try GPTModel(config: config, seed: 5, threads: threads)
            model.zeroGradients()
            let loss = try model.accumulateGradients(batch: batch, batchSize: 8)
            return (loss, model.gradientVector())
        }
        let (loss1, grad1) = try run(threads: 1)
        let (loss3, grad3) = try run(threads: 3)
        XCTAssertEqual(loss1, loss3, accuracy: 1e-6 * loss1)
        XCTAssertLessThan(relativeError(grad1.map(Double.init), grad3.map(Double.init)), 1e-5)
        BLAS.threadCount = 1
    }
}

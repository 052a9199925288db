import Foundation
import XCTest

@testable import Engine

final class InferenceAndExchangeTests: XCTestCase {
    let config = GPTConfig(vocabularySize: 23, contextLength: 8, layers: 1, heads: 2, width: 8)

    func testEvaluationAveragesEveryPredictedToken() throws {
        let model = try GPTModel(config: config, seed: 3)
        var random = TestRandom(4)
        let stream = random.tokens(3 * 8 + 1 + 5, vocabulary: 23) // 3 windows + a partial tail
        let result = try model.evaluate(stream: stream, sequenceLength: 8, batchSize: 2)
        XCTAssertEqual(result.tokens, 24, "3 whole windows of 8 predicted tokens; the partial tail is dropped")
        var sum = 0.0
        for w in 0..<((stream.count - 1) / 8) {
            sum += Double(try model.loss(batch: Array(stream[(w * 8)...(w * 8 + 8)]), batchSize: 1)) * 8
        }
        XCTAssertEqual(result.meanLoss, sum / Double(result.tokens), accuracy: 1e-6)
        XCTAssertEqual(result.perplexity, exp(result.meanLoss), accuracy: 1e-9)
        XCTAssertThrowsError(try model.evaluate(stream: [1, 2], sequenceLength: 8))
    }

    func testSamplingIsSeededAndRespectsTopKAndTemperature() throws {
        let model = try GPTModel(config: config, seed: 5)
        // Sharper distribution so that greedy and sampling differ.
        try model.setParameterVector(model.parameterVector().map { $0 * 20 })
        let prompt: [Int32] = [1, 2, 3]
        let a = try model.generate(prompt: prompt, options: SamplingOptions(temperature: 1, seed: 1, maxNewTokens: 20))
        let b = try model.generate(prompt: prompt, options: SamplingOptions(temperature: 1, seed: 1, maxNewTokens: 20))
        let c = try model.generate(prompt: prompt, options: SamplingOptions(temperature: 1, seed: 2, maxNewTokens: 20))
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
        XCTAssertEqual(a.count, 20)
        XCTAssertTrue(a.allSatisfy { $0 >= 0 && $0 < 23 })
        // Greedy == top-1 at any temperature; each greedy token is the argmax of the logits.
        let greedy = try model.generate(prompt: prompt, options: SamplingOptions(temperature: 0, maxNewTokens: 12))
        let top1 = try model.generate(
            prompt: prompt, options: SamplingOptions(temperature: 2, topK: 1, seed: 9, maxNewTokens: 12))
        XCTAssertEqual(greedy, top1)
        var context = prompt
        for token in greedy {
            let logits = try model.nextTokenLogits(context: context)
            XCTAssertEqual(Int(token), logits.indices.max(by: { logits[$0] < logits[$1] }))
            context.append(token)
        }
        // Top-k never emits a token outside the k most likely.
        let logits = try model.nextTokenLogits(context: prompt)
        let top3 = Set(logits.indices.sorted { logits[$0] > logits[$1] }.prefix(3).map { Int32($0) })
        for seed in 0..<30 {
            let t = try model.generate(
                prompt: prompt, options: SamplingOptions(temperature: 5, topK: 3, seed: UInt64(seed), maxNewTokens: 1))
            XCTAssertTrue(top3.contains(t[0]))
        }
        XCTAssertThrowsError(try model.generate(prompt: [], options: SamplingOptions()))
        XCTAssertThrowsError(try model.generate(prompt: [99], options: SamplingOptions()))
    }

    func testSeededInitializationIsDeterministic() throws {
        let a = try GPTModel(config: config, seed: 12).parameterVector()
        let b = try GPTModel(config: config, seed: 12).parameterVector()
        let c = try GPTModel(config: config, seed: 13).parameterVector()
        XCTAssertEqual(a.map(\.bitPattern), b.map(\.bitPattern))
        XCTAssertNotEqual(a, c)
    }

    func testFlatVectorsPseudoGradientsAndNesterovOuterStep() throws {
        let model = try GPTModel(config: config, seed: 1)
        let global = model.parameterVector()
        XCTAssertEqual(global.count, model.parameterCount)
        XCTAssertEqual(model.parameterCount, config.parameterCount)
        XCTAssertThrowsError(try model.setParameterVector([1, 2, 3])) { error in
            XCTAssertEqual(error as? EngineError, .vectorLengthMismatch(expected: model.parameterCount, got: 3))
        }
        // Inner steps move the local weights; the pseudo-gradient is global - local.
        let trainer = try Trainer(
            model: model, optimizer: AdamWConfig(), schedule: LearningRateSchedule(peak: 1e-2, totalSteps: 3))
        var random = TestRandom(6)
        for _ in 0..<3 { _ = try trainer.trainStep(batch: random.tokens(2 * 9, vocabulary: 23), batchSize: 2) }
        let local = model.parameterVector()
        let delta = try DiLoCo.pseudoGradient(global: global, local: local)
        for i in stride(from: 0, to: global.count, by: 97) { XCTAssertEqual(delta[i], global[i] - local[i]) }

        // Outer Nesterov SGD against a hand computation (torch.optim.SGD, nesterov=True).
        let outer = try OuterNesterovSGD(parameterCount: 3, learningRate: 0.7, momentum: 0.9)
        var theta: [Float] = [1, 2, 3]
        let g: [Float] = [0.1, -0.2, 0.3]
        try outer.step(global: &theta, pseudoGradient: g)
        // v = g; theta -= 0.7 * (g + 0.9 g) = 0.7 * 1.9 g
        for i in 0..<3 { XCTAssertEqual(theta[i], [1, 2, 3][i] - 0.7 * 1.9 * g[i], accuracy: 1e-6) }
        try outer.step(global: &theta, pseudoGradient: g)
        // v = 1.9 g; update = g + 0.9 * 1.9 g = 2.71 g
        for i in 0..<3 { XCTAssertEqual(theta[i], [1, 2, 3][i] - 0.7 * (1.9 + 2.71) * g[i], accuracy: 1e-6) }
        XCTAssertEqual(outer.velocity[0], 0.19, accuracy: 1e-6)

        // With outer lr 1 and no momentum, one averaged round equals plain averaging of local weights.
        let plain = try OuterNesterovSGD(parameterCount: global.count, learningRate: 1, momentum: 0)
        let other = global.map { $0 + 0.01 }
        let average = try DiLoCo.average([delta, try DiLoCo.pseudoGradient(global: global, local: other)])
        var next = global
        try plain.step(global: &next, pseudoGradient: average)
        for i in stride(from: 0, to: global.count, by: 53) {
            XCTAssertEqual(next[i], (local[i] + other[i]) / 2, accuracy: 1e-6)
        }
        // Deltas travel as bf16 at half the bytes.
        let wire = Safetensors.encode(delta, as: .bfloat16)
        XCTAssertEqual(wire.count, 2 * delta.count)
        let back = try Safetensors.decode(wire, as: .bfloat16)
        for i in 0..<delta.count { XCTAssertEqual(back[i], delta[i], accuracy: abs(delta[i]) / 128 + 1e-30) }
    }

    /// The compact pseudo-gradient formats: receivers decode exactly what the sender counts as sent, the sizes
    /// are the documented ones, and error feedback loses nothing over rounds (what one round drops, the next sends).
    func testCompactPseudoGradientsDecodeToWhatWasSentAndErrorFeedbackLosesNothing() throws {
        var random = TestRandom(9)
        let count = 1000 // 3 full blocks of 256 and a partial one, an even and an odd tail
        let delta = random.floats(count, scale: 1e-3)
        XCTAssertEqual(PseudoGradientFormat.int4.byteCount(values: count), 4 * 4 + 500)
        XCTAssertEqual(PseudoGradientFormat.sign.byteCount(values: count), 4 * 4 + 125)
        XCTAssertEqual(
            Double(PseudoGradientFormat.int4.byteCount(values: 1 << 20)) / Double(1 << 20), 0.515625,
            "bytes a parameter")
        XCTAssertEqual(
            Double(PseudoGradientFormat.sign.byteCount(values: 1 << 20)) / Double(1 << 20), 0.140625,
            "bytes a parameter")
        for format in PseudoGradientFormat.allCases {
            let wire = try DiLoCo.encode(delta, as: format)
            XCTAssertEqual(wire.bytes.count, format.byteCount(values: count), format.rawValue)
            XCTAssertEqual(try DiLoCo.decode(wire.bytes, count: count, as: format), wire.sent, format.rawValue)
            XCTAssertThrowsError(try DiLoCo.decode(wire.bytes.dropLast(), count: count, as: format))
        }
        // int4: within half a step (peak / 14) of the value; sign: ± the block's mean magnitude, signs kept.
        let int4 = try DiLoCo.encode(delta, as: .int4).sent
        let peak = delta[0..<256].map(abs).max()!
        for i in 0..<256 { XCTAssertEqual(int4[i], delta[i], accuracy: peak / 14 * 1.0001) }
        let sign = try DiLoCo.encode(delta, as: .sign).sent
        let mean = delta[0..<256].map(abs).reduce(0, +) / 256
        for i in 0..<256 { XCTAssertEqual(sign[i], delta[i] >= 0 ? mean : -mean) }
        XCTAssertThrowsError(try DiLoCo.encode([1, .nan], as: .sign))

        // Error feedback: after R rounds, what was sent plus the residual is the sum of the deltas.
        let encoder = PseudoGradientEncoder(format: .sign, parameterCount: count)
        var sent = [Double](repeating: 0, count: count)
        var total = [Double](repeating: 0, count: count)
        for _ in 0..<20 {
            let round = random.floats(count, scale: 1e-3)
            let wire = try encoder.encode(round)
            for i in 0..<count {
                sent[i] += Double(wire.sent[i])
                total[i] += Double(round[i])
            }
        }
        for i in 0..<count { XCTAssertEqual(sent[i] + Double(encoder.residual[i]), total[i], accuracy: 1e-8) }
        // A contribution its round went without is owed again.
        let before = encoder.residual
        let late = try encoder.encode([Float](repeating: 0, count: count))
        try encoder.restore(late.sent)
        for i in 0..<count { XCTAssertEqual(encoder.residual[i], before[i], accuracy: 1e-9) }
    }

    func testBadInputsNameTheProblem() throws {
        XCTAssertThrowsError(
            try GPTModel(
                config: GPTConfig(vocabularySize: 10, contextLength: 8, layers: 1, heads: 3, width: 8), seed: 0)
        ) { error in
            XCTAssertTrue("\(error)".contains("width"), "\(error)")
        }
        let model = try GPTModel(config: config, seed: 0)
        XCTAssertThrowsError(try model.loss(batch: [1, 2, 3], batchSize: 2)) { error in
            XCTAssertTrue("\(error)".contains("rows"), "\(error)")
        }
        XCTAssertThrowsError(try model.loss(batch: [1, 2, 30], batchSize: 1)) { error in
            XCTAssertTrue("\(error)".contains("vocabulary"), "\(error)")
        }
        XCTAssertThrowsError(try model.loss(batch: Array(repeating: 1, count: 10), batchSize: 1)) { error in
            XCTAssertTrue("\(error)".contains("contextLength"), "\(error)")
        }
        XCTAssertThrowsError(
            try Trainer(
                model: model, optimizer: AdamWConfig(beta1: 1), schedule: LearningRateSchedule(peak: 1, totalSteps: 1))
        ) { error in
            XCTAssertTrue("\(error)".contains("beta1"), "\(error)")
        }
    }

    func testOuterStateRoundTripsThroughACheckpoint() throws {
        let dir = try temporaryDirectory("outer")
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try GPTModel(config: config, seed: 2)
        let trainer = try Trainer(
            model: model, optimizer: AdamWConfig(), schedule: LearningRateSchedule(peak: 1e-3, totalSteps: 4))
        let outer = try OuterNesterovSGD(parameterCount: model.parameterCount)
        var global = model.parameterVector()
        try outer.step(global: &global, pseudoGradient: global.map { $0 * 0.01 })
        let path = dir.appendingPathComponent("round.safetensors").path
        try trainer.save(
            to: path, dataState: "round 1", metadata: ["diloco_round": "1"], extraTensors: outer.stateTensors)
        let checkpoint = try Checkpoint(path: path)
        XCTAssertEqual(checkpoint.userMetadata["diloco_round"], "1")
        let restored = try OuterNesterovSGD(parameterCount: model.parameterCount)
        try restored.restore(from: checkpoint)
        XCTAssertEqual(restored.velocity, outer.velocity)
        XCTAssertNotEqual(restored.velocity.first, 0)
        // A velocity of the wrong size is refused.
        XCTAssertThrowsError(try OuterNesterovSGD(parameterCount: 3).restore(from: checkpoint))
    }
}

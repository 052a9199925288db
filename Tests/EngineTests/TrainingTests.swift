import Foundation
import Primitives
import XCTest

@testable import Engine

final class TrainingTests: XCTestCase {
    func testTinyModelOverfitsOneBatch() throws {
        let config = GPTConfig(vocabularySize: 32, contextLength: 16, layers: 2, heads: 2, width: 32)
        let model = try GPTModel(config: config, seed: 1)
        let trainer = try Trainer(
            model: model, optimizer: AdamWConfig(weightDecay: 0),
            schedule: LearningRateSchedule(peak: 1e-2, warmupSteps: 10, totalSteps: 200, decay: .constant))
        var random = TestRandom(9)
        let batch = random.tokens(4 * 17, vocabulary: 32)
        let first = try trainer.trainStep(batch: batch, batchSize: 4)
        XCTAssertEqual(Double(first.loss), log(32.0), accuracy: 0.3, "a fresh model predicts ~uniformly")
        var last = first
        for _ in 0..<200 { last = try trainer.trainStep(batch: batch, batchSize: 4) }
        XCTAssertLessThan(
            try model.loss(batch: batch, batchSize: 4), 0.05, "after \(trainer.step) steps, last step loss \(last.loss)"
        )
    }

    /// Bytes of Python's documentation sources (python3-doc), as a byte-level (vocabulary 256) corpus.
    static func pythonDocsBytes(limit: Int) throws -> [UInt8] {
        let root = "/usr/share/doc/python3.11/html/_sources"
        guard let walker = FileManager.default.enumerator(atPath: root) else {
            throw XCTSkip("\(root) is missing (install python3-doc)")
        }
        let files = walker.compactMap { $0 as? String }.filter { $0.hasSuffix(".txt") }.sorted()
        var bytes: [UInt8] = []
        for file in files where bytes.count < limit {
            bytes.append(contentsOf: try Data(contentsOf: URL(fileURLWithPath: root + "/" + file)))
        }
        return Array(bytes.prefix(limit))
    }

    static func unigramEntropy(_ tokens: ArraySlice<Int32>) -> Double {
        var counts = [Int](repeating: 0, count: 256)
        for t in tokens { counts[Int(t)] += 1 }
        let n = Double(tokens.count)
        return counts.filter { $0 > 0 }.reduce(0.0) { $0 - Double($1) / n * log(Double($1) / n) }
    }

    func testSmallModelLearnsRealText() throws {
        let bytes = try Self.pythonDocsBytes(limit: 1_200_000)
        XCTAssertGreaterThan(bytes.count, 500_000, "python3-doc corpus unexpectedly small")
        let tokens = bytes.map { Int32($0) }
        let split = tokens.count * 9 / 10
        let train = tokens[..<split]
        let validation = Array(tokens[split...].prefix(32 * 65 * 8))
        let entropy = Self.unigramEntropy(validation[...])

        let config = GPTConfig(vocabularySize: 256, contextLength: 64, layers: 2, heads: 4, width: 64)
        let model = try GPTModel(config: config, seed: 42, threads: 2)
        let steps = 600
        let trainer = try Trainer(
            model: model, optimizer: AdamWConfig(),
            schedule: LearningRateSchedule(peak: 4e-3, floor: 4e-4, warmupSteps: 40, totalSteps: steps))
        var random = SplitMix64(seed: 5)
        let B = 16
        let T = 64
        for _ in 0..<steps {
            var batch: [Int32] = []
            for _ in 0..<B {
                let start = Int(random.next() % UInt64(train.count - T - 1))
                batch.append(contentsOf: train[(train.startIndex + start)...(train.startIndex + start + T)])
            }
            _ = try trainer.trainStep(batch: batch, batchSize: B)
        }
        let result = try model.evaluate(stream: validation, sequenceLength: T, batchSize: 8)
        print(
            "python-docs bytes: unigram entropy \(entropy) nats, validation loss \(result.meanLoss), perplexity \(result.perplexity)"
        )
        XCTAssertGreaterThan(entropy, 2.5, "English text bytes carry well over 2.5 nats")
        XCTAssertLessThan(result.meanLoss, entropy - 0.8, "validation loss must fall well below the unigram entropy")
        XCTAssertEqual(result.perplexity, exp(result.meanLoss), accuracy: 1e-9)
    }

    /// Deterministic "data stream" for the resume test: batch i depends only on (seed, i).
    static func batch(step: Int, vocabulary: Int, rows: Int, length: Int) -> [Int32] {
        var random = TestRandom(1000 + UInt64(step))
        // Repetitive structure so the model has something to learn.
        return (0..<(rows * (length + 1))).map { i in Int32((i * 3 + Int(random.generator.next() % 3)) % vocabulary) }
    }

    func testSaveLoadContinueIsBitForBit() throws {
        let dir = try temporaryDirectory("resume")
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = GPTConfig(vocabularySize: 29, contextLength: 12, layers: 2, heads: 2, width: 16, slidingWindow: 6)
        let schedule = LearningRateSchedule(peak: 5e-3, floor: 1e-4, warmupSteps: 3, totalSteps: 12, decay: .cosine)
        let optimizer = AdamWConfig(weightDecay: 0.1, maxGradientNorm: 0.5)
        func microbatches(_ step: Int) -> [[Int32]] {
            [
                Self.batch(step: 2 * step, vocabulary: 29, rows: 3, length: 12),
                Self.batch(step: 2 * step + 1, vocabulary: 29, rows: 3, length: 12),
            ]
        }

        let uninterrupted = try Trainer(
            model: GPTModel(config: config, seed: 99, threads: 1), optimizer: optimizer, schedule: schedule)
        var expected: [Float] = []
        for step in 0..<10 {
            expected.append(try uninterrupted.trainStep(microbatches: microbatches(step), batchSize: 3).loss)
        }

        let first = try Trainer(
            model: GPTModel(config: config, seed: 99, threads: 1), optimizer: optimizer, schedule: schedule)
        var losses: [Float] = []
        for step in 0..<4 { losses.append(try first.trainStep(microbatches: microbatches(step), batchSize: 3).loss) }
        let path = dir.appendingPathComponent("step4.safetensors").path
        try first.save(to: path, dataState: #"{"next_batch":8}"#, metadata: ["job": "resume-test"])

        let checkpoint = try Checkpoint(path: path)
        XCTAssertEqual(checkpoint.step, 4)
        XCTAssertEqual(checkpoint.dataState, #"{"next_batch":8}"#)
        XCTAssertEqual(checkpoint.userMetadata["job"], "resume-test")
        XCTAssertEqual(checkpoint.config, config)
        let resumed = try checkpoint.loadTrainer(threads: 1)
        XCTAssertEqual(resumed.step, 4)
        XCTAssertEqual(resumed.optimizer.config, optimizer)
        XCTAssertEqual(resumed.schedule, schedule)
        for step in 4..<10 { losses.append(try resumed.trainStep(microbatches: microbatches(step), batchSize: 3).loss) }

        XCTAssertEqual(losses.map(\.bitPattern), expected.map(\.bitPattern), "losses \(losses) vs \(expected)")
        XCTAssertEqual(
            resumed.model.parameterVector().map(\.bitPattern), uninterrupted.model.parameterVector().map(\.bitPattern))
        XCTAssertLessThan(expected.last!, expected.first!, "training made progress")
    }

    func testScheduleWarmupCosineAndLinearDecay() {
        let cosine = LearningRateSchedule(peak: 1, floor: 0.1, warmupSteps: 4, totalSteps: 14, decay: .cosine)
        XCTAssertEqual(cosine.rate(at: 0), 0.25, accuracy: 1e-6)
        XCTAssertEqual(cosine.rate(at: 3), 1, accuracy: 1e-6)
        XCTAssertEqual(cosine.rate(at: 9), 0.55, accuracy: 1e-6)
        XCTAssertEqual(cosine.rate(at: 14), 0.1, accuracy: 1e-6)
        XCTAssertEqual(cosine.rate(at: 100), 0.1, accuracy: 1e-6)
        let linear = LearningRateSchedule(peak: 1, floor: 0, warmupSteps: 0, totalSteps: 10, decay: .linear)
        XCTAssertEqual(linear.rate(at: 0), 1, accuracy: 1e-6)
        XCTAssertEqual(linear.rate(at: 5), 0.5, accuracy: 1e-6)
        XCTAssertEqual(linear.rate(at: 10), 0, accuracy: 1e-6)
    }

    func testClippingAndWeightDecayOnlyOnMatrices() throws {
        let config = GPTConfig(vocabularySize: 11, contextLength: 4, layers: 1, heads: 1, width: 4)
        let model = try GPTModel(config: config, seed: 1)
        // Zero gradients + lr 1: AdamW's moment update is 0, so only decoupled decay moves parameters.
        let optimizer = try AdamW(config: AdamWConfig(weightDecay: 0.5), for: model)
        let before = model.parameterVector()
        model.zeroGradients()
        optimizer.apply(to: model, learningRate: 1)
        let after = model.parameterVector()
        for slot in model.tensors {
            for i in slot.offset..<(slot.offset + slot.count) {
                XCTAssertEqual(after[i], slot.decays ? before[i] * 0.5 : before[i], "\(slot.name)")
            }
        }
        // Clipping: the step reports the pre-clip norm; the update uses the clipped gradient.
        let trainer = try Trainer(
            model: model, optimizer: AdamWConfig(maxGradientNorm: 1e-3),
            schedule: LearningRateSchedule(peak: 1e-3, totalSteps: 10))
        let result = try trainer.trainStep(batch: [1, 2, 3, 4, 5], batchSize: 1)
        XCTAssertGreaterThan(result.gradientNorm, 1e-3)
        let clippedNorm = GradientNorm.compute(model.gradients, threads: 1)
        XCTAssertEqual(clippedNorm, 1e-3, accuracy: 1e-6)
    }
}

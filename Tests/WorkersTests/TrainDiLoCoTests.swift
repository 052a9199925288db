import APITypes
import ClusterModel
import DataShards
import Engine
import Foundation
import XCTest
@testable import Workers

/// DiLoCo gangs in-process: two `TrainExecutor`s (rank 0 and 1 of a 2-member gang) run concurrently on their
/// own threads and coordinate only through the job's shared training directory, exactly as two worker
/// processes sharing an artifact directory do.
final class TrainDiLoCoTests: XCTestCase {
    private var root: URL!
    private var train: URL!
    private var heldOut: URL!

    override func setUpWithError() throws {
        root = temporaryDirectory("diloco")
        train = try TrainFixtures.dataset(at: root.appendingPathComponent("data/train"), name: "train", documents: 160, seed: 3)
        heldOut = try TrainFixtures.dataset(at: root.appendingPathComponent("data/heldout"), name: "heldout", documents: 20, seed: 77, shards: 1)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: root) }

    private func settings(batch: Int, steps: Int, diloco: TrainDiLoCoSettings? = nil) -> TrainSettings {
        TrainSettings(model: TrainFixtures.tinyModel(), data: [TrainDataSource(path: train.path)], batchSize: batch, sequenceLength: 32,
                      steps: steps, optimizer: TrainOptimizerSettings(learningRate: 3e-3, warmupSteps: 10), seed: 11, logEvery: 25,
                      eval: TrainEvalSettings(data: [TrainDataSource(path: heldOut.path)], every: 1000, batches: 8),
                      threads: 1, diloco: diloco)
    }

    private static func member(_ rank: Int, of size: Int, job: String, jobID: Int64, settings: TrainSettings, attempt: Int = 1,
                               root: URL) async throws -> TaskResult {
        let gang = GangInfo(rank: rank, size: size, peers: (0..<size).map { GangPeer(rank: $0, taskID: TaskID(jobID * 10 + Int64($0))) })
        let task = try TrainFixtures.assignment(job: job, jobID: jobID, settings: settings, attempt: attempt, gang: gang)
        return try await TrainExecutor().run(task, context: TrainFixtures.context(task, root: root))
    }

    func testTwoWorkersMatchOneWorkerOnTheSameTokensWithFarLessCommunication() async throws {
        let steps = 200, innerSteps = 50
        // Baseline: one worker, batch 16 = the two members' 2 x 8 per step, same number of steps and tokens
        // (what synchronous data parallelism exchanging gradients every step computes).
        let single = try await run(settings(batch: 16, steps: steps), job: "single", jobID: 20)
        let spec = settings(batch: 8, steps: steps, diloco: TrainDiLoCoSettings(innerSteps: innerSteps, transfer: "bf16", roundTimeoutSeconds: 120))
        let root = self.root!
        async let rank0 = Self.member(0, of: 2, job: "gang", jobID: 21, settings: spec, root: root)
        async let rank1 = Self.member(1, of: 2, job: "gang", jobID: 21, settings: spec, root: root)
        let members = try await [rank0, rank1]

        let singleLoss = try XCTUnwrap(single.result["valLoss"]?.doubleValue)
        let dilocoLoss = try XCTUnwrap(members[0].result["valLoss"]?.doubleValue)
        XCTAssertEqual(members[1].result["valLoss"], members[0].result["valLoss"], "both members end with the same global weights")
        let sent = members.map { $0.result["bytesSent"]?.intValue ?? 0 }.reduce(0, +)
        let gradientExchange = members.map { $0.result["gradientExchangeBytes"]?.intValue ?? 0 }.reduce(0, +)
        let ratio = Double(gradientExchange) / Double(max(1, sent))
        print("""
            DiLoCo 2 workers x \(steps) steps (H=\(innerSteps), bf16): val loss \(dilocoLoss); one worker, same tokens: \(singleLoss) \
            (\(String(format: "%+.2f", (dilocoLoss / singleLoss - 1) * 100))%); bytes sent \(sent) vs \(gradientExchange) for \
            fp32 gradients every step (\(String(format: "%.0f", ratio))x fewer)
            """)
        XCTAssertLessThanOrEqual(dilocoLoss, singleLoss * 1.05, "DiLoCo within 5% of one worker on the same tokens")
        XCTAssertGreaterThanOrEqual(ratio, 50, "at least 50x fewer bytes than exchanging gradients every step")
        XCTAssertEqual(members.map { $0.result["roundsContributed"] }, [4, 4])
        XCTAssertEqual(members.compactMap { $0.result["roundsPublished"]?.intValue }.reduce(0, +), 4, "each round's outer step published once")
        XCTAssertLessThan(dilocoLoss, 3.0, "it learned")
    }

    func testALostMemberDoesNotStopTheGangAndAReplacementJoinsAtTheNextRound() async throws {
        let spec = settings(batch: 8, steps: 120, diloco: TrainDiLoCoSettings(innerSteps: 20, roundTimeoutSeconds: 0.3))
        let directory = root.appendingPathComponent("artifacts/training/lossy-30/diloco")
        // Rank 1 is lost from the start; rank 0 completes rounds alone after the timeout.
        let root = self.root!
        async let survivor = Self.member(0, of: 2, job: "lossy", jobID: 30, settings: spec, root: root)
        // Its replacement starts once round 2's global weights exist.
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent(DiLoCoTraining.globalName(2)).path) {
            try await Task.sleep(nanoseconds: 5_000_000)
        }
        let replacement = try await Self.member(1, of: 2, job: "lossy", jobID: 30, settings: spec, attempt: 2, root: root)
        let first = try await survivor
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(replacement.result["joinedAtRound"]?.intValue), 2)
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(replacement.result["roundsContributed"]?.intValue), 1, "the replacement contributed")
        XCTAssertEqual(first.result["valLoss"], replacement.result["valLoss"], "both end on the same global weights")
        XCTAssertLessThan(try XCTUnwrap(first.result["valLoss"]?.doubleValue), 3.2)
        // The final global checkpoint holds the outer momentum.
        let final = try Checkpoint(path: try XCTUnwrap(first.result["finalGlobal"]?.stringValue))
        XCTAssertEqual(try final.tensor(named: DiLoCoTraining.velocityTensor).count, final.config.parameterCount)
    }

    private func run(_ settings: TrainSettings, job: String, jobID: Int64) async throws -> TaskResult {
        let task = try TrainFixtures.assignment(job: job, jobID: jobID, settings: settings)
        return try await TrainExecutor().run(task, context: TrainFixtures.context(task, root: root))
    }
}

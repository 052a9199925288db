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
        train = try TrainFixtures.dataset(
            at: root.appendingPathComponent("data/train"), name: "train", documents: 160, seed: 3)
        heldOut = try TrainFixtures.dataset(
            at: root.appendingPathComponent("data/heldout"), name: "heldout", documents: 20, seed: 77, shards: 1)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: root) }

    private func settings(batch: Int, steps: Int, diloco: TrainDiLoCoSettings? = nil) -> TrainSettings {
        TrainSettings(
            model: TrainFixtures.tinyModel(), data: [TrainDataSource(path: train.path)], batchSize: batch,
            sequenceLength: 32,
            steps: steps, optimizer: TrainOptimizerSettings(learningRate: 3e-3, warmupSteps: 10), seed: 11,
            logEvery: 25,
            eval: TrainEvalSettings(data: [TrainDataSource(path: heldOut.path)], every: 1000, batches: 8),
            threads: 1, diloco: diloco)
    }

    private static func member(
        _ rank: Int, of size: Int, job: String, jobID: Int64, settings: TrainSettings, attempt: Int = 1,
        root: URL
    ) async throws -> TaskResult {
        let gang = GangInfo(
            rank: rank, size: size, peers: (0..<size).map { GangPeer(rank: $0, taskID: TaskID(jobID * 10 + Int64($0))) }
        )
        let task = try TrainFixtures.assignment(
            job: job, jobID: jobID, settings: settings, attempt: attempt, gang: gang)
        return try await TrainExecutor().run(task, context: TrainFixtures.context(task, root: root))
    }

    /// Issue 22: on real text the paper's setting (bf16 deltas, H = 50, outer lr 0.7, Nesterov 0.9) ended 10-17%
    /// above one worker on the same tokens (DiLoCoBench --bytes ... at seeds 11-13), and the two validation
    /// losses were measured on different samples (B rows for the gang, 2·B for the worker). Here: the tutorial of
    /// Python's documentation as UTF-8 bytes, 600 steps, the defaults (sign deltas with error feedback, H = 4,
    /// outer lr 1, no outer momentum); both final models are evaluated again in the test on one set of held-out
    /// batches, which must give exactly the losses the runs reported.
    func testOnRealTextTwoMembersStayWithin5PercentOfOneWorkerOnTheSameHeldOutSamplesAt100xFewerBytes() async throws {
        let text = try RealText.datasets(at: root.appendingPathComponent("pydocs"))
        func spec(batch: Int, diloco: TrainDiLoCoSettings? = nil) -> TrainSettings {
            TrainSettings(
                model: TrainFixtures.tinyModel(), data: [TrainDataSource(path: text.train.path)], batchSize: batch,
                sequenceLength: 32,
                steps: 600, optimizer: TrainOptimizerSettings(learningRate: 3e-3, warmupSteps: 10), seed: 11,
                logEvery: 100,
                eval: TrainEvalSettings(data: [TrainDataSource(path: text.heldOut.path)], every: 600, batches: 8),
                threads: 1, diloco: diloco)
        }
        // One worker with batch 16 = the members' 2 x 8 a step: the same samples of the one global order.
        let single = try await run(spec(batch: 16), job: "single", jobID: 40)
        let gang = spec(batch: 8, diloco: TrainDiLoCoSettings(roundTimeoutSeconds: 120))
        let root = self.root!
        async let rank0 = Self.member(0, of: 2, job: "gang", jobID: 41, settings: gang, root: root)
        async let rank1 = Self.member(1, of: 2, job: "gang", jobID: 41, settings: gang, root: root)
        let members = try await [rank0, rank1]

        // Both final models on the same 8 x 16 held-out samples.
        let plan = try TrainingPlan(settings: spec(batch: 16))
        let heldOut = try heldOutBatches(try XCTUnwrap(try plan.evaluationStream()), count: 8)
        func loss(_ path: String?) throws -> Double {
            let checkpoint = try Checkpoint(path: try XCTUnwrap(path))
            let model = try GPTModel(config: checkpoint.config, seed: 0)
            try model.load(from: checkpoint)
            return try meanLoss(model: model, batches: heldOut, batchSize: 16)
        }
        let singleLoss = try loss(single.result["checkpoint"]?.stringValue)
        let dilocoLoss = try loss(members[0].result["finalGlobal"]?.stringValue)
        XCTAssertEqual(
            single.result["valLoss"]?.doubleValue, singleLoss, "one worker's reported loss is on these samples")
        XCTAssertEqual(
            members[0].result["valLoss"]?.doubleValue, dilocoLoss, "the gang's reported loss is on the same samples")
        XCTAssertEqual(
            members[1].result["valLoss"], members[0].result["valLoss"], "both members end with the same global weights")

        let sum = { (key: String) in members.map { $0.result[key]?.intValue ?? 0 }.reduce(0, +) }
        let gradients = Double(sum("gradientExchangeBytes"))
        let sentRatio = gradients / Double(max(1, sum("bytesSent")))
        let receivedRatio = gradients / Double(max(1, sum("bytesReceived")))
        print(
            """
            DiLoCo 2 members x 600 steps on real text (\(members[0].result["transfer"]?.stringValue ?? "?"), H=\(members[0].result["innerSteps"]?.intValue ?? 0)): \
            val loss \(dilocoLoss); one worker, same tokens and held-out samples: \(singleLoss) (\(String(format: "%+.2f", (dilocoLoss / singleLoss - 1) * 100))%); \
            bytes sent \(sum("bytesSent")), received \(sum("bytesReceived")) vs \(Int(gradients)) for fp32 gradients every step \
            (\(String(format: "%.0f", sentRatio))x, \(String(format: "%.0f", receivedRatio))x fewer)
            """)
        XCTAssertLessThanOrEqual(
            dilocoLoss, singleLoss * 1.05, "DiLoCo within 5% of one worker on the same tokens and held-out samples")
        XCTAssertGreaterThanOrEqual(
            sentRatio, 100, "members send at least 100x fewer bytes than fp32 gradients every step")
        XCTAssertGreaterThanOrEqual(
            receivedRatio, 100, "and receive at least 100x fewer: no weights or outer momentum each round")
        XCTAssertEqual(members.map { $0.result["roundsContributed"] }, [150, 150])
        XCTAssertEqual(sum("roundsPublished"), 150, "each round's member list published once")
    }

    func testALostMemberDoesNotStopTheGangAndAReplacementJoinsAtTheNextRound() async throws {
        let spec = settings(batch: 8, steps: 120, diloco: TrainDiLoCoSettings(innerSteps: 20, roundTimeoutSeconds: 0.3))
        let directory = root.appendingPathComponent("artifacts/training/lossy-30/diloco")
        // Rank 1 is lost from the start; rank 0 completes rounds alone after the timeout.
        let root = self.root!
        async let survivor = Self.member(0, of: 2, job: "lossy", jobID: 30, settings: spec, root: root)
        // Its replacement starts once round 2 is decided.
        while !FileManager.default.fileExists(
            atPath: directory.appendingPathComponent(DiLoCoTraining.membersName(2)).path)
        {
            try await Task.sleep(nanoseconds: 5_000_000)
        }
        let replacement = try await Self.member(
            1, of: 2, job: "lossy", jobID: 30, settings: spec, attempt: 2, root: root)
        let first = try await survivor
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(replacement.result["joinedAtRound"]?.intValue), 2)
        XCTAssertGreaterThanOrEqual(
            try XCTUnwrap(replacement.result["roundsContributed"]?.intValue), 1, "the replacement contributed")
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

/// Real text for DiLoCo: the Python documentation sources Debian's python3-doc ships (the sample pipeline's
/// data), as UTF-8 bytes (vocabulary 256, eot 0): the tutorial to train on, the first two HOWTOs held out.
enum RealText {
    static func sources() throws -> String {
        let base = "/usr/share/doc"
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []).filter {
            $0.hasPrefix("python3")
        }.sorted()
        for name in names where FileManager.default.fileExists(atPath: "\(base)/\(name)/html/_sources/tutorial") {
            return "\(base)/\(name)/html/_sources"
        }
        throw XCTSkip("python3-doc is not installed (scripts/install-deps.sh installs it)")
    }

    static func datasets(at directory: URL) throws -> (train: URL, heldOut: URL) {
        let root = try sources()
        func files(_ folder: String) -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: "\(root)/\(folder)")) ?? []).filter {
                $0.hasSuffix(".txt")
            }.sorted().map { "\(root)/\(folder)/\($0)" }
        }
        let train = directory.appendingPathComponent("tutorial-bytes")
        let heldOut = directory.appendingPathComponent("howto-bytes")
        for (url, inputs) in [(train, files("tutorial")), (heldOut, Array(files("howto").prefix(2)))] {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            let template = DatasetIndex(
                name: url.lastPathComponent, tokenizerHash: "bytes", vocabularySize: 256, endOfTextID: 0)
            let writer = try ShardWriter(
                directory: url.path, name: "shard-00000", dtype: template.dtype, endOfTextID: 0)
            for file in inputs {
                try writer.appendDocument(Array(try Data(contentsOf: URL(fileURLWithPath: file))).map { Int($0) })
            }
            let info = try writer.finish()
            try DatasetIndex.update(directory: url.path, creatingFrom: template) {
                (index: inout DatasetIndex) throws(DatasetIndexError) in
                try index.record(info)
            }
        }
        return (train, heldOut)
    }
}

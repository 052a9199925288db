import APITypes
import ClusterModel
import Foundation
import Postgres
import Scheduler
import TestSupport
import XCTest

@testable import Control

/// Issue 21's admission check against a real PostgreSQL (docs/dedup.md, "Admission check"): datasets are recorded
/// by real tokenize completions (shard, input files) from task specs with and without `decontamination`; train jobs
/// with `requireDecontaminated` are planned by the real submission. A worker's claim never leases such a job
/// directly; the pass holds the one over data made without decontaminate, storing the reason `describe job` and
/// the API show, and places the one over data decontaminated against its eval, which the worker then claims.
final class DecontaminationAdmissionTests: StoreTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws {
        try super.setUpWithError()
        directory = try TemporaryDirectory.make(prefix: "decontamination-admission-")
    }

    override func tearDown() {
        directory?.remove()
        directory = nil
        super.tearDown()
    }

    /// A one-task tokenize job writing dataset `name` from `file`, decontaminated against `evalFiles` when given;
    /// its task is claimed and completed by `w` with the shard and the input file, as a worker reports them.
    private func tokenize(_ name: String, from file: String, decontaminatedAgainst evalFiles: [String]?, by w: WorkerID)
        throws
    {
        let datasetDirectory = directory.path + "/" + name
        var spec = TokenizeTaskSpec(
            dataset: name, datasetDirectory: datasetDirectory, shardIndex: 0, shardCount: 1, files: [file],
            input: TokenizeInputOptions(), tokenizerPath: directory.path + "/tokenizer.json", endOfText: nil,
            dedup: false)
        spec.decontamination = evalFiles.map { DecontaminationTaskSettings(evalFiles: $0, ngramWords: 13) }
        _ = try jobs.submit(
            NewJob(
                name: "tokenize-\(name)", type: TokenizeJobKinds.tokenizeName,
                tasks: [NewTask(spec: JSONText.encode(try AnyJSON(encoding: spec)))]))
        let lease = try XCTUnwrap(try leases.claimNext(for: w).first, "a tokenize task takes the fast path")
        let shard = DatasetShardFacts(
            dataset: name, datasetDirectory: datasetDirectory, index: 0, name: "shard-00000",
            location: datasetDirectory + "/shard-00000.bin", sha256: String(repeating: "a", count: 64), bytes: 100,
            idxSHA256: String(repeating: "b", count: 64), idxBytes: 50, tokens: 50, documents: 3, dtype: "uint16",
            tokenizerHash: String(repeating: "c", count: 64), tokenizerPath: spec.tokenizerPath, vocabularySize: 256,
            endOfTextID: 0)
        let lineage = ShardLineageFacts(
            inputs: [.init(name: file, location: file, sha256: String(repeating: "d", count: 64), bytes: 10)])
        let result: AnyJSON = [
            DatasetShardFacts.resultKey: try AnyJSON(encoding: shard),
            ShardLineageFacts.resultKey: try AnyJSON(encoding: lineage),
        ]
        let completion = AttemptCompletion(
            attempt: lease.attempt, result: JSONText.encode(result),
            shard: try XCTUnwrap(try ShardCompletion(result: result)))
        XCTAssertEqual(try leases.complete([completion], by: w)[lease.attempt], .applied)
    }

    /// A train job on `dataset` declaring eval dataset `heldout`, planned by the real submission.
    private func trainJob(_ name: String, on dataset: String) throws -> NewJob {
        let planners = JobPlanners()
        TrainJobPlanner.register(in: planners, store: ControlStore(pool: pool))
        let document: AnyJSON = [
            "apiVersion": "llmops/v1", "kind": "Job", "metadata": ["name": .string(name)],
            "spec": [
                "type": "train", "resources": ["cpu": 1, "memory": "64Mi"],
                "train": [
                    "model": ["vocabularySize": 256, "contextLength": 32, "layers": 1, "heads": 2, "width": 32],
                    "data": [["dataset": .string(dataset)]], "batchSize": 2, "steps": 4,
                    "evalEvery": "checkpoint", "evals": [["dataset": "heldout", "batches": 2]],
                    "requireDecontaminated": true,
                ],
            ],
        ]
        let planned = try ManifestSubmission(planners: planners, registry: .standard)
            .jobs(from: SubmitManifestsRequest(documents: [document]))
        XCTAssertEqual(planned.count, 1)
        return try XCTUnwrap(planned.first?.job)
    }

    func testATrainJobOverDataNotDecontaminatedAgainstItsEvalStaysPendingWithTheReason() throws {
        let w = try worker(cpus: 8)
        let evalFile = directory.path + "/evals/heldout.jsonl"
        try tokenize("heldout", from: evalFile, decontaminatedAgainst: nil, by: w)
        try tokenize("web-raw", from: directory.path + "/web/a.jsonl", decontaminatedAgainst: nil, by: w)
        try tokenize("web-clean", from: directory.path + "/web/a.jsonl", decontaminatedAgainst: [evalFile], by: w)

        let heldJob = try trainJob("train-raw", on: "web-raw")
        let cleanJob = try trainJob("train-clean", on: "web-clean")
        XCTAssertTrue(heldJob.placedByScheduler && cleanJob.placedByScheduler)
        let held = try jobs.submit(heldJob)
        let clean = try jobs.submit(cleanJob)

        // The worker polls with room for both: the claim's fast path leases neither (it knows nothing of the check).
        XCTAssertEqual(try leases.claimNext(for: w, limit: 4).map(\.jobName), [])

        // The pass, on what PostgreSQL records: web-raw misses heldout's file, web-clean covers it.
        let snapshot = try pool.withConnection { try SchedulingStore.snapshot($0, previousReservations: []) }
        let facts = snapshot.pendingJobs.first { $0.id == held.id }?.decontamination
        XCTAssertEqual(
            facts,
            DecontaminationFacts(
                trainingDatasets: [.init(name: "web-raw", decontaminatedAgainst: [])],
                evals: [.dataset(name: "heldout", sourceFiles: [.init(name: evalFile, location: evalFile)])]))
        XCTAssertEqual(
            snapshot.pendingJobs.first { $0.id == clean.id }?.decontamination?.trainingDatasets,
            [.init(name: "web-clean", decontaminatedAgainst: [evalFile])])
        let decisions = Scheduler().schedule(snapshot)
        XCTAssertEqual(decisions.placements.map(\.job), [clean.id])
        XCTAssertEqual(PoolAutoscaler.demand(snapshot, decisions).map(\.job), [], "a held job buys no node")
        _ = try pool.withConnection { try SchedulingStore.commit(decisions, $0) }

        let expected =
            "training dataset web-raw was made without decontaminate, so not against eval dataset heldout; make a new dataset with decontaminate: {evals: [\"\(evalFile)\"]} (a tokenize job writing another output.dataset) and train on that"
        XCTAssertEqual(try jobs.job(held.id)?.pendingReason, expected)
        XCTAssertEqual(try jobs.job(clean.id)?.pendingReason, nil)

        // The worker's next poll takes the placed task and nothing of the held job.
        XCTAssertEqual(try leases.claimNext(for: w, limit: 4).map(\.jobName), ["train-clean"])
        XCTAssertEqual(try jobs.job(held.id)?.state, .pending)
        XCTAssertEqual(try taskStates(held.id), [.queued])
        XCTAssertEqual(
            try sqlInt(
                "SELECT count(*) FROM task_attempts a JOIN tasks t ON t.id = a.task_id WHERE t.job_id = $1",
                [.int(held.id.rawValue)]), 0, "never leased")
    }

    /// A full pass's worth of held-able train jobs (`SchedulingPassLimits.standard.jobs`, 512) each get their facts
    /// from the two statements; the snapshot's time beside the same snapshot with the flag removed (the anchor,
    /// same run) is printed, not asserted.
    func testAFullPassOfHeldJobsGetsItsFactsFromTwoStatements() throws {
        let w = try worker(cpus: 8)
        let evalFile = directory.path + "/evals/heldout.jsonl"
        try tokenize("heldout", from: evalFile, decontaminatedAgainst: nil, by: w)
        try tokenize("web-raw", from: directory.path + "/web/a.jsonl", decontaminatedAgainst: nil, by: w)
        let count = SchedulingPassLimits.standard.jobs
        var spec = TrainSettings(
            model: TrainModelSettings(vocabularySize: 256, contextLength: 32, layers: 1, heads: 2, width: 32),
            data: [TrainDataSource(dataset: "web-raw")], batchSize: 2, steps: 4)
        spec.evalEvery = .checkpoint
        spec.evals = [CheckpointEvalSource(dataset: "heldout")]
        spec.requireDecontaminated = true
        let task = NewTask(spec: JSONText.encode(try AnyJSON(encoding: spec)))
        _ = try jobs.submit(
            (0..<count).map { NewJob(name: "train-\($0)", type: TrainJobKinds.trainName, tasks: [task]) })

        func snapshotSeconds() throws -> (ClusterSnapshot, Double) {
            var times: [Double] = []
            var last: ClusterSnapshot?
            for _ in 0..<5 {
                let start = DispatchTime.now().uptimeNanoseconds
                last = try pool.withConnection { try SchedulingStore.snapshot($0, previousReservations: []) }
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
            return (try XCTUnwrap(last), times.sorted()[2])
        }
        let (checked, checkedSeconds) = try snapshotSeconds()
        XCTAssertEqual(checked.pendingJobs.count, count)
        XCTAssertEqual(checked.pendingJobs.filter { $0.decontamination != nil }.count, count)
        let decisions = Scheduler().schedule(checked)
        XCTAssertEqual(decisions.placements, [])
        XCTAssertEqual(decisions.pending.filter { $0.text.hasPrefix("training dataset web-raw") }.count, count)

        try pool.withConnection { try $0.execute("UPDATE tasks SET spec = spec - 'requireDecontaminated'") }
        let (anchor, anchorSeconds) = try snapshotSeconds()
        XCTAssertEqual(anchor.pendingJobs.filter { $0.decontamination != nil }.count, 0)
        print(
            "decontamination facts: snapshot of \(count) train jobs \(String(format: "%.1f", checkedSeconds * 1000)) ms"
                + " with requireDecontaminated, \(String(format: "%.1f", anchorSeconds * 1000)) ms without"
                + " (ratio \(String(format: "%.2f", checkedSeconds / anchorSeconds)), median of 5)")
    }
}

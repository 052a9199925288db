// The admission check of `requireDecontaminated` (issue 21, docs/dedup.md "Admission check"): the rule as a table
// (dataset evals by their source files, path evals by the files under them, several evals and several training
// datasets), its why-pending text, and a pass holding the job without placing, reserving or preempting anything.
import ClusterModel
import XCTest

@testable import Scheduler

final class DecontaminationRuleTests: XCTestCase {
    private typealias Eval = DecontaminationFacts.DeclaredEval
    private typealias File = DecontaminationFacts.SourceFile

    private static let heldout = Eval.dataset(
        name: "heldout", sourceFiles: [File(name: "/evals/heldout.jsonl", location: "/evals/heldout.jsonl")])
    /// Uploaded by `opsctl apply`: read from the blob store, named by the path the manifest gave.
    private static let uploaded = Eval.dataset(
        name: "uploaded", sourceFiles: [File(name: "/home/me/qa.jsonl", location: "cp://blobs/ab12")])
    private static let twoFiles = Eval.dataset(
        name: "two",
        sourceFiles: [
            File(name: "/evals/a.jsonl", location: "/evals/a.jsonl"),
            File(name: "/evals/b.jsonl", location: "/evals/b.jsonl"),
        ])

    func testCoverage() {
        let table: [(evalFiles: [String], eval: Eval, covered: Bool, line: UInt)] = [
            (["/evals/heldout.jsonl"], Self.heldout, true, #line),
            (["/evals/heldout.jsonl", "/evals/other.jsonl"], Self.heldout, true, #line),
            (["/evals/other.jsonl"], Self.heldout, false, #line),
            ([], Self.heldout, false, #line),
            (["/home/me/qa.jsonl"], Self.uploaded, true, #line), // by the name the manifest gave
            (["cp://blobs/ab12"], Self.uploaded, true, #line), // by where it was read
            (["/evals/a.jsonl"], Self.twoFiles, false, #line), // every source file, not one of them
            (["/evals/b.jsonl", "/evals/a.jsonl"], Self.twoFiles, true, #line),
            (["/evals/heldout.jsonl"], .dataset(name: "unknown", sourceFiles: nil), false, #line),
            (["/evals/heldout.jsonl"], .dataset(name: "empty", sourceFiles: []), false, #line),
            (["/data/code-eval/text.jsonl"], .path("/data/code-eval"), true, #line),
            (["/data/code-eval/text.jsonl"], .path("/data/code-eval/"), true, #line),
            (["/data/code-eval/sub/x.jsonl"], .path("/data/code-eval"), true, #line),
            (["/data/code-eval"], .path("/data/code-eval"), true, #line),
            (["/data/code-eval-old/text.jsonl"], .path("/data/code-eval"), false, #line), // a sibling, not under it
            (["/data/code.jsonl"], .path("/data/code-eval"), false, #line),
        ]
        for row in table {
            XCTAssertEqual(
                DecontaminationRule.covers(Set(row.evalFiles), row.eval), row.covered, "\(row.eval)", line: row.line)
        }
    }

    func testGapsNameEachDatasetAndOnlyTheEvalsItMisses() {
        typealias Dataset = DecontaminationFacts.TrainingDataset
        let evals: [Eval] = [Self.heldout, .path("/data/code-eval")]
        let clean = Dataset(name: "clean", decontaminatedAgainst: ["/evals/heldout.jsonl", "/data/code-eval/t.jsonl"])
        let half = Dataset(name: "half", decontaminatedAgainst: ["/evals/heldout.jsonl"])
        let raw = Dataset(name: "raw", decontaminatedAgainst: [])
        let missing = Dataset(name: "missing", decontaminatedAgainst: nil)
        let table: [(datasets: [Dataset], gaps: [DecontaminationGap], line: UInt)] = [
            ([clean], [], #line),
            (
                [half],
                [
                    DecontaminationGap(
                        dataset: "half", decontaminatedAgainst: half.decontaminatedAgainst,
                        uncovered: [.path("/data/code-eval")])
                ], #line
            ),
            ([raw], [DecontaminationGap(dataset: "raw", decontaminatedAgainst: [], uncovered: evals)], #line),
            (
                [clean, missing],
                [DecontaminationGap(dataset: "missing", decontaminatedAgainst: nil, uncovered: evals)],
                #line
            ),
            (
                [raw, clean, half],
                [
                    DecontaminationGap(dataset: "raw", decontaminatedAgainst: [], uncovered: evals),
                    DecontaminationGap(
                        dataset: "half", decontaminatedAgainst: half.decontaminatedAgainst,
                        uncovered: [.path("/data/code-eval")]),
                ], #line
            ),
        ]
        for row in table {
            let facts = DecontaminationFacts(trainingDatasets: row.datasets, evals: evals)
            XCTAssertEqual(DecontaminationRule.gaps(facts), row.gaps, line: row.line)
            XCTAssertEqual(DecontaminationRule.cause(facts) == nil, row.gaps.isEmpty, line: row.line)
        }
    }

    func testTheReasonSaysWhatToDo() {
        let raw = PendingCause.notDecontaminated([
            DecontaminationGap(dataset: "web", decontaminatedAgainst: [], uncovered: [Self.heldout])
        ])
        XCTAssertEqual(
            PendingReasonText.render(raw),
            #"training dataset web was made without decontaminate, so not against eval dataset heldout; make a new dataset with decontaminate: {evals: ["/evals/heldout.jsonl"]} (a tokenize job writing another output.dataset) and train on that"#
        )
        let partial = PendingCause.notDecontaminated([
            DecontaminationGap(
                dataset: "web", decontaminatedAgainst: ["/evals/heldout.jsonl"],
                uncovered: [.path("/data/code-eval"), .dataset(name: "qa", sourceFiles: nil)])
        ])
        XCTAssertEqual(
            PendingReasonText.render(partial),
            #"training dataset web was decontaminated against /evals/heldout.jsonl but not against eval path /data/code-eval and eval dataset qa; make a new dataset with decontaminate: {evals: ["/evals/heldout.jsonl", "/data/code-eval/*.jsonl"]} (a tokenize job writing another output.dataset) and train on that (eval dataset qa has no recorded source files: add the files it was tokenized from)"#
        )
        let unregistered = PendingCause.notDecontaminated([
            DecontaminationGap(dataset: "next", decontaminatedAgainst: nil, uncovered: [Self.heldout])
        ])
        XCTAssertEqual(
            PendingReasonText.render(unregistered),
            "training dataset next is not registered, so its decontamination against eval dataset heldout cannot be checked; the job starts once a tokenize job with decontaminate makes it"
        )
        let many = (1...10).map { Eval.path("/e\($0)") }
        let long = PendingReasonText.render(
            .notDecontaminated([DecontaminationGap(dataset: "web", decontaminatedAgainst: [], uncovered: many)]))
        XCTAssertTrue(long.contains("eval path /e8 and 2 more;"), long)
    }

    /// A held job is settled before fair share: it preempts nothing though it outranks the running work, reserves
    /// nothing, and its reason is the check alone; the job behind it takes the free worker. Covered, the same job
    /// preempts as any job of its priority would.
    func testAHeldJobWaitsWithTheReasonAndNeverTakesRoom() {
        let queues = [QueueSpec(name: "lab")]
        let workers = [worker(1, cpu(8)), worker(2, cpu(8))]
        let busy = [running(900, job: 9, on: 1, cpu(8), queue: "lab", priority: -10)]
        var held = job(1, queue: "lab", priority: 100, cpu(8))
        held.decontamination = DecontaminationFacts(
            trainingDatasets: [.init(name: "web", decontaminatedAgainst: [])], evals: [Self.heldout])
        let other = job(2, queue: "lab", cpu(8))
        let d = Scheduler().schedule(
            ClusterSnapshot(now: 0, workers: workers, allocations: busy, pendingJobs: [held, other], queues: queues))
        XCTAssertEqual(d.placements.map(\.job), [JobID(2)])
        XCTAssertEqual(d.preemptions, [])
        XCTAssertEqual(d.reservations, [])
        guard case .notDecontaminated(let gaps)? = d.pendingReason(for: JobID(1))?.causes.first else {
            return XCTFail("\(d.pending)")
        }
        XCTAssertEqual(gaps.map(\.dataset), ["web"])
        XCTAssertEqual(d.pendingReason(for: JobID(1))?.causes.count, 1, "no capacity clause: room is not the issue")

        held.decontamination?.trainingDatasets = [.init(name: "web", decontaminatedAgainst: ["/evals/heldout.jsonl"])]
        let covered = Scheduler().schedule(
            ClusterSnapshot(now: 0, workers: workers, allocations: busy, pendingJobs: [held, other], queues: queues))
        XCTAssertEqual(covered.placements.map(\.job), [JobID(1)], "the free worker goes to the higher priority")
        XCTAssertEqual(covered.pendingReason(for: JobID(1)), nil)
    }
}

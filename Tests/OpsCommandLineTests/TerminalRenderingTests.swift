// The pure renderings behind `get metrics` (CSV, the series over steps, sparklines), the progress bar and ETA of
// `apply --wait` / `logs -f` on a terminal, and `get --watch`'s frames. Before, a single-task job showed no ETA
// until it finished, and none of these renderings existed.

import APITypes
import ClusterModel
import Foundation
import XCTest

@testable import OpsCommandLine

final class TerminalRenderingTests: XCTestCase {
    private func point(_ id: Int64, _ name: String, step: Int64, _ value: Double) -> MetricPointView {
        MetricPointView(
            id: id, jobID: JobID(1), taskID: TaskID(2), attemptID: AttemptID(3), name: name, step: step, value: value,
            time: Date(timeIntervalSince1970: 1_767_000_000 + Double(id)))
    }

    func testASparklineScalesItsMeansFromLowestToHighest() {
        XCTAssertEqual(Sparkline.render([1, 2, 3, 4, 5, 6, 7, 8]), "▁▂▃▄▅▆▇█")
        XCTAssertEqual(Sparkline.render((1...16).map(Double.init), width: 8), "▁▂▃▄▅▆▇█", "pairs averaged")
        XCTAssertEqual(Sparkline.render([8, 1]), "█▁")
        XCTAssertEqual(Sparkline.render([5, 5, 5]), "▄▄▄", "a flat series at mid height")
        XCTAssertEqual(Sparkline.render([1, .nan, .infinity, 2]), "▁█", "non-finite values are left out")
        XCTAssertEqual(Sparkline.render([]), "")
        XCTAssertEqual(Sparkline.render((0..<1000).map { 10 / Double($0 + 1) }, width: 40).count, 40)
        XCTAssertEqual(Sparkline.buckets([1, 2, 3, 4, 5], count: 2), [1.5, 4])
    }

    func testAProgressBarFillsWholeCellsAndClampsItsFraction() {
        XCTAssertEqual(ProgressBar.render(fraction: 0.5, width: 10), "[█████░░░░░]  50%")
        XCTAssertEqual(ProgressBar.render(fraction: 0, width: 4), "[░░░░]   0%")
        XCTAssertEqual(ProgressBar.render(fraction: 0.999, width: 10), "[█████████░]  99%")
        XCTAssertEqual(ProgressBar.render(fraction: 1.7, width: 4), "[████] 100%")
        XCTAssertEqual(ProgressBar.render(fraction: .nan, width: 4), "[░░░░]   0%")
    }

    func testASingleTaskJobGetsItsBarAndETAFromItsTasksProgress() {
        let now = Date(timeIntervalSince1970: 1_767_000_000)
        let job = JobView(
            id: JobID(1), name: "pretrain", type: "train", state: .running, tasks: TaskCounts(running: 1),
            submittedAt: now.addingTimeInterval(-40), startedAt: now.addingTimeInterval(-30))
        let task = TaskView(
            id: TaskID(2), jobID: JobID(1), jobName: "pretrain", index: 0, state: .running, progress: 0.25,
            createdAt: now, updatedAt: now)
        let fraction = JobProgress.fraction(job, tasks: [task])
        XCTAssertEqual(fraction, 0.25)
        XCTAssertEqual(JobProgress.remainingSeconds(job, fraction: fraction, now: now), 90)
        XCTAssertEqual(
            ApplyCommand.progressLine(job, bar: fraction, now: now),
            "pretrain  running  [█████░░░░░░░░░░░░░░░]  25%  0/1 tasks (1 running)  ETA 1m30s")
        // Without the bar (not a terminal) the line is what pipes have always received: no task has finished,
        // so no ETA.
        XCTAssertEqual(ApplyCommand.progressLine(job, now: now), "pretrain  running  0/1 tasks (1 running)")
        // Without tasks, finished tasks count; a succeeded job is done.
        XCTAssertEqual(JobProgress.fraction(job, tasks: nil), 0)
        var done = job
        done.state = .succeeded
        XCTAssertEqual(JobProgress.fraction(done, tasks: nil), 1)
        XCTAssertNil(JobProgress.remainingSeconds(done, fraction: 1, now: now))
    }

    func testCSVQuotesFieldsWithCommasQuotesAndLineBreaks() {
        XCTAssertEqual(
            CSV.render(headers: ["a", "b"], rows: [["x,y", "say \"hi\""], ["line\nbreak", "plain"]]),
            "a,b\n\"x,y\",\"say \"\"hi\"\"\"\n\"line\nbreak\",plain\n")
    }

    func testAMetricHistoryIsRowsInStoredOrderAndOneSeriesPerNameOverSteps() {
        // Step 2 was reported twice (a retried attempt): the later point counts in the series.
        let points = [
            point(1, "loss", step: 1, 3), point(2, "lr", step: 1, 0.001), point(3, "loss", step: 2, 2),
            point(4, "loss", step: 2, 2.5), point(5, "loss", step: 3, 1),
        ]
        let csv = MetricHistory.csv(points).split(separator: "\n")
        XCTAssertEqual(csv.first, "name,step,value,taskID,attemptID,time")
        XCTAssertEqual(csv[1], "loss,1,3.0,2,3,2025-12-29T09:20:01.000Z")
        XCTAssertEqual(csv[2], "lr,1,0.001,2,3,2025-12-29T09:20:02.000Z")
        XCTAssertEqual(csv.count, 6)
        XCTAssertEqual(MetricHistory.series(points.filter { $0.name == "loss" }).map(\.value), [3, 2.5, 1])
        XCTAssertEqual(
            MetricHistory.sparklines(points),
            "loss  █▆▁  3 → 1  (min 1, max 3; 3 steps, 1…3)\nlr    ▄  0.001 → 0.001  (min 0.001, max 0.001; 1 step, 1…1)\n"
        )
    }

    func testAWatchPrintsAListingOnlyWhenItChanged() {
        var log = WatchFrames(live: false, header: "every 2s: opsctl get jobs")
        let time = Date(timeIntervalSince1970: 1_767_000_000)
        XCTAssertEqual(log.frame("A\n", at: time), "A\n")
        XCTAssertNil(log.frame("A\n", at: time))
        XCTAssertEqual(log.frame("B\n", at: time), "\nB\n", "a blank line between listings")
        var screen = WatchFrames(live: true, header: "every 2s: opsctl get jobs")
        XCTAssertEqual(screen.frame("A\n", at: time), "\u{1B}[H\u{1B}[2Jevery 2s: opsctl get jobs  09:20:00 UTC\n\nA\n")
        XCTAssertNil(screen.frame("A\n", at: time.addingTimeInterval(2)))
    }

    func testOutputFormatsAreCheckedPerKindBeforeAnythingIsAsked() throws {
        func request(_ line: String) throws -> GetRequest {
            try GetRequest(
                Settings(
                    parsed: try OpsCommands.parser.parse(line.split(separator: " ").map(String.init)), environment: [:])
            )
        }
        XCTAssertEqual(try request("get metrics pretrain --name loss -o csv").format, .csv)
        XCTAssertEqual(try request("get jobs -o yaml").format, .yaml)
        XCTAssertThrowsError(try request("get jobs -o csv")) { error in
            XCTAssertEqual("\(error)", "get jobs: -o csv is for `get metrics`; use -o json or -o yaml")
        }
        XCTAssertThrowsError(try request("get metrics")) { error in
            XCTAssertTrue("\(error)".contains("name the job"), "\(error)")
        }
        XCTAssertThrowsError(try request("get metrics j --sparkline -o json"))
        XCTAssertThrowsError(try request("get tasks --sparkline"))
        // Commands without rows of one shape do not take csv at all.
        let describe = Settings(
            parsed: try OpsCommands.parser.parse(["describe", "job", "a", "-o", "csv"]), environment: [:])
        XCTAssertThrowsError(try describe.value(OpsCommands.output)) { error in
            XCTAssertEqual("\(error)", "--output: expected one of table, wide, json, yaml, got 'csv'")
        }
    }
}

import ClusterModel
// The seeded cluster simulation: invariants after every pass, no starvation, fair share, same seed same trace.
import XCTest

@testable import Scheduler

final class SimulationTests: XCTestCase {
    #if DEBUG
        // Debug builds are ~30x slower; the CI runs release, where the full size below is used.
        static let fullWorkers = 1_000, fullTasks = 10_000
    #else
        static let fullWorkers = 10_000, fullTasks = 100_000
    #endif

    func testTenThousandWorkersHundredThousandTasksKeepEveryInvariant() {
        var configuration = SimulationConfiguration()
        configuration.workers = Self.fullWorkers
        configuration.tasks = Self.fullTasks
        let simulation = ClusterSimulation(configuration: configuration)
        let report = simulation.run()
        print("simulation: \(report)")
        if !report.violations.isEmpty || report.worstFairShareDeficit > configuration.fairShareTolerance {
            print(simulation.shareTimeline.joined(separator: "\n"))
        }
        XCTAssertEqual(report.violations, [], "invariant violations")
        XCTAssertEqual(report.jobsNeverPlaced, 0, "every job is eventually placed (no starvation)")
        XCTAssertEqual(report.jobsUnfinished, 0)
        XCTAssertGreaterThan(report.workerFailures, 0, "the run must exercise worker failures")
        XCTAssertGreaterThan(report.preemptions, 0, "the run must exercise preemption")
        XCTAssertGreaterThan(report.fairShareWindowsChecked, 0, "the run must contend for capacity")
        XCTAssertLessThanOrEqual(report.worstFairShareDeficit, configuration.fairShareTolerance)
    }

    func testSameSeedSameTraceAndAnotherSeedAnother() {
        var configuration = SimulationConfiguration()
        configuration.workers = 500
        configuration.tasks = 5_000
        configuration.workerFailureProbability = 0.002
        let first = ClusterSimulation(configuration: configuration).run()
        let second = ClusterSimulation(configuration: configuration).run()
        XCTAssertEqual(first.violations, [])
        XCTAssertEqual(first.traceHash, second.traceHash)
        XCTAssertEqual(first.steps, second.steps)
        XCTAssertEqual(first.preemptions, second.preemptions)
        configuration.seed = 7
        let other = ClusterSimulation(configuration: configuration).run()
        XCTAssertNotEqual(first.traceHash, other.traceHash)
    }

    func testSustainedContentionKeepsEveryQueueNearItsFairShare() {
        var configuration = SimulationConfiguration()
        configuration.seed = 11
        configuration.workers = 400
        configuration.tasks = 24_000
        configuration.arrivalSteps = 100
        configuration.durationSteps = 5...15
        let simulation = ClusterSimulation(configuration: configuration)
        let report = simulation.run()
        print("contention: \(report)")
        if !report.violations.isEmpty { print(simulation.shareTimeline.joined(separator: "\n")) }
        XCTAssertEqual(report.violations, [])
        XCTAssertEqual(report.jobsNeverPlaced, 0)
        XCTAssertGreaterThanOrEqual(report.fairShareWindowsChecked, 5, "queues must be backlogged for many windows")
        XCTAssertLessThanOrEqual(report.worstFairShareDeficit, configuration.fairShareTolerance)
    }
}

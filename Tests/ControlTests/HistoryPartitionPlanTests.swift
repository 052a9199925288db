import XCTest

@testable import Control

/// The maintenance pass's decisions, from partitions and a clock alone.
final class HistoryPartitionPlanTests: XCTestCase {
    private let day = 86_400.0
    private let week = 7 * 86_400.0
    /// Sunday 2026-12-06 00:00 UTC, in the week of Monday 2026-11-30.
    private let sunday = 1_796_515_200.0
    private var monday: Double { sunday - 6 * day }

    private func range(_ name: String, _ from: Double?, _ to: Double?) -> HistoryPartition {
        HistoryPartition(name: name, isDefault: false, fromSeconds: from, toSeconds: to)
    }

    func testWeeksStartOnMondayAndAreNamedAsTheMigrationNamesThem() {
        XCTAssertEqual(HistoryWeek(containing: sunday + 3600).partitionName(of: .events), "events_w20261130")
        XCTAssertEqual(HistoryWeek(containing: sunday + day).partitionName(of: .taskLogs), "task_logs_w20261207")
        XCTAssertEqual(HistoryWeek(containing: monday - 1).mondayDate, "20261123")
        XCTAssertEqual(HistoryWeek(containing: 0).mondayDate, "19691229", "before the first Monday rounds down")
        XCTAssertEqual(Double(HistoryWeek(containing: sunday).startSeconds), monday)
    }

    func testCreatesOnlyUncoveredWeeksAndDropsOnlyWhatIsWhollyOlderThanTheRetention() {
        let partitions = [
            HistoryPartition(name: "events_default", isDefault: true, fromSeconds: nil, toSeconds: nil),
            range("events_before_20261116", nil, monday - 2 * week),
            range("events_w20261116", monday - 2 * week, monday - week),
            range("events_w20261123", monday - week, monday),
            range("events_w20261130", monday, monday + week),
        ]
        // Seven days at Sunday noon: the cutoff is Sunday 2026-11-29 12:00, before the end of the week of the 23rd.
        let plan = HistoryPartitionPlan.make(
            partitions: partitions, nowSeconds: sunday + 12 * 3600, retentionDays: 7, aheadWeeks: 1)
        XCTAssertEqual(plan.create.map(\.mondayDate), ["20261207"])
        XCTAssertEqual(plan.drop, ["events_before_20261116", "events_w20261116"])
        XCTAssertEqual(plan.expiredBeforeSeconds, sunday + 12 * 3600 - 7 * day)

        let forever = HistoryPartitionPlan.make(
            partitions: partitions, nowSeconds: sunday + 400 * day, retentionDays: 0, aheadWeeks: 0)
        XCTAssertEqual(forever.drop, [])
        XCTAssertNil(forever.expiredBeforeSeconds)
        XCTAssertEqual(forever.create, [HistoryWeek(containing: sunday + 400 * day)])
    }

    func testARangeReachingIntoAWeekCoversIt() {
        let odd = [range("events_odd", monday + week + 3600, monday + week + 7200)]
        let plan = HistoryPartitionPlan.make(partitions: odd, nowSeconds: sunday, retentionDays: 0, aheadWeeks: 2)
        XCTAssertEqual(plan.create.map(\.mondayDate), ["20261130", "20261214"])
    }
}

import Foundation

/// One partition of a history table as the catalog describes it. A nil bound is MINVALUE (`fromSeconds`) or
/// MAXVALUE (`toSeconds`); the default partition has neither.
struct HistoryPartition: Equatable, Sendable {
    let name: String
    let isDefault: Bool
    let fromSeconds: Double?
    let toSeconds: Double?

    /// True when [fromSeconds, toSeconds) and [start, end) share a moment.
    func overlaps(startSeconds: Double, endSeconds: Double) -> Bool {
        !isDefault && (fromSeconds ?? -.infinity) < endSeconds && (toSeconds ?? .infinity) > startSeconds
    }
}

/// A week from Monday 00:00 UTC (ISO weeks, PostgreSQL's `date_trunc('week', ...)`), counted from the week of
/// 1970-01-05: the unit of the history partitions. Weeks, not days, because a listing without a time bound plans
/// and scans every partition: on 2M events, PostgreSQL 15 on this 2-core machine, a newest-first page took
/// 0.55 ms unpartitioned, 1.8 ms over 7 weekly partitions and 6.0 ms over 36 daily ones (5.1 ms of it planning).
/// The price is coarser retention: a 30-day setting keeps 30 to 37 days.
struct HistoryWeek: Comparable, Sendable {
    static let seconds: Int64 = 7 * 86_400
    /// 1970-01-01 was a Thursday; the first Monday is 4 days later.
    static let firstMondaySeconds: Int64 = 4 * 86_400
    let number: Int64

    init(number: Int64) { self.number = number }

    init(containing secondsSince1970: Double) {
        let sinceFirstMonday = secondsSince1970 - Double(Self.firstMondaySeconds)
        number = Int64((sinceFirstMonday / Double(Self.seconds)).rounded(.down))
    }

    var startSeconds: Int64 { Self.firstMondaySeconds + number * Self.seconds }
    var endSeconds: Int64 { startSeconds + Self.seconds }

    /// `20261130`: the week's Monday, the suffix of its partition names, as the migration writes them.
    var mondayDate: String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents(
            [.year, .month, .day], from: Date(timeIntervalSince1970: Double(startSeconds)))
        return String(format: "%04d%02d%02d", parts.year!, parts.month!, parts.day!)
    }

    func partitionName(of table: HistoryTable) -> String { "\(table.rawValue)_w\(mondayDate)" }

    static func < (a: HistoryWeek, b: HistoryWeek) -> Bool { a.number < b.number }
}

/// What one maintenance pass does to one table, decided from its partitions and the clock alone.
struct HistoryPartitionPlan: Equatable, Sendable {
    /// Weeks from this one on that no partition covers yet, oldest first.
    let create: [HistoryWeek]
    /// Partitions whose every row is older than the retention, by name.
    let drop: [String]
    /// Rows of the default partition older than this are deleted (nil: history is kept forever).
    let expiredBeforeSeconds: Double?

    /// `aheadWeeks` partitions beyond this week's exist after each pass, so next week's is there days before its
    /// first row; a partition is dropped once its upper bound is `retentionDays` old (0: never), so at least
    /// `retentionDays` of history is kept and at most a week more.
    static func make(
        partitions: [HistoryPartition], nowSeconds: Double, retentionDays: Int, aheadWeeks: Int
    ) -> HistoryPartitionPlan {
        precondition(retentionDays >= 0 && aheadWeeks >= 0 && aheadWeeks <= 8)
        let thisWeek = HistoryWeek(containing: nowSeconds)
        let create = (0...Int64(aheadWeeks)).map { HistoryWeek(number: thisWeek.number + $0) }.filter { week in
            !partitions.contains {
                $0.overlaps(startSeconds: Double(week.startSeconds), endSeconds: Double(week.endSeconds))
            }
        }
        guard retentionDays > 0 else {
            return HistoryPartitionPlan(create: create, drop: [], expiredBeforeSeconds: nil)
        }
        let cutoffSeconds = nowSeconds - Double(retentionDays) * 86_400
        let drop = partitions.filter { !$0.isDefault && ($0.toSeconds.map { $0 <= cutoffSeconds } ?? false) }
        return HistoryPartitionPlan(create: create, drop: drop.map(\.name), expiredBeforeSeconds: cutoffSeconds)
    }
}

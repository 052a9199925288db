import Foundation

/// Where the job page's poll may resume reading metric points or log lines by id. Ids come from a sequence when a
/// row is inserted, but rows become visible when their transaction commits: two workers reporting at once (the
/// members of a DiLoCo job do, every round) can commit ids 100–103 after 104–107 were read, and a cursor at 107
/// would skip them for good. So the cursor moves only past the leading rows
/// written more than `settleSeconds` ago (`at` is the writing transaction's start on the database clock), and
/// the newer ones are sent again at the next poll; the page skips ids it already has.
enum SettledCursor {
    /// A report batch commits in milliseconds; 10 s also covers a skew of a few seconds between the control
    /// plane's clock and the database's.
    static let settleSeconds = 10.0

    /// The id after which the next read starts: the last id of the leading `rows` (in id order) older than the
    /// settle window, or `previous` when the first is not.
    static func after<Row>(_ rows: [Row], previous: Int64, now: Date, id: (Row) -> Int64, at: (Row) -> Date) -> Int64 {
        let settledBefore = now.addingTimeInterval(-settleSeconds)
        var cursor = previous
        for row in rows {
            guard at(row) < settledBefore else { break }
            cursor = id(row)
        }
        return cursor
    }
}

// How list routes page (docs/cli-and-workers.md "Listings"): at most `limit` items per response, newest first
// where users look for the latest (jobs, events), and `nextCursor` while more rows exist. The bounds are defined
// here once, for the server that checks them and the clients that ask within them.

public enum ListPaging {
    /// Items per page when a request names no `limit`.
    public static let defaultLimit = 500
    /// The most a page may hold: 5,000 job rows (each with its task counts) encode to about 5 MB of JSON.
    public static let maxLimit = 5_000
    public static let limits = 1...maxLimit
}

/// What a client lists: every item (following `nextCursor`), or the first `n`.
public enum ListScope: Sendable, Equatable {
    case all
    case first(Int)
}

/// The items a client gathered, and whether the server holds more than it asked for.
public struct Listing<Item: Sendable>: Sendable {
    public var items: [Item]
    public var hasMore: Bool
    public init(items: [Item], hasMore: Bool) {
        self.items = items
        self.hasMore = hasMore
    }
}

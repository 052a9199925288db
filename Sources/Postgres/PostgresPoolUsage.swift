/// What a pool holds at one moment, for `/metrics` (docs/observability.md): a pool whose `waiting` is often
/// above 0 is too small for its load (`opsctl serve --database-connections`).
public struct PostgresPoolUsage: Sendable, Equatable {
    public var maxConnections: Int
    /// Open connections lent to a caller now.
    public var inUse: Int
    /// Open connections waiting in the pool.
    public var idle: Int
    /// Checkouts blocked now until a connection comes back.
    public var waiting: Int
    /// Checkouts that ever had to wait (a counter).
    public var waitsTotal: Int

    public init(maxConnections: Int, inUse: Int, idle: Int, waiting: Int, waitsTotal: Int) {
        self.maxConnections = maxConnections
        self.inUse = inUse
        self.idle = idle
        self.waiting = waiting
        self.waitsTotal = waitsTotal
    }
}

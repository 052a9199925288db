// Settings a caller scopes to its own work: every connection it checks out of a pool while they are bound carries
// them (`set_config(name, value, false)` after checkout) and drops them before it goes back to the pool, so no
// other checkout ever sees them. A column default can then read one (`current_setting('ops.actor', true)`)
// without every statement taking it as a parameter. Unbound (the common case), a checkout costs nothing more.

public enum PostgresSessionSettings {
    /// The settings bound for the current task or thread: custom settings only (a dotted name, `ops.actor`).
    @TaskLocal public static var current: [String: String] = [:]
}

extension PostgresConnection {
    /// Sets each of `settings` for this session; with `clearing`, empties them again (`''`, which a reader's
    /// `nullif(current_setting(name, true), '')` sees as unset).
    func applySessionSettings(_ settings: [String: String], clearing: Bool = false) throws {
        for (name, value) in settings.sorted(by: { $0.key < $1.key }) {
            precondition(name.contains("."), "session setting \(name): only custom (dotted) settings may be bound")
            _ = try query("SELECT set_config($1, $2, false)", [.text(name), .text(clearing ? "" : value)])
        }
    }
}

import Foundation
import Postgres

extension JobStore {
    /// Which of `names` jobs hold (one statement; `opsctl rerun` picks the first free `NAME-N`).
    public func existingNames(among names: [String]) throws -> Set<String> {
        try pool.retryingOnConnectionLoss {
            try pool.withConnection { c in
                Set(try c.query(JobSQL.idsByName, [.textArray(names)]).map { try $0.string("name") })
            }
        }
    }
}

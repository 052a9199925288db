// `GET /readyz`: ready when the database answers and this build's newest migration is applied; the answer also
// says whether this replica leads scheduling.

import APITypes
import Foundation

struct Readiness {
    let services: ControlServices
    let isLeader: @Sendable () -> Bool

    /// The readiness and whether it is ready (the API answers 503 when not).
    func check() -> ReadinessResponse {
        do {
            let versions = try Migrations.appliedVersions(in: services.pool)
            let expected = Migrations.all.map(\.version).max() ?? 0
            guard versions.contains(expected) else {
                return ReadinessResponse(
                    ready: false, checks: ["database": "ok", "migrations": "missing \(expected)"],
                    message: "database migrations are not applied yet")
            }
            return ReadinessResponse(
                ready: true,
                checks: [
                    "database": "ok", "migrations": "\(expected)",
                    "scheduling": isLeader() ? "leader" : "standby",
                ])
        } catch {
            return ReadinessResponse(
                ready: false, checks: ["database": "unreachable"],
                message: "the database is unreachable: \(error)")
        }
    }
}

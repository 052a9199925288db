// Worker registration and identity (issue 16). Before, registering under a name handed out that name's worker
// id and replaced its token, so anyone with the join token could take over a live worker and complete its
// attempts. The rules now, decided in one transaction on the name's locked row:
//   - a free name gets a new worker id;
//   - the caller whose token matches the name's current worker is that worker: same id, same token (a restarted
//     daemon that kept its token, a retried registration whose answer was lost);
//   - anyone else is refused while that worker is live (alive or draining): `WorkerNameHeld`, HTTP 409;
//   - a name whose worker is lost or drained goes to a new worker id; the old row is retired with its token
//     revoked, and keeps its attempts and events. An old id is never handed to a new caller.

import ClusterModel
import Foundation
import Postgres

/// What a registration did.
public struct WorkerRegistrationOutcome: Sendable, Equatable {
    public var worker: WorkerID
    /// The caller proved it is the name's worker: its id and token were kept.
    public var renewed: Bool
    /// The name's previous worker (lost or drained), retired with its token revoked.
    public var retired: WorkerID?
}

/// A registration under a name held by a live worker, by a caller that did not prove it is that worker. HTTP 409.
public struct WorkerNameHeld: Error, Equatable, CustomStringConvertible, Sendable {
    public let name: String
    public let holder: WorkerID
    public let state: WorkerState

    public var description: String {
        "worker name \"\(name)\" is held by live worker \(holder) (\(state.rawValue)); a second worker needs another "
            + "name (--name / OPS_WORKER_NAME), and a restarted worker keeps its name by sending its current worker "
            + "token (opsctl worker keeps it in <work-dir>/worker-identity.json); otherwise stop worker \(holder) "
            + "and register again once it is drained or marked lost"
    }
}

extension WorkerStore {
    /// The longest worker name.
    public static let maxNameCharacters = 200

    /// Registers a worker (see the rules above) and returns its id.
    @discardableResult
    public func register(
        name: String, resources: Resources, labels: Labels = [:], tokenHash: String? = nil,
        version: String = "", kinds: [String] = []
    ) throws -> WorkerID {
        try registerWorker(
            name: name, resources: resources, labels: labels, tokenHash: tokenHash, version: version, kinds: kinds
        ).worker
    }

    /// Registers a worker under `name`. `tokenHash` is the SHA-256 of the token the caller will hold: it proves
    /// the caller is the name's current worker when it matches that worker's, and becomes a new worker's token
    /// otherwise (nil: a worker without a token, which can never prove who it is).
    public func registerWorker(
        name: String, resources: Resources, labels: Labels = [:], tokenHash: String?,
        version: String = "", kinds: [String] = []
    ) throws -> WorkerRegistrationOutcome {
        guard !name.isEmpty, name.count <= Self.maxNameCharacters else {
            throw StoreError.invalid(
                field: "name", message: "expected a worker name of 1 to \(Self.maxNameCharacters) characters")
        }
        guard resources.isNonNegative else {
            throw StoreError.invalid(field: "resources", message: "expected non-negative amounts, got \(resources)")
        }
        let details = RegistrationDetails(resources: resources, labels: labels, version: version, kinds: kinds)
        return try pool.idempotentTransaction { c in
            guard let holder = try c.queryFirst(WorkerSQL.lockHolderOfName, [.text(name)]) else {
                let id = try insert(c, name: name, details, tokenHash: tokenHash, reason: "registered")
                return WorkerRegistrationOutcome(worker: id, renewed: false, retired: nil)
            }
            let holderID = WorkerID(try holder.int64("id"))
            let state = WorkerState(rawValue: try holder.string("state")) ?? .lost
            if let tokenHash, let held = try holder.optionalString("token_hash"), constantTimeEquals(tokenHash, held) {
                try renew(c, holderID, from: state, details)
                return WorkerRegistrationOutcome(worker: holderID, renewed: true, retired: nil)
            }
            guard !state.isLive else { throw WorkerNameHeld(name: name, holder: holderID, state: state) }
            try c.execute(WorkerSQL.retire, [holderID.sql])
            let id = try insert(
                c, name: name, details, tokenHash: tokenHash,
                reason: "registered; the name's previous worker \(holderID) was \(state.rawValue)")
            // `worker.retired` in the trail: not a state of the row (it stays lost or drained), the end of its id.
            try Events.record(
                c, .worker, holderID.rawValue, from: state.rawValue, to: "retired",
                reason: "its name went to worker \(id); its token is revoked")
            return WorkerRegistrationOutcome(worker: id, renewed: false, retired: holderID)
        }
    }

    private struct RegistrationDetails {
        let resources: Resources
        let labels: Labels
        let version: String
        let kinds: [String]
    }

    private func insert(
        _ c: PostgresConnection, name: String, _ details: RegistrationDetails, tokenHash: String?, reason: String
    ) throws -> WorkerID {
        if let tokenHash, let owner = try c.queryFirst(WorkerSQL.byTokenHash, [.text(tokenHash)]) {
            // A token identifies one worker; a daemon never sends another worker's token for a new name.
            throw StoreError.invalid(
                field: "workerToken",
                message:
                    "is already the token of worker \(try owner.int64("id")) under another name; a worker token identifies one worker, so send none and use the one registration returns"
            )
        }
        let row = try c.queryFirst(
            WorkerSQL.insertRegistration,
            [
                .text(name), .int(details.resources.cpuMillis), .int(details.resources.memoryBytes),
                .json(StoreJSON.encode(accelerators: details.resources.accelerators)),
                .json(StoreJSON.encode(details.labels)), tokenHash.map { .text($0) }, .text(details.version),
                .textArray(details.kinds),
            ])
        guard let row else {
            // A concurrent registration inserted the name after our lookup and committed: it holds the name now.
            guard let winner = try c.queryFirst(WorkerSQL.lockHolderOfName, [.text(name)]) else {
                throw StoreError.conflict(
                    what: "name", message: "\"\(name)\" was registered and retired concurrently; register again")
            }
            throw WorkerNameHeld(name: name, holder: WorkerID(try winner.int64("id")), state: .alive)
        }
        let id = try row.int64("id")
        try Events.record(c, .worker, id, from: nil, to: WorkerState.alive.rawValue, reason: reason)
        return WorkerID(id)
    }

    private func renew(
        _ c: PostgresConnection, _ worker: WorkerID, from state: WorkerState, _ details: RegistrationDetails
    )
        throws
    {
        try c.execute(
            WorkerSQL.renewRegistration,
            [
                worker.sql, .int(details.resources.cpuMillis), .int(details.resources.memoryBytes),
                .json(StoreJSON.encode(accelerators: details.resources.accelerators)),
                .json(StoreJSON.encode(details.labels)), .text(details.version), .textArray(details.kinds),
            ])
        if state != .alive {
            try Events.record(
                c, .worker, worker.rawValue, from: state.rawValue, to: WorkerState.alive.rawValue,
                reason: "registered again")
        }
    }
}

extension WorkerState {
    /// Alive or draining: its name is not free for another registration.
    public var isLive: Bool { self == .alive || self == .draining }
}

// Issue 13.1 in the store: a worker announcing its shutdown is `draining` (given nothing, its leases still
// extended) until it deregisters (`drained`); a draining worker that goes silent is `lost`. Every change is an
// event with the real old state.
import ClusterModel
import XCTest

@testable import Control

final class WorkerStateStoreTests: StoreTestCase {
    func testDrainingDeregisteringAndLosingAWorker() throws {
        let w = try workers.register(
            name: "w", resources: Resources(cpuMillis: 4000, memoryBytes: 1 << 30), kinds: ["noop"])
        try jobs.submit([NewJob(name: "j", type: "noop", tasks: [NewTask(spec: "{}"), NewTask(spec: "{}")])])
        let first = try leases.claimNext(for: w, limit: 1, leaseDurationSeconds: 30)
        XCTAssertEqual(first.count, 1)

        try workers.requestDrain(w)
        XCTAssertEqual(try workers.worker(w)?.state, .draining)
        XCTAssertEqual(try leases.claimNext(for: w, limit: 10), [], "a draining worker is given nothing new")
        let beat = try workers.heartbeat(w)
        XCTAssertEqual(beat.state, .draining, "heartbeats keep it draining")
        XCTAssertEqual(beat.extendedAttempts, [first[0].attempt], "and still extend what it holds")

        // Silent for longer than the timeout: lost, from draining.
        _ = try pool.withConnection { try $0.execute("UPDATE workers SET last_heartbeat = now() - interval '1 hour'") }
        XCTAssertEqual(try workers.markLost(heartbeatOlderThan: 60), [w])
        XCTAssertEqual(try workers.worker(w)?.state, .lost)
        XCTAssertEqual(try workers.heartbeat(w).state, .alive, "a heartbeat revives it")

        try workers.deregister(w)
        XCTAssertEqual(try workers.worker(w)?.state, .drained)
        XCTAssertEqual(try workers.markLost(heartbeatOlderThan: 0), [], "a deregistered worker is never lost")
        let changes = try pool.withConnection { c in
            try c.query(
                "SELECT coalesce(old_state, '') || '>' || new_state AS t FROM events WHERE entity = 'worker' ORDER BY id"
            ).map { try $0.string("t") }
        }
        XCTAssertEqual(changes, [">alive", "alive>draining", "draining>lost", "lost>alive", "alive>drained"])
    }
}

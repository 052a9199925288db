// The standing chaos and fuzz suite's parts (issue 16, point 6): its settings (a short form in the test command,
// a long form in scripts/soak.sh through OPS_CHAOS_* variables), seeded JSON mutations of valid requests, and the
// database invariants checked after a run.

import APITypes
import Foundation
import Postgres
import Scheduler

/// How long and how hard one chaos run goes. The defaults are the short form the test command runs (about two
/// minutes on 2 cores); `scripts/soak.sh` raises them.
struct ChaosSettings: CustomStringConvertible {
    /// How long processes are killed and restarted; the job then finishes undisturbed.
    var chaosSeconds: Double = 30
    /// Tasks of the job that runs through the chaos (each sleeps `taskSeconds`).
    /// 120 tasks of 2 s on 12 slots: at least 20 s of work, so the kills and the PostgreSQL restart (at a third of
    /// `chaosSeconds`) land while the job runs.
    var tasks = 120
    var taskSeconds = 2.0
    /// Mutated API requests sent once the job finished (no request may get a 5xx).
    var mutatedRequests = 5_000
    var seed: UInt64 = 16

    /// The defaults, overridden by `OPS_CHAOS_SECONDS`, `OPS_CHAOS_TASKS`, `OPS_CHAOS_MUTATIONS`, `OPS_CHAOS_SEED`.
    static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Self {
        var settings = ChaosSettings()
        if let v = environment["OPS_CHAOS_SECONDS"].flatMap(Double.init), v > 0 { settings.chaosSeconds = v }
        if let v = environment["OPS_CHAOS_TASKS"].flatMap(Int.init), v > 0 { settings.tasks = v }
        if let v = environment["OPS_CHAOS_MUTATIONS"].flatMap(Int.init), v >= 0 { settings.mutatedRequests = v }
        if let v = environment["OPS_CHAOS_SEED"].flatMap(UInt64.init) { settings.seed = v }
        return settings
    }

    var description: String {
        "seed=\(seed) chaos_seconds=\(chaosSeconds) tasks=\(tasks) mutated_requests=\(mutatedRequests)"
    }
}

/// Seeded structural and byte-level mutations of a valid JSON request: what a buggy client, a fuzzer or an
/// attacker sends. The same seed gives the same requests, so a failure names a reproducible seed.
struct JSONMutator {
    private var rng: SeededGenerator

    init(seed: UInt64) { rng = SeededGenerator(seed: seed) }

    mutating func int(_ upper: Int) -> Int { Int(rng.next() % UInt64(max(upper, 1))) }

    /// One mutated body: a few structural mutations, then sometimes a byte-level one.
    mutating func mutate(_ value: AnyJSON) -> Data {
        var mutated = value
        for _ in 0..<(1 + int(3)) { mutated = mutateTree(mutated, depth: 0) }
        var bytes = (try? WireCoding.encode(mutated)) ?? Data("{}".utf8)
        if int(5) == 0 { bytes = mutateBytes(bytes) }
        return bytes
    }

    private mutating func mutateTree(_ value: AnyJSON, depth: Int) -> AnyJSON {
        switch value {
        case .object(var members) where !members.isEmpty && int(3) != 0:
            let keys = members.keys.sorted()
            let key = keys[int(keys.count)]
            switch int(6) {
            case 0: members[key] = nil
            case 1: members[key + strangeSuffix()] = members[key]
            default: members[key] = mutateTree(members[key]!, depth: depth + 1)
            }
            return .object(members)
        case .array(var items) where !items.isEmpty && int(3) != 0:
            let i = int(items.count)
            switch int(4) {
            case 0: items.remove(at: i)
            case 1: items.append(contentsOf: Array(repeating: items[i], count: 1 + int(50)))
            default: items[i] = mutateTree(items[i], depth: depth + 1)
            }
            return .array(items)
        default:
            return replacement()
        }
    }

    /// A value of another type or at an edge: what validation must catch.
    private mutating func replacement() -> AnyJSON {
        let choices: [AnyJSON] = [
            .null, .bool(true), .int(-1), .int(0), .int(Int64.max), .int(Int64.min), .double(1e308), .double(-0.5),
            .string(""), .string("a\u{0}b"), .string(String(repeating: "x", count: 70_000)),
            .string("../../etc/passwd"),
            .string("'; DROP TABLE jobs; --"), .string("ünïcödé-名前"), .array([]), .object([:]),
            .array([.array([.array([.array([.int(1)])])])]), .object(["$ref": .string("#")]),
        ]
        return choices[int(choices.count)]
    }

    private mutating func strangeSuffix() -> String { ["_", "\u{0}", "😀", " ", ".x"][int(5)] }

    private mutating func mutateBytes(_ data: Data) -> Data {
        var bytes = [UInt8](data)
        guard !bytes.isEmpty else { return data }
        switch int(4) {
        case 0: bytes = Array(bytes.prefix(int(bytes.count)))
        case 1: bytes[int(bytes.count)] = UInt8(truncatingIfNeeded: rng.next())
        case 2: bytes.insert(contentsOf: [0xff, 0xfe, 0x00], at: int(bytes.count))
        default: bytes = Array(repeating: UInt8(ascii: "["), count: 100_000)
        }
        return Data(bytes)
    }
}

/// What must hold in the database after any run, whatever was killed when.
enum ChaosInvariants {
    /// Violations for job `name` of `tasks` tasks (empty when all hold).
    static func violations(job name: String, tasks: Int, _ c: PostgresConnection) throws -> [String] {
        var found: [String] = []
        let succeeded = try c.queryOne(
            """
            SELECT count(*)::int AS n FROM tasks t JOIN jobs j ON j.id = t.job_id
            WHERE j.name = $1 AND t.state = 'succeeded'
            """, [.text(name)]
        ).int("n")
        if succeeded != tasks { found.append("\(succeeded) of \(tasks) tasks succeeded") }
        let notOnce = try c.queryOne(
            """
            SELECT count(*)::int AS n FROM tasks t JOIN jobs j ON j.id = t.job_id
            WHERE j.name = $1
              AND (SELECT count(*) FROM task_attempts a WHERE a.task_id = t.id AND a.state = 'succeeded') <> 1
            """, [.text(name)]
        ).int("n")
        if notOnce != 0 { found.append("\(notOnce) task(s) without exactly one succeeded attempt") }
        let stuck = try c.queryOne(
            """
            SELECT (SELECT count(*) FROM task_attempts WHERE state = 'active')::int
                 + (SELECT count(*) FROM tasks WHERE state = 'running')::int AS n
            """
        ).int("n")
        if stuck != 0 { found.append("\(stuck) attempt(s) or task(s) still running") }
        let jobState = try c.queryOne("SELECT state FROM jobs WHERE name = $1", [.text(name)]).string("state")
        if jobState != "succeeded" { found.append("job \(name) is \(jobState)") }
        return found
    }

    /// A fingerprint of everything a refused request must leave alone: the jobs up to `lastJob` with their tasks
    /// and attempts, and how many log lines, metrics, artifacts, datasets and queues exist.
    static func fingerprint(upToJob lastJob: Int64, _ c: PostgresConnection) throws -> String {
        try c.queryOne(
            """
            SELECT concat_ws('|',
                (SELECT md5(coalesce(string_agg(id || ':' || state || ':' || attempts, ',' ORDER BY id), ''))
                 FROM tasks WHERE job_id <= $1),
                (SELECT md5(coalesce(string_agg(a.id || ':' || a.state, ',' ORDER BY a.id), ''))
                 FROM task_attempts a JOIN tasks t ON t.id = a.task_id WHERE t.job_id <= $1),
                (SELECT md5(coalesce(string_agg(id || ':' || state, ',' ORDER BY id), '')) FROM jobs WHERE id <= $1),
                (SELECT count(*) FROM task_logs), (SELECT count(*) FROM metrics), (SELECT count(*) FROM artifacts),
                (SELECT count(*) FROM datasets), (SELECT count(*) FROM queues)
            ) AS f
            """, [.int(lastJob)]
        ).string("f")
    }
}

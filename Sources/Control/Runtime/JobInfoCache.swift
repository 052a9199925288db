import ClusterModel
import Foundation
import Primitives

/// The immutable facts of a job that every assignment carries (retry limit, task count, gang size), cached so
/// that handing out thousands of tasks per second does not re-read the job each time. One load per job: the
/// first polls of a new job arrive together (8 workers at once in ControlBench), and each used to run its own
/// read; the others now wait for the first one's answer.
final class JobInfoCache: Sendable {
    typealias Info = JobAssignmentFacts

    private enum Entry {
        case loading
        case loaded(Info)
    }

    /// Reads one job's facts (nil: no such job); the store's one-probe read in production.
    private let load: @Sendable (JobID) throws -> Info?
    private let entries = Guarded<[JobID: Entry]>([:])
    /// A bound on the cache: past it the cache starts over (an entry is one probe to load again).
    private let maxEntries = 10_000
    /// How long a poll waits for another poll's load of the same job before loading it itself (a load is one
    /// index probe; this only matters when the database stalls).
    private let waitForLoadSeconds: TimeInterval = 30

    convenience init(jobs: JobStore) { self.init(load: { try jobs.assignmentFacts($0) }) }

    init(load: @escaping @Sendable (JobID) throws -> Info?) { self.load = load }

    func info(_ job: JobID) throws -> Info {
        let deadline = Date().addingTimeInterval(waitForLoadSeconds)
        // Either the cached facts, or this caller becomes the loader (nil answer: wait for the current one).
        enum Turn {
            case cached(Info)
            case load
        }
        let turn =
            entries.wait(until: deadline) { entries -> Turn? in
                switch entries[job] {
                case .loaded(let info)?: return .cached(info)
                case .loading?: return nil
                case nil:
                    entries[job] = .loading
                    return .load
                }
            } ?? .load
        if case .cached(let info) = turn { return info }
        do {
            guard let info = try load(job) else { throw StoreError.unknownJob("\(job)") }
            entries.update { entries in
                if entries.count > maxEntries { entries.removeAll() }
                entries[job] = .loaded(info)
            }
            return info
        } catch {
            // The waiters take over the load; none waits on a load that will never finish.
            entries.update { entries in
                if case .loading? = entries[job] { entries[job] = nil }
            }
            throw error
        }
    }

    /// How many loads are cached (for tests).
    var cachedCount: Int {
        entries.withLock { entries in
            entries.values.filter {
                if case .loaded = $0 { return true }
                return false
            }.count
        }
    }
}

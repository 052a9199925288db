// Listings as `opsctl get` asks for them: every item (`--all`, following `nextCursor`) or the first N, with
// whether the server holds more (the note on stderr).

import APITypes
import ClusterModel
import Foundation

extension OpsClient {
    public func jobs(state: JobState? = nil, queue: String? = nil, scope: ListScope) async throws(ControlPlaneError)
        -> Listing<JobView>
    {
        try await collect(scope) { limit, cursor throws(ControlPlaneError) in
            try await requester.call(
                APIRoute.jobs.request(query: [
                    ("state", state?.rawValue), ("queue", queue), ("limit", String(limit)), ("cursor", cursor),
                ]))
        }
    }

    public func tasks(job: String? = nil, state: TaskState? = nil, scope: ListScope) async throws(ControlPlaneError)
        -> Listing<TaskView>
    {
        try await collect(scope) { limit, cursor throws(ControlPlaneError) in
            let query = [("state", state?.rawValue), ("limit", String(limit)), ("cursor", cursor)]
            if let job { return try await requester.call(APIRoute.jobTasks.request(job, query: query)) }
            return try await requester.call(APIRoute.tasks.request(query: query))
        }
    }

    /// Events newest first.
    public func events(job: String? = nil, scope: ListScope) async throws(ControlPlaneError) -> Listing<EventView> {
        try await collect(scope) { limit, cursor throws(ControlPlaneError) in
            let query = [("limit", String(limit)), ("cursor", cursor)]
            if let job { return try await requester.call(APIRoute.jobEvents.request(job, query: query)) }
            return try await requester.call(APIRoute.events.request(query: query))
        }
    }

    public func workers(state: WorkerState? = nil, scope: ListScope) async throws(ControlPlaneError)
        -> Listing<WorkerView>
    {
        try await collect(scope) { limit, cursor throws(ControlPlaneError) in
            try await requester.call(
                APIRoute.workers.request(query: [
                    ("state", state?.rawValue), ("limit", String(limit)), ("cursor", cursor),
                ]))
        }
    }

    /// Pages until `scope` is met: each page asks for at most what is still wanted (and at most
    /// `ListPaging.maxLimit`); stops at the last page, or after 100,000 pages in case a server repeats a cursor.
    func collect<Item>(
        _ scope: ListScope,
        _ page: (_ limit: Int, _ cursor: String?) async throws(ControlPlaneError) -> ListResponse<Item>
    ) async throws(ControlPlaneError) -> Listing<Item> {
        var items: [Item] = []
        var cursor: String?
        for _ in 0..<100_000 {
            let wanted: Int
            switch scope {
            case .all: wanted = ListPaging.maxLimit
            case .first(let n): wanted = min(max(1, n - items.count), ListPaging.maxLimit)
            }
            let response = try await page(wanted, cursor)
            items += response.items
            guard let next = response.nextCursor, !next.isEmpty, next != cursor else {
                return Listing(items: items, hasMore: false)
            }
            if case .first(let n) = scope, items.count >= n { return Listing(items: items, hasMore: true) }
            cursor = next
        }
        return Listing(items: items, hasMore: true)
    }
}

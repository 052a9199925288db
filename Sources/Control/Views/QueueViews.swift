// The scheduler's queues as the admin API shows them: the configured queues and every queue that jobs name
// without a configuration (shown with the defaults the scheduler uses: weight 1, no quota), each with its
// running and queued task counts. Deleting a configuration lets its jobs go on under the defaults.

import APITypes
import ClusterModel
import Foundation

struct QueueViews {
    let services: ControlServices

    func all() throws -> [QueueView] {
        let usage = Dictionary(uniqueKeysWithValues: try services.queues.usage().map { ($0.queue, $0) })
        var views: [String: QueueView] = [:]
        for record in try services.queues.list() {
            var view = Self.view(record.configuration)
            view.updatedAt = record.updatedAt
            views[record.name] = view
        }
        for name in usage.keys where views[name] == nil {
            views[name] = QueueView(name: name, weight: QueueSpec.defaultWeight, quota: nil, configured: false)
        }
        return views.values.sorted { $0.name < $1.name }.map { view in
            var view = view
            view.runningTasks = usage[view.name]?.runningTasks ?? 0
            view.pendingTasks = usage[view.name]?.pendingTasks ?? 0
            return view
        }
    }

    /// Removes the configuration of `name`; the queue as it is afterwards.
    func deleteConfiguration(named name: String) throws -> QueueView {
        guard try services.queues.delete(named: name) != nil else {
            throw APIErrorBody(
                code: .notFound,
                message:
                    "no configured queue named \(name); `opsctl get queues` lists the queues (only those shown as configured can be deleted)"
            )
        }
        return try views(named: [name]).first
            ?? QueueView(name: name, weight: QueueSpec.defaultWeight, quota: nil, configured: false)
    }

    /// The views of `names`, in that order (the order of the submitted file).
    func views(named names: [String]) throws -> [QueueView] {
        let all = Dictionary(uniqueKeysWithValues: try all().map { ($0.name, $0) })
        return names.compactMap { all[$0] }
    }

    static func view(_ queue: QueueSpec) -> QueueView {
        QueueView(
            name: queue.name, weight: queue.weight, quota: queue.quota, configured: true,
            tokensPerDay: queue.tokensPerDay)
    }
}

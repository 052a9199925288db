import ClusterModel
import Foundation
import Postgres

// Small shared helpers of the stores: binding typed IDs, resources and labels as JSON, and the
// LISTEN/NOTIFY channel names.

/// Channels the stores NOTIFY (inside the changing transaction, so listeners see committed state).
public enum StoreChannel {
    /// Tasks became runnable (submitted, released, requeued): wake waiting long-polls.
    public static let taskRunnable = "task_runnable"
    /// A job changed state; payload is the job id.
    public static let jobChanged = "job_changed"
    /// Log lines were appended; payload is the job id.
    public static let taskLogs = "task_logs"
}

extension Int64Identifier {
    var sql: PostgresValue { .int(rawValue) }
}

enum StoreJSON {
    static func encode(_ labels: Labels) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: labels, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    static func encode(accelerators: [AcceleratorType: Int64]) -> String {
        var plain: [String: Int64] = [:]
        for (k, v) in accelerators where v != 0 { plain[k.rawValue] = v }
        let data = (try? JSONSerialization.data(withJSONObject: plain, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    static func labels(_ text: String, column: String) throws -> Labels {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw PostgresError.decoding(column: column, expected: "a JSON object of strings", found: text)
        }
        var labels: Labels = [:]
        for (k, v) in object { labels[k] = (v as? String) ?? "\(v)" }
        return labels
    }

    /// A JSON array of accelerator objects (`jsonb_agg` of `accelerators` columns).
    static func acceleratorList(_ text: String, column: String) throws -> [[AcceleratorType: Int64]] {
        guard let array = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [Any] else {
            throw PostgresError.decoding(column: column, expected: "a JSON array of objects", found: text)
        }
        return try array.map { item in
            let data = try JSONSerialization.data(withJSONObject: item)
            return try accelerators(String(decoding: data, as: UTF8.self), column: column)
        }
    }

    /// A JSON array of strings (a text[] column read through `array_to_json(...)::text`).
    static func strings(_ text: String, column: String) throws -> [String] {
        guard let array = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String] else {
            throw PostgresError.decoding(column: column, expected: "a JSON array of strings", found: text)
        }
        return array
    }

    static func accelerators(_ text: String, column: String) throws -> [AcceleratorType: Int64] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw PostgresError.decoding(column: column, expected: "a JSON object of counts", found: text)
        }
        var result: [AcceleratorType: Int64] = [:]
        for (k, v) in object {
            guard let n = (v as? NSNumber)?.int64Value else {
                throw PostgresError.decoding(column: column, expected: "integer counts", found: text)
            }
            result[AcceleratorType(rawValue: k)] = n
        }
        return result
    }

    /// Throws `StoreError.invalid(field:)` unless `text` is a JSON document.
    static func validate(_ text: String, field: String) throws {
        guard (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) != nil else {
            throw StoreError.invalid(field: field, message: "expected JSON, got \(text.prefix(60).debugDescription)")
        }
    }
}

extension PostgresRow {
    func resources(prefix: String = "") throws -> Resources {
        Resources(
            cpuMillis: try int64(prefix + "cpu_millis"),
            memoryBytes: try int64(prefix + "memory_bytes"),
            accelerators: try StoreJSON.accelerators(
                try string(prefix + "accelerators"), column: prefix + "accelerators"))
    }

    func taskState(_ column: String) throws -> TaskState {
        let text = try string(column)
        guard let state = TaskState(rawValue: text) else {
            throw PostgresError.decoding(column: column, expected: "a task state", found: text)
        }
        return state
    }

    func jobState(_ column: String) throws -> JobState {
        let text = try string(column)
        guard let state = JobState(rawValue: text) else {
            throw PostgresError.decoding(column: column, expected: "a job state", found: text)
        }
        return state
    }
}

extension PostgresPool {
    /// A transaction that is retried when the connection drops (e.g. PostgreSQL restarted and a pooled
    /// connection is stale). Only for operations whose repetition is harmless: idempotent reports, identical
    /// resubmissions, reads. The retry window is short on purpose: it rides over a restart's stale
    /// connections, but during a real outage the caller gets the error (an API 503 a client can retry)
    /// instead of a request that hangs past its client's timeout and then succeeds unseen.
    func idempotentTransaction<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        try retryingOnConnectionLoss(timeoutSeconds: 3) { try transaction(body) }
    }

    /// The same for statements run outside an explicit transaction (each commits on its own): `body` must be
    /// safe to run again after a statement that committed but whose answer was lost.
    func idempotentStatement<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        try retryingOnConnectionLoss(timeoutSeconds: 3) { try retryingConflicts { try withConnection(body) } }
    }
}

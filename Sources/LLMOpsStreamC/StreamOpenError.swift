// The one error a foreign caller sees, as JSON it can turn into a typed exception: which kind, which spec field
// (a path like `sources[1].weight`, empty when the error is not about one), the shard at fault, and a sentence.
import DataShards
import Foundation

struct StreamOpenError: Error {
    /// `invalidSpec` (bad JSON, types, bounds, configuration), `corruptShard`, `shardUnavailable`,
    /// `datasetTooSmall`, `incompatibleDatasets`, `bufferTooSmall`.
    var kind: String
    var field: String
    var reason: String
    var shard: ShardIdentity?

    init(kind: String = "invalidSpec", field: String, reason: String, shard: ShardIdentity? = nil) {
        self.kind = kind
        self.field = field
        self.reason = reason
        self.shard = shard
    }

    init(_ error: DecodingError) {
        switch error {
        case .typeMismatch(let type, let context):
            self.init(field: Self.path(context.codingPath), reason: "expected \(Self.name(of: type))")
        case .valueNotFound(let type, let context):
            self.init(field: Self.path(context.codingPath), reason: "expected \(Self.name(of: type)), got null")
        case .keyNotFound(let key, let context):
            self.init(field: Self.path(context.codingPath + [key]), reason: "is required")
        case .dataCorrupted(let context):
            let field = Self.path(context.codingPath)
            self.init(
                field: field,
                reason: field.isEmpty ? "the spec cannot be read: \(context.debugDescription)" : "is out of range")
        @unknown default:
            self.init(field: "", reason: "\(error)")
        }
    }

    init(_ error: StreamError) {
        switch error {
        case .invalidConfiguration(let field, let reason):
            self.init(field: field, reason: reason)
        case .corruptShard(let shard, _):
            self.init(kind: "corruptShard", field: "", reason: error.description, shard: shard)
        case .shardUnavailable(let shard, _):
            self.init(kind: "shardUnavailable", field: "", reason: error.description, shard: shard)
        case .datasetTooSmall:
            self.init(kind: "datasetTooSmall", field: "sources", reason: error.description)
        case .incompatibleDatasets:
            self.init(kind: "incompatibleDatasets", field: "sources", reason: error.description)
        }
    }

    /// `sources[1].weight` from a coding path.
    static func path(_ keys: [any CodingKey]) -> String {
        var text = ""
        for key in keys {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : "." + key.stringValue
            }
        }
        return text
    }

    private static func name(of type: Any.Type) -> String {
        switch type {
        case is Int.Type, is Int64.Type: "an integer"
        case is UInt64.Type: "an integer >= 0"
        case is Double.Type: "a number"
        case is Bool.Type: "true or false"
        case is String.Type: "a string"
        default: "\(type)".lowercased().contains("array") ? "an array" : "an object"
        }
    }

    var json: String {
        var object: [String: Any] = ["kind": kind, "field": field, "message": reason]
        if let shard {
            object["shard"] = ["dataset": shard.dataset, "shard": shard.shard, "location": shard.location]
        }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}

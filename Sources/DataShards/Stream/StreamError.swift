// Errors of the stream. A bad shard is reported with its identity (dataset, shard name, location) so the
// control plane can mark exactly that shard bad; nothing is read from a shard that failed verification.

public struct ShardIdentity: Sendable, Hashable, Codable, CustomStringConvertible {
    public var dataset: String
    public var shard: String
    /// Where its files were read from (directory or base URL).
    public var location: String
    public init(dataset: String, shard: String, location: String) {
        self.dataset = dataset
        self.shard = shard
        self.location = location
    }
    public var description: String { "\(dataset)/\(shard) at \(location)" }
}

public enum StreamError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Checksum, size or format check failed: the shard must be marked bad and not trained on.
    case corruptShard(ShardIdentity, ShardError)
    /// The shard could not be fetched or opened (after retries).
    case shardUnavailable(ShardIdentity, reason: String)
    case invalidConfiguration(field: String, reason: String)
    case datasetTooSmall(dataset: String, tokens: Int64, neededTokens: Int64)
    case incompatibleDatasets(reason: String)

    public var description: String {
        switch self {
        case .corruptShard(let id, let error):
            return "corrupt shard \(id): \(error) — the shard must be re-created or removed from the dataset"
        case .shardUnavailable(let id, let reason):
            return "shard \(id) is unavailable: \(reason)"
        case .invalidConfiguration(let field, let reason):
            return "invalid stream configuration: \(field): \(reason)"
        case .datasetTooSmall(let dataset, let tokens, let needed):
            return "dataset \(dataset) has \(tokens) tokens, at least \(needed) are needed for one sample"
        case .incompatibleDatasets(let reason):
            return "datasets cannot be blended: \(reason)"
        }
    }

    /// The shard at fault, if the error is about one.
    public var shard: ShardIdentity? {
        switch self {
        case .corruptShard(let id, _), .shardUnavailable(let id, _): return id
        default: return nil
        }
    }
}

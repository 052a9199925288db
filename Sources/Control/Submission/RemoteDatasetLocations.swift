// The remote datasets a job reads, for data locality. Every planner resolves the datasets its tasks read
// into `location` fields of the task specs (stream inputs, verify parts, train and eval data), so one walk
// over the planned specs finds them for every kind, present and future.

import APITypes

enum RemoteDatasetLocations {
    /// The distinct http(s) values of `location` fields anywhere in `taskSpecs`, without a trailing slash
    /// (the form a worker's shard cache keys its files under: `<location>/<shard>.bin`), sorted.
    static func read(by taskSpecs: [AnyJSON]) -> [String] {
        var found: Set<String> = []
        func walk(_ value: AnyJSON) {
            switch value {
            case .object(let members):
                // A tokenize task's `sources` are input files (an http(s) URL among them is a file, not a dataset).
                for (key, member) in members where key != inputSourcesKey {
                    if key == "location", let text = member.stringValue, let location = normalized(text) {
                        found.insert(location)
                    }
                    walk(member)
                }
            case .array(let items):
                items.forEach(walk)
            default:
                break
            }
        }
        taskSpecs.forEach(walk)
        return found.sorted()
    }

    /// `TokenizeTaskSpec.sources` / `TrainTokenizerTaskSpec.sources`.
    static let inputSourcesKey = "sources"

    static func normalized(_ location: String) -> String? {
        let lower = location.lowercased()
        // A dataset by name is cached under `cp://datasets/<name>/<sha256>.bin` (`ListedShardLocator`).
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://") || location.hasPrefix(DatasetByName.scheme)
        else { return nil }
        var trimmed = Substring(location)
        while trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        return String(trimmed)
    }
}

// What a tokenize task reports about where its shard's documents came from (issue 20, docs/lineage.md), under
// `lineage` in its result beside `datasetShard`: the control plane records it in the same transaction as the
// shard, so a shard's lineage is in PostgreSQL exactly when the shard is.

public struct ShardLineageFacts: Codable, Sendable, Equatable {
    public static let resultKey = "lineage"
    /// Bounds on one shard's rows (a report is one request body): past them the lists stop and `truncated` says so.
    public static let maxDocumentRuns = 50_000
    public static let maxDroppedDocuments = 50_000

    /// One input file of the shard, as the task read it.
    public struct Input: Codable, Sendable, Equatable {
        /// The file's name as the user knows it (the manifest's path).
        public var name: String
        public var location: String
        public var sha256: String
        public var bytes: Int64
        public init(name: String, location: String, sha256: String, bytes: Int64) {
            self.name = name
            self.location = location
            self.sha256 = sha256
            self.bytes = bytes
        }
    }

    /// Shard documents `firstDocument ..< firstDocument + documents` are consecutive documents of input `input`
    /// starting at consecutive lines from `firstLine` (1-based; a whole-file document is line 1).
    public struct DocumentRun: Codable, Sendable, Equatable {
        public var firstDocument: Int64
        public var documents: Int64
        public var input: Int
        public var firstLine: Int
        public init(firstDocument: Int64, documents: Int64, input: Int, firstLine: Int) {
            self.firstDocument = firstDocument
            self.documents = documents
            self.input = input
            self.firstLine = firstLine
        }
    }

    public enum DropReason: String, Codable, Sendable, CaseIterable {
        /// The same normalized text appeared earlier (`dedup: true`).
        case exactDuplicate = "exact-duplicate"
        /// Joined to a lower document id by MinHash LSH (`nearDedup`).
        case nearDuplicate = "near-duplicate"
        /// Shares an n-gram with an eval file (`decontaminate`).
        case contaminated
    }

    /// A document read but not written, and the document it was dropped for when that is known: in this chunk
    /// (`keeperInput`, `keeperLine`) or only its chunk (`keeperShard`, the keeper's shard index).
    public struct Dropped: Codable, Sendable, Equatable {
        public var input: Int
        public var line: Int
        public var reason: DropReason
        public var keeperShard: Int?
        public var keeperInput: Int?
        public var keeperLine: Int?
        public init(
            input: Int, line: Int, reason: DropReason, keeperShard: Int? = nil, keeperInput: Int? = nil,
            keeperLine: Int? = nil
        ) {
            self.input = input
            self.line = line
            self.reason = reason
            self.keeperShard = keeperShard
            self.keeperInput = keeperInput
            self.keeperLine = keeperLine
        }
    }

    public var inputs: [Input]
    public var documentRuns: [DocumentRun]
    public var dropped: [Dropped]
    /// True when a list reached its bound and stops there.
    public var truncated: Bool

    public init(
        inputs: [Input] = [], documentRuns: [DocumentRun] = [], dropped: [Dropped] = [], truncated: Bool = false
    ) {
        self.inputs = inputs
        self.documentRuns = documentRuns
        self.dropped = dropped
        self.truncated = truncated
    }
}

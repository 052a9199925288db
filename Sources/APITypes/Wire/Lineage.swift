// The lineage graph and batch replay on the wire (issue 20; docs/lineage.md): `GET /v1/lineage/{kind}/{name}`
// answers a node's upstream graph as a tree in pre-order (flat, each node with its depth, so the type is not
// recursive), `GET /v1/jobs/{name}/replay` the documents of one training step's batch.

/// The kinds of node of `lineage_edges`.
public enum LineageKind: String, Codable, Sendable, CaseIterable {
    case input, shard, tokenizer, dataset, document, job, checkpoint, eval
}

/// A node of the graph: its kind and id (`dataset/shard` for a shard, `job@step` for a checkpoint, a sha256 for
/// an input file or tokenizer, a name for the rest).
public struct LineageNodeKey: Codable, Sendable, Hashable, CustomStringConvertible {
    public var kind: LineageKind
    public var id: String
    public init(kind: LineageKind, id: String) {
        self.kind = kind
        self.id = id
    }
    public var description: String { "\(kind.rawValue) \(id)" }
}

/// One node of the tree: `depth` 0 is the node asked for; a node's children follow it with depth + 1.
public struct LineageTreeNode: Codable, Sendable, Equatable {
    public var depth: Int
    public var kind: LineageKind
    public var id: String
    /// How this node feeds its parent (`trained-on`, `part-of`, …); nil for the root.
    public var relation: String?
    /// The edge's facts (checksums, sizes, weights, stream state, …).
    public var detail: AnyJSON
    /// Upstream nodes not listed under this one (past the per-node bound, or already shown above).
    public var omittedChildren: Int
    public init(
        depth: Int, kind: LineageKind, id: String, relation: String?, detail: AnyJSON, omittedChildren: Int = 0
    ) {
        self.depth = depth
        self.kind = kind
        self.id = id
        self.relation = relation
        self.detail = detail
        self.omittedChildren = omittedChildren
    }
}

public struct LineageGraph: Codable, Sendable, Equatable {
    public var root: LineageNodeKey
    public var nodes: [LineageTreeNode]
    public init(root: LineageNodeKey, nodes: [LineageTreeNode]) {
        self.root = root
        self.nodes = nodes
    }
}

/// A piece of a replayed sample: tokens of one document, and where the document came from.
public struct ReplayedPiece: Codable, Sendable, Equatable {
    public var dataset: String
    public var shard: Int
    /// The document's index in the shard.
    public var document: Int
    /// Token offset of the piece in the document, and its length.
    public var tokenOffset: Int
    public var tokens: Int
    /// The input file and line the document was read from; nil when the dataset has no recorded lineage.
    public var file: String?
    public var line: Int?
    /// The piece's tokens decoded with the dataset's tokenizer (cut to `ReplayedPiece.maxExcerptCharacters`),
    /// or their ids when the tokenizer cannot be read here.
    public var excerpt: String
    public static let maxExcerptCharacters = 200
    public init(
        dataset: String, shard: Int, document: Int, tokenOffset: Int, tokens: Int, file: String?, line: Int?,
        excerpt: String
    ) {
        self.dataset = dataset
        self.shard = shard
        self.document = document
        self.tokenOffset = tokenOffset
        self.tokens = tokens
        self.file = file
        self.line = line
        self.excerpt = excerpt
    }
}

/// One row of the step's batch: micro-batch, row, its place in the global order and its pieces.
public struct ReplayedSample: Codable, Sendable, Equatable {
    public var microbatch: Int
    public var row: Int
    public var globalPosition: Int64
    public var pieces: [ReplayedPiece]
    public init(microbatch: Int, row: Int, globalPosition: Int64, pieces: [ReplayedPiece]) {
        self.microbatch = microbatch
        self.row = row
        self.globalPosition = globalPosition
        self.pieces = pieces
    }
}

public struct ReplayedBatch: Codable, Sendable, Equatable {
    public var job: String
    public var step: Int
    public var rank: Int
    /// The checkpoint whose recorded stream state the replay started from (nil: the start of the stream).
    public var fromCheckpoint: String?
    /// `batch_checksum` of the replayed tokens, and the one the run reported at this step (nil: not recorded).
    public var replayedChecksum: Int64
    public var recordedChecksum: Int64?
    public var samples: [ReplayedSample]
    public init(
        job: String, step: Int, rank: Int, fromCheckpoint: String?, replayedChecksum: Int64, recordedChecksum: Int64?,
        samples: [ReplayedSample]
    ) {
        self.job = job
        self.step = step
        self.rank = rank
        self.fromCheckpoint = fromCheckpoint
        self.replayedChecksum = replayedChecksum
        self.recordedChecksum = recordedChecksum
        self.samples = samples
    }
}

extension TrainSettings {
    /// The seed of model init and data order (`seed`, default 1234): what the worker trains with and what a
    /// replay of its batches reads with.
    public var effectiveSeed: UInt64 { UInt64(truncatingIfNeeded: seed ?? 1234) }
}

/// Metrics that are bookkeeping, not curves: charts, sparklines and progress lines leave them out. The trainers'
/// `batch_checksum` (every step, for `opsctl replay`; the same name as DataShards' `BatchChecksum.metricName`)
/// is a hash, and at one point per step it would also use up a chart's point budget.
public enum UnchartedMetrics {
    public static let names: [String] = ["batch_checksum"]
    public static func contains(_ name: String) -> Bool { names.contains(name) }
}

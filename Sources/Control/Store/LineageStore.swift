// The lineage tables (docs/lineage.md): a shard's inputs, document runs and dropped documents, recorded with the
// shard in its task's completion transaction, and the reads of the `lineage_edges` view.

import APITypes
import ClusterModel
import Foundation
import Postgres

public struct LineageStore: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    /// The `lineage` block of a task result, checked (every index in range, every checksum hex), nil when absent.
    static func facts(in result: AnyJSON) throws -> ShardLineageFacts? {
        let key = ShardLineageFacts.resultKey
        guard let value = result[key], value != .null else { return nil }
        let facts: ShardLineageFacts
        do { facts = try value.decode(as: ShardLineageFacts.self) } catch {
            throw StoreError.invalid(
                field: "result.\(key)", message: "cannot be read: \(WireCoding.describe(error))")
        }
        let inputs = facts.inputs.indices
        for (i, input) in facts.inputs.enumerated()
        where input.sha256.count != 64 || !input.sha256.allSatisfy({ $0.isHexDigit && !$0.isUppercase })
            || input.bytes < 0
        {
            throw StoreError.invalid(
                field: "result.\(key).inputs[\(i)]", message: "expected a lower-case hex sha256 and a size >= 0")
        }
        for (i, run) in facts.documentRuns.enumerated()
        where !inputs.contains(run.input) || run.firstDocument < 0 || run.documents < 1 || run.firstLine < 1 {
            throw StoreError.invalid(
                field: "result.\(key).documentRuns[\(i)]",
                message:
                    "expected an input index below \(inputs.count), firstDocument >= 0, documents >= 1, firstLine >= 1")
        }
        for (i, dropped) in facts.dropped.enumerated()
        where !inputs.contains(dropped.input) || dropped.line < 1
            || dropped.keeperInput.map({ !inputs.contains($0) }) == true
        {
            throw StoreError.invalid(
                field: "result.\(key).dropped[\(i)]",
                message: "expected input and keeperInput indexes below \(inputs.count) and line >= 1")
        }
        return facts
    }

    /// Records shard `shard`'s lineage inside the caller's transaction (the shard's row exists).
    static func record(_ c: PostgresConnection, dataset: DatasetID, shard: Int, _ facts: ShardLineageFacts) throws {
        let key: [PostgresValue?] = [dataset.sql, .int(Int64(shard))]
        _ = try c.execute(
            LineageSQL.insertInputs,
            key + [
                .textArray(facts.inputs.map(\.name)), .textArray(facts.inputs.map(\.location)),
                .textArray(facts.inputs.map(\.sha256)), .intArray(facts.inputs.map(\.bytes)),
            ])
        _ = try c.execute(
            LineageSQL.insertDocumentRuns,
            key + [
                .intArray(facts.documentRuns.map(\.firstDocument)), .intArray(facts.documentRuns.map(\.documents)),
                .intArray(facts.documentRuns.map { Int64($0.input) }),
                .intArray(facts.documentRuns.map { Int64($0.firstLine) }),
            ])
        _ = try c.execute(
            LineageSQL.insertDropped,
            key + [
                .intArray(facts.dropped.map { Int64($0.input) }), .intArray(facts.dropped.map { Int64($0.line) }),
                .textArray(facts.dropped.map { $0.reason.rawValue }),
                .intArray(facts.dropped.map { Int64($0.keeperShard ?? -1) }),
                .intArray(facts.dropped.map { Int64($0.keeperInput ?? -1) }),
                .intArray(facts.dropped.map { Int64($0.keeperLine ?? -1) }),
            ])
        if facts.truncated { _ = try c.execute(LineageSQL.markTruncated, key) }
    }

    /// The edges into a node, at most `limit`, and how many there are in all.
    public func edges(into node: LineageNodeKey, limit: Int) throws -> (edges: [LineageEdge], total: Int) {
        try pool.withConnection { c in
            let rows = try c.query(
                LineageSQL.edgesInto, [.text(node.kind.rawValue), .text(node.id), .int(Int64(limit))])
            let edges = try rows.compactMap { try LineageEdge(row: $0) }
            let total =
                edges.count < limit
                ? edges.count
                : try c.queryOne(LineageSQL.countInto, [.text(node.kind.rawValue), .text(node.id)]).int("n")
            return (edges, total)
        }
    }

    /// Whether the node is the source of any edge (a node with neither edge in nor out is unknown).
    public func feedsSomething(_ node: LineageNodeKey) throws -> Bool {
        try pool.withConnection {
            try $0.queryOne(LineageSQL.countFrom, [.text(node.kind.rawValue), .text(node.id)]).int("n") > 0
        }
    }

    /// `job@step` of the job's newest checkpoint, nil when it has none.
    public func newestCheckpoint(ofJob job: String) throws -> String? {
        try pool.withConnection { try $0.queryFirst(LineageSQL.newestCheckpoint, [.text(job)])?.string("id") }
    }
}

/// One row of `lineage_edges`.
public struct LineageEdge: Sendable, Equatable {
    public var from: LineageNodeKey
    public var to: LineageNodeKey
    public var relation: String
    /// The edge's `detail` JSON text.
    public var detail: String

    /// Nil for a row of a kind this version does not know (a newer replica's view).
    init?(row: PostgresRow) throws {
        guard let fromKind = LineageKind(rawValue: try row.string("from_kind")),
            let toKind = LineageKind(rawValue: try row.string("to_kind"))
        else { return nil }
        from = LineageNodeKey(kind: fromKind, id: try row.optionalString("from_id") ?? "")
        to = LineageNodeKey(kind: toKind, id: try row.string("to_id"))
        relation = try row.string("relation")
        detail = try row.optionalString("detail") ?? "{}"
    }
}

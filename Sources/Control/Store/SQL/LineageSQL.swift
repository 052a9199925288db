// Statements of the lineage tables (`dataset_inputs`, `shard_document_runs`, `dataset_dropped_documents`) and of
// the `lineage_edges` view (docs/lineage.md). The tables are written once per shard, with its completion; a
// repeated insert does nothing. Arrays are unnested so a shard's rows are one statement per table.

enum LineageSQL {
    /// Inputs of shard $2 of dataset $1: names $3, locations $4, sha256s $5, sizes $6 (input index = position).
    static let insertInputs = """
        INSERT INTO dataset_inputs (dataset_id, shard_index, input_index, name, location, sha256, bytes)
        SELECT $1, $2, i.ord - 1, i.name, i.location, i.sha256, i.bytes
        FROM unnest($3::text[], $4::text[], $5::text[], $6::bigint[]) WITH ORDINALITY AS i(name, location, sha256, bytes, ord)
        ON CONFLICT DO NOTHING
        """

    /// Document runs of shard $2 of dataset $1: first documents $3, counts $4, input indexes $5, first lines $6.
    static let insertDocumentRuns = """
        INSERT INTO shard_document_runs (dataset_id, shard_index, first_document, documents, input_index, first_line)
        SELECT $1, $2, r.first_document, r.documents, r.input_index, r.first_line
        FROM unnest($3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[]) AS r(first_document, documents, input_index, first_line)
        ON CONFLICT DO NOTHING
        """

    /// Dropped documents of shard $2 of dataset $1: input indexes $3, lines $4, reasons $5, keeper shards $6,
    /// keeper inputs $7, keeper lines $8 (-1: unknown).
    static let insertDropped = """
        INSERT INTO dataset_dropped_documents
            (dataset_id, shard_index, ordinal, input_index, line, reason, keeper_shard, keeper_input, keeper_line)
        SELECT $1, $2, x.ord - 1, x.input_index, x.line, x.reason, nullif(x.keeper_shard, -1),
               nullif(x.keeper_input, -1), nullif(x.keeper_line, -1)
        FROM unnest($3::bigint[], $4::bigint[], $5::text[], $6::bigint[], $7::bigint[], $8::bigint[])
            WITH ORDINALITY AS x(input_index, line, reason, keeper_shard, keeper_input, keeper_line, ord)
        ON CONFLICT DO NOTHING
        """

    /// Marks shard $2 of dataset $1's lineage as cut at its bounds.
    static let markTruncated = "UPDATE shards SET lineage_truncated = true WHERE dataset_id = $1 AND shard_index = $2"

    /// Edges into node ($1 kind, $2 id), at most $3, in a stable order: dropped documents last (a dataset has few
    /// shards and many of them; the bound keeps the shards), ids of one length together (shard 2 before shard 10).
    static let edgesInto = """
        SELECT from_kind, from_id, to_kind, to_id, relation, detail::text AS detail FROM lineage_edges
        WHERE to_kind = $1 AND to_id = $2
        ORDER BY from_kind = 'document', relation, from_kind, length(from_id), from_id LIMIT $3
        """

    /// How many edges lead into node ($1 kind, $2 id).
    static let countInto = "SELECT count(*) AS n FROM lineage_edges WHERE to_kind = $1 AND to_id = $2"

    /// Edges out of node ($1 kind, $2 id) (does it exist as a source, and what does it feed).
    static let countFrom = "SELECT count(*) AS n FROM lineage_edges WHERE from_kind = $1 AND from_id = $2"

    /// The `job@step` id of job $1's newest checkpoint.
    static let newestCheckpoint = """
        SELECT j.name || '@' || (a.metadata->>'step') AS id FROM artifacts a JOIN jobs j ON j.id = a.job_id
        WHERE j.name = $1 AND a.kind = 'checkpoint' AND a.metadata ? 'step'
        ORDER BY (a.metadata->>'step')::bigint DESC, a.id DESC LIMIT 1
        """

    /// Job $1's checkpoints (step, stream state) with a step below $2, newest first, the first only.
    static let checkpointBefore = """
        SELECT (a.metadata->>'step')::bigint AS step, (a.metadata->'streamState')::text AS stream, a.name
        FROM artifacts a
        WHERE a.job_id = $1 AND a.kind = 'checkpoint' AND a.metadata ? 'step' AND a.metadata ? 'streamState'
          AND (a.metadata->>'step')::bigint < $2
        ORDER BY (a.metadata->>'step')::bigint DESC, a.id DESC LIMIT 1
        """

    /// The batch checksum rank $2 of job $1 reported at step $3 (its newest attempt's), as the metric's value.
    static let batchChecksum = """
        SELECT m.value FROM metrics m JOIN tasks t ON t.id = m.task_id
        WHERE m.job_id = $1 AND t.task_index = $2 AND m.name = $4 AND m.step = $3
        ORDER BY m.id DESC LIMIT 1
        """

    /// The steps rank $2 of job $1 reported checksums for (first and last).
    static let batchChecksumSteps = """
        SELECT min(m.step) AS first, max(m.step) AS last FROM metrics m JOIN tasks t ON t.id = m.task_id
        WHERE m.job_id = $1 AND t.task_index = $2 AND m.name = $3
        """

    /// The task spec of rank $2 of job $1.
    static let taskSpec = "SELECT spec::text AS spec FROM tasks WHERE job_id = $1 AND task_index = $2"

    /// Where document $3 of shard $2 of dataset $1 came from: its run and input.
    static let documentSource = """
        SELECT r.first_document, r.documents, r.first_line, i.name, i.location, i.sha256
        FROM shard_document_runs r
        JOIN dataset_inputs i ON (i.dataset_id, i.shard_index, i.input_index) = (r.dataset_id, r.shard_index, r.input_index)
        WHERE r.dataset_id = $1 AND r.shard_index = $2 AND r.first_document <= $3
        ORDER BY r.first_document DESC LIMIT 1
        """
}

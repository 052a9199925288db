// Statements of worker registration (`WorkerStore.register`): who holds a name, a new worker id, the same id
// renewed by the worker that proved it holds it, and the retirement of a name's lost or drained holder.

extension WorkerSQL {
    /// The current holder of name $1, locked: its id, state and token hash (NULL when it has no token).
    static let lockHolderOfName = """
        SELECT id, state, token_hash FROM workers WHERE name = $1 AND retired_at IS NULL FOR UPDATE
        """

    /// A new worker under name $1: $2 cpu, $3 memory, $4 accelerators, $5 labels, $6 token hash, $7 version,
    /// $8 kinds. Returns no row when a concurrent registration took the name first (the caller refuses this one).
    static let insertRegistration = """
        INSERT INTO workers (name, cpu_millis, memory_bytes, accelerators, labels, state, token_hash, version, kinds)
        VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, 'alive', $6, $7, $8)
        ON CONFLICT (name) WHERE retired_at IS NULL DO NOTHING
        RETURNING id
        """

    /// Worker $1 registered again, having proved who it is: $2 cpu, $3 memory, $4 accelerators, $5 labels,
    /// $6 version, $7 kinds. It becomes alive with an empty shard cache; its token stays.
    static let renewRegistration = """
        UPDATE workers SET cpu_millis = $2, memory_bytes = $3, accelerators = $4::jsonb, labels = $5::jsonb,
            version = $6, kinds = $7, state = 'alive', last_heartbeat = now(), cached_shards = '{}'
        WHERE id = $1
        """

    /// Worker $1, lost or drained, gives its name up to a new registration: retired, its token revoked.
    /// Its attempts and events stay its own.
    static let retire = "UPDATE workers SET retired_at = now(), token_hash = NULL WHERE id = $1"
}

// The database schema, as versioned migrations. Never edit a released migration: add a new one.
// Large payloads (shards, checkpoints, artifacts) never live in rows: rows hold location + sha256.

extension Migrations {
    public static let all: [Migration] = [
        Migration(
            version: 1, name: "core tables",
            sql: """
                CREATE TABLE workers (
                    id             bigserial PRIMARY KEY,
                    name           text NOT NULL UNIQUE,
                    cpu_millis     bigint NOT NULL CHECK (cpu_millis >= 0),
                    memory_bytes   bigint NOT NULL CHECK (memory_bytes >= 0),
                    accelerators   jsonb NOT NULL DEFAULT '{}',
                    labels         jsonb NOT NULL DEFAULT '{}',
                    state          text NOT NULL CHECK (state IN ('alive', 'lost', 'drained')),
                    token_hash     text,
                    registered_at  timestamptz NOT NULL DEFAULT now(),
                    last_heartbeat timestamptz NOT NULL DEFAULT now()
                );
                CREATE INDEX workers_alive_heartbeat ON workers (last_heartbeat) WHERE state = 'alive';

                -- Job names are unique over all jobs (terminal ones too), so `after:` names are unambiguous.
                CREATE TABLE jobs (
                    id                      bigserial PRIMARY KEY,
                    name                    text NOT NULL UNIQUE,
                    type                    text NOT NULL,
                    spec                    jsonb NOT NULL DEFAULT '{}',
                    queue                   text NOT NULL DEFAULT 'default',
                    priority                integer NOT NULL DEFAULT 0,
                    replicas                integer NOT NULL DEFAULT 1 CHECK (replicas >= 1),
                    cpu_millis              bigint NOT NULL DEFAULT 0,
                    memory_bytes            bigint NOT NULL DEFAULT 0,
                    accelerators            jsonb NOT NULL DEFAULT '{}',
                    node_selector           jsonb NOT NULL DEFAULT '{}',
                    max_attempts            integer NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
                    initial_backoff_seconds double precision NOT NULL DEFAULT 1,
                    max_backoff_seconds     double precision NOT NULL DEFAULT 300,
                    backoff_multiplier      double precision NOT NULL DEFAULT 2,
                    state                   text NOT NULL CHECK (state IN ('pending', 'running', 'succeeded', 'failed', 'cancelled')),
                    cancel_requested        boolean NOT NULL DEFAULT false,
                    pending_reason          text,
                    submitted_at            timestamptz NOT NULL DEFAULT now(),
                    started_at              timestamptz,
                    finished_at             timestamptz
                );
                CREATE INDEX jobs_state ON jobs (state, id);

                CREATE TABLE job_dependencies (
                    job_id       bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
                    after_job_id bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
                    on_failure   text NOT NULL DEFAULT 'cancel' CHECK (on_failure IN ('cancel', 'proceed')),
                    PRIMARY KEY (job_id, after_job_id),
                    CHECK (job_id <> after_job_id)
                );
                CREATE INDEX job_dependencies_after ON job_dependencies (after_job_id);

                CREATE TABLE tasks (
                    id                bigserial PRIMARY KEY,
                    job_id            bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
                    task_index        integer NOT NULL,
                    spec              jsonb NOT NULL DEFAULT '{}',
                    cpu_millis        bigint NOT NULL DEFAULT 0,
                    memory_bytes      bigint NOT NULL DEFAULT 0,
                    accelerators      jsonb NOT NULL DEFAULT '{}',
                    node_selector     jsonb NOT NULL DEFAULT '{}',    -- the job's, copied so claiming reads tasks only
                    priority          integer NOT NULL DEFAULT 0,     -- the job's, copied for the runnable index
                    gang              boolean NOT NULL DEFAULT false, -- replicas > 1: runs only where the scheduler placed it
                    state             text NOT NULL CHECK (state IN ('blocked', 'queued', 'running', 'succeeded', 'failed', 'cancelled')),
                    attempts          integer NOT NULL DEFAULT 0,
                    not_before        timestamptz NOT NULL DEFAULT now(),
                    placed_worker_id  bigint REFERENCES workers (id),
                    worker_id         bigint REFERENCES workers (id), -- holder of the active attempt
                    active_attempt_id bigint,
                    result            jsonb,
                    error             text,
                    created_at        timestamptz NOT NULL DEFAULT now(),
                    updated_at        timestamptz NOT NULL DEFAULT now(),
                    started_at        timestamptz,
                    finished_at       timestamptz,
                    UNIQUE (job_id, task_index)
                );
                CREATE INDEX tasks_runnable ON tasks (priority DESC, id) WHERE state = 'queued';
                CREATE INDEX tasks_job_state ON tasks (job_id, state);
                CREATE INDEX tasks_running_worker ON tasks (worker_id) WHERE state = 'running';

                -- An attempt is a lease: one worker, one deadline that heartbeats extend.
                CREATE TABLE task_attempts (
                    id             bigserial PRIMARY KEY,
                    task_id        bigint NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
                    number         integer NOT NULL CHECK (number >= 1),
                    worker_id      bigint NOT NULL REFERENCES workers (id),
                    state          text NOT NULL CHECK (state IN ('active', 'succeeded', 'failed', 'expired', 'preempted', 'cancelled')),
                    lease_seconds  double precision NOT NULL,
                    lease_deadline timestamptz NOT NULL,
                    started_at     timestamptz NOT NULL DEFAULT now(),
                    finished_at    timestamptz,
                    error          text,
                    UNIQUE (task_id, number)
                );
                -- The database itself refuses a second active lease on one task.
                CREATE UNIQUE INDEX task_attempts_one_active ON task_attempts (task_id) WHERE state = 'active';
                CREATE INDEX task_attempts_active_deadline ON task_attempts (lease_deadline) WHERE state = 'active';
                CREATE INDEX task_attempts_active_worker ON task_attempts (worker_id) WHERE state = 'active';

                -- The audit trail: one row per state change of a job, task or worker, written in the same
                -- transaction as the change.
                CREATE TABLE events (
                    id        bigserial PRIMARY KEY,
                    at        timestamptz NOT NULL DEFAULT clock_timestamp(),
                    entity    text NOT NULL CHECK (entity IN ('job', 'task', 'worker', 'dataset', 'shard', 'artifact')),
                    entity_id bigint NOT NULL,
                    job_id    bigint,
                    old_state text,
                    new_state text NOT NULL,
                    reason    text NOT NULL DEFAULT ''
                );
                CREATE INDEX events_job ON events (job_id, id) WHERE job_id IS NOT NULL;
                CREATE INDEX events_entity ON events (entity, entity_id, id);

                CREATE TABLE task_logs (
                    id         bigserial PRIMARY KEY,
                    job_id     bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
                    task_id    bigint NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
                    attempt_id bigint NOT NULL REFERENCES task_attempts (id) ON DELETE CASCADE,
                    seq        bigint NOT NULL,
                    at         timestamptz NOT NULL DEFAULT now(),
                    line       text NOT NULL,
                    UNIQUE (attempt_id, seq)
                );
                CREATE INDEX task_logs_job ON task_logs (job_id, id);

                CREATE TABLE metrics (
                    id         bigserial PRIMARY KEY,
                    job_id     bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
                    task_id    bigint NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
                    attempt_id bigint NOT NULL REFERENCES task_attempts (id) ON DELETE CASCADE,
                    name       text NOT NULL,
                    step       bigint NOT NULL,
                    value      double precision NOT NULL,
                    at         timestamptz NOT NULL DEFAULT now(),
                    UNIQUE (attempt_id, name, step)
                );
                CREATE INDEX metrics_job ON metrics (job_id, name, step);

                CREATE TABLE datasets (
                    id         bigserial PRIMARY KEY,
                    name       text NOT NULL UNIQUE,
                    location   text NOT NULL,
                    format     text NOT NULL DEFAULT '',
                    metadata   jsonb NOT NULL DEFAULT '{}',
                    job_id     bigint REFERENCES jobs (id) ON DELETE SET NULL,
                    created_at timestamptz NOT NULL DEFAULT now()
                );

                CREATE TABLE shards (
                    id          bigserial PRIMARY KEY,
                    dataset_id  bigint NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
                    shard_index integer NOT NULL CHECK (shard_index >= 0),
                    location    text NOT NULL,
                    sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
                    bytes       bigint NOT NULL CHECK (bytes >= 0),
                    tokens      bigint NOT NULL DEFAULT 0 CHECK (tokens >= 0),
                    documents   bigint NOT NULL DEFAULT 0 CHECK (documents >= 0),
                    state       text NOT NULL DEFAULT 'ok' CHECK (state IN ('ok', 'bad')),
                    bad_reason  text,
                    created_at  timestamptz NOT NULL DEFAULT now(),
                    UNIQUE (dataset_id, shard_index)
                );

                CREATE TABLE artifacts (
                    id         bigserial PRIMARY KEY,
                    job_id     bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
                    task_id    bigint REFERENCES tasks (id) ON DELETE SET NULL,
                    name       text NOT NULL,
                    kind       text NOT NULL,
                    location   text NOT NULL,
                    sha256     text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
                    bytes      bigint NOT NULL CHECK (bytes >= 0),
                    metadata   jsonb NOT NULL DEFAULT '{}',
                    created_at timestamptz NOT NULL DEFAULT now(),
                    UNIQUE (job_id, name)
                );
                """),
        // Preemption with a grace period: the scheduler marks the victim's attempt; its worker is told on the
        // next heartbeat, checkpoints and hands the task back (requeued, not failed) before the deadline.
        Migration(
            version: 2, name: "preemption grace",
            sql: """
                ALTER TABLE task_attempts ADD COLUMN preempt_deadline timestamptz;
                ALTER TABLE task_attempts ADD COLUMN preempt_reason text;
                CREATE INDEX task_attempts_preempting ON task_attempts (preempt_deadline) WHERE state = 'active' AND preempt_deadline IS NOT NULL;
                """),
        // The scheduling leader's reservations, so a new leader after a failover keeps blocked gangs' places.
        Migration(
            version: 3, name: "scheduler state",
            sql: """
                CREATE TABLE scheduler_state (
                    id           integer PRIMARY KEY CHECK (id = 1),
                    reservations jsonb NOT NULL DEFAULT '[]',
                    leader       text NOT NULL DEFAULT '',
                    updated_at   timestamptz NOT NULL DEFAULT now()
                );
                INSERT INTO scheduler_state (id) VALUES (1);
                """),
        // `onDependencyFailure: fail` — a failed dependency fails its dependents (cancel and proceed existed).
        Migration(
            version: 4, name: "dependency policy fail",
            sql: """
                ALTER TABLE job_dependencies DROP CONSTRAINT job_dependencies_on_failure_check;
                ALTER TABLE job_dependencies ADD CONSTRAINT job_dependencies_on_failure_check
                    CHECK (on_failure IN ('cancel', 'proceed', 'fail'));
                """),
        // The live attempt's last progress report, shown by `opsctl get tasks` and `--wait`.
        Migration(
            version: 5, name: "task progress",
            sql: """
                ALTER TABLE tasks ADD COLUMN progress double precision;
                ALTER TABLE tasks ADD COLUMN progress_message text;
                """),
        // Configured queues (`kind: Queue`): weight and optional quota for the scheduler. A queue jobs name
        // but that has no row here has weight 1 and no quota. The quota columns are all set or all NULL;
        // a zero amount in a set quota means that resource is not limited.
        Migration(
            version: 6, name: "queues",
            sql: """
                CREATE TABLE queues (
                    name               text PRIMARY KEY CHECK (name <> ''),
                    weight             double precision NOT NULL DEFAULT 1 CHECK (weight > 0 AND weight <> 'Infinity'),
                    quota_cpu_millis   bigint CHECK (quota_cpu_millis >= 0),
                    quota_memory_bytes bigint CHECK (quota_memory_bytes >= 0),
                    quota_accelerators jsonb CHECK (jsonb_typeof(quota_accelerators) = 'object'),
                    updated_at         timestamptz NOT NULL DEFAULT now(),
                    CHECK ((quota_cpu_millis IS NULL) = (quota_memory_bytes IS NULL)
                           AND (quota_cpu_millis IS NULL) = (quota_accelerators IS NULL))
                );
                -- The claim's fast path finds the jobs of quota-limited queues by queue.
                CREATE INDEX jobs_queue ON jobs (queue);
                """),
        // A claim counts the queued tasks the scheduler placed on the worker as used capacity (reservations).
        Migration(
            version: 7, name: "placed task reservations",
            sql: """
                CREATE INDEX tasks_placed_worker ON tasks (placed_worker_id) WHERE state = 'queued' AND placed_worker_id IS NOT NULL;
                """),
        // Data locality. Workers list the remote shard files (URLs of `.bin` files) their cache holds; jobs list
        // the remote dataset locations they read. Tasks of such jobs are placed by the scheduler (which prefers
        // workers caching the shards), never taken by a claim's fast path.
        Migration(
            version: 8, name: "data locality",
            sql: """
                ALTER TABLE workers ADD COLUMN cached_shards text[] NOT NULL DEFAULT '{}';
                ALTER TABLE jobs ADD COLUMN reads_locations text[] NOT NULL DEFAULT '{}';
                ALTER TABLE tasks ADD COLUMN reads_remote boolean NOT NULL DEFAULT false;
                """),
        // What a worker said about itself at registration, shown by `opsctl get workers`.
        Migration(
            version: 9, name: "worker version and kinds",
            sql: """
                ALTER TABLE workers ADD COLUMN version text NOT NULL DEFAULT '';
                ALTER TABLE workers ADD COLUMN kinds text[] NOT NULL DEFAULT '{}';
                """),
        // A task's kind (its job's type) beside it, so a claim offers a worker only kinds it has executors for
        // without joining jobs for every candidate.
        Migration(
            version: 10, name: "task kind",
            sql: """
                ALTER TABLE tasks ADD COLUMN kind text NOT NULL DEFAULT '';
                UPDATE tasks t SET kind = j.type FROM jobs j WHERE j.id = t.job_id;
                """),
        // Queue changes in the audit trail: queues get a numeric id for their events (the name stays the key;
        // a queue deleted and configured again gets a new id, and each event's reason names the queue).
        Migration(
            version: 11, name: "queue events",
            sql: """
                ALTER TABLE queues ADD COLUMN id bigserial UNIQUE;
                ALTER TABLE events DROP CONSTRAINT events_entity_check;
                ALTER TABLE events ADD CONSTRAINT events_entity_check
                    CHECK (entity IN ('job', 'task', 'worker', 'dataset', 'shard', 'artifact', 'queue'));
                """),
        // A worker announcing its shutdown is 'draining' (no new work, its attempts continue) until it deregisters
        // ('drained'); before, both were 'drained' and the API's 'draining' was never shown.
        Migration(
            version: 12, name: "draining workers",
            sql: """
                ALTER TABLE workers DROP CONSTRAINT workers_state_check;
                ALTER TABLE workers ADD CONSTRAINT workers_state_check CHECK (state IN ('alive', 'draining', 'lost', 'drained'));
                """),
        // The training exchange of a job (issue 14): named entries pointing at artifact-store bytes (location +
        // sha256, which the blob collector counts as references), written by the members of a DiLoCo gang and
        // the attempts of a resumable run instead of files in a shared directory. `version` orders every write,
        // so a reader asks for what changed after the largest version it saw.
        Migration(
            version: 13, name: "training exchange",
            sql: """
                CREATE TABLE training_exchange (
                    job_id     bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
                    name       text NOT NULL CHECK (name ~ '^[A-Za-z0-9._-]{1,200}$'),
                    location   text NOT NULL CHECK (location <> ''),
                    sha256     text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
                    bytes      bigint NOT NULL CHECK (bytes >= 0),
                    version    bigserial NOT NULL,
                    created_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (job_id, name)
                );
                CREATE INDEX training_exchange_version ON training_exchange (job_id, version);
                CREATE INDEX training_exchange_sha256 ON training_exchange (sha256);
                """),
        // Datasets by name (issue 14): a shard's `.idx` file is a blob of its own, so its row says where it is
        // and what it hashes to (NULL for shards written to a host directory, whose `.idx` sits beside the `.bin`).
        Migration(
            version: 14, name: "shard index files",
            sql: """
                ALTER TABLE shards ADD COLUMN idx_location text;
                ALTER TABLE shards ADD COLUMN idx_sha256 text CHECK (idx_sha256 ~ '^[0-9a-f]{64}$');
                ALTER TABLE shards ADD COLUMN idx_bytes bigint CHECK (idx_bytes >= 0);
                """),
        // Listings that page (issue 15): each keyset page is one index range scan in its list's order. Tasks
        // list newest job first and each job's in id order, a mixed direction no plain index serves, hence the
        // expression; a queue's jobs and a job's artifacts list newest first by id.
        Migration(
            version: 15, name: "listing indexes",
            sql: """
                CREATE INDEX tasks_listing ON tasks ((-job_id), id);
                CREATE INDEX jobs_queue_id ON jobs (queue, id);
                CREATE INDEX artifacts_job_id ON artifacts (job_id, id);
                """),
        // Log lines keep their stream and their attempt's number (issue 15): every line was shown as `stdout` of
        // attempt 0. The number is copied from the attempt at insert, so reading a job's lines joins nothing.
        // Lines stored before this migration have no recorded stream; they keep `stdout`, as they were shown.
        Migration(
            version: 16, name: "log line streams",
            sql: """
                ALTER TABLE task_logs ADD COLUMN stream text NOT NULL DEFAULT 'stdout'
                    CHECK (stream IN ('stdout', 'stderr', 'system'));
                ALTER TABLE task_logs ADD COLUMN attempt_number integer;
                UPDATE task_logs l SET attempt_number = a.number FROM task_attempts a WHERE a.id = l.attempt_id;
                ALTER TABLE task_logs ALTER COLUMN attempt_number SET NOT NULL;
                ALTER TABLE task_logs ADD CONSTRAINT task_logs_attempt_number CHECK (attempt_number >= 1);
                """),
        // Artifacts outlive their job (issue 15, `opsctl delete job`): deleting a job keeps its artifacts' rows
        // (and so their bytes, which the blob collector counts as referenced) unless asked to delete them too.
        // A kept row keeps its job's id (ids are never reused, so a new job of the same name never adopts a
        // deleted one's checkpoints) and records the deleted job's name, which listings show in its place.
        Migration(
            version: 17, name: "artifacts outlive their job",
            sql: """
                ALTER TABLE artifacts DROP CONSTRAINT artifacts_job_id_fkey;
                ALTER TABLE artifacts ADD COLUMN deleted_job_name text;
                """),
        // Fencing the scheduling leader (issue 16): the advisory lock dies with the session that held it (a
        // primary killed under Patroni takes every session with it), and a replica that has not noticed yet must
        // not write after another took over. Each new leader takes the next epoch; a pass checks it under the
        // row lock it already takes, so a pass of an old epoch writes nothing.
        Migration(
            version: 18, name: "scheduling leader epoch",
            sql: """
                ALTER TABLE scheduler_state ADD COLUMN leader_epoch bigint NOT NULL DEFAULT 0
                    CHECK (leader_epoch >= 0);
                """),
        // Worker identity (issue 16): a registration under the name of a lost or drained worker gets a new id
        // instead of taking over the old one. The old row stays, with its attempts and events, marked retired, so
        // a name is unique among current workers only.
        Migration(
            version: 19, name: "retired workers",
            sql: """
                ALTER TABLE workers ADD COLUMN retired_at timestamptz;
                ALTER TABLE workers DROP CONSTRAINT workers_name_key;
                CREATE UNIQUE INDEX workers_current_name ON workers (name) WHERE retired_at IS NULL;
                """),
        // History by time (issue 15): the audit trail, log lines and metric points grew without bound. They become
        // tables range-partitioned by UTC week (Monday 00:00; weeks, not days: docs/history.md), so retention drops
        // whole partitions instead of deleting rows. Events are filed by `at`; a log line or metric point by its attempt's start
        // (`attempt_started_at`, copied at insert): a unique index of a partitioned table must hold the partition
        // key, and with the attempt's start the appends' idempotency keys stay exactly as unique as before (with
        // `at` a retried report's lines would be stored twice). Every row moves with its id (same sequences), so
        // id cursors and newest-first pages are unchanged. Rows older than this week go to one partition from
        // MINVALUE (retention drops it once this week is old enough); this week and the next get their own
        // partitions (the sweep keeps creating them, `HistoryPartitions`); a DEFAULT partition takes any other
        // time, so an insert never fails for want of a partition.
        Migration(
            version: 20, name: "history partitions",
            sql: """
                CREATE TABLE events_partitioned (
                    id        bigint NOT NULL DEFAULT nextval('events_id_seq'),
                    at        timestamptz NOT NULL DEFAULT clock_timestamp(),
                    entity    text NOT NULL CONSTRAINT events_entity_check
                        CHECK (entity IN ('job', 'task', 'worker', 'dataset', 'shard', 'artifact', 'queue')),
                    entity_id bigint NOT NULL,
                    job_id    bigint,
                    old_state text,
                    new_state text NOT NULL,
                    reason    text NOT NULL DEFAULT ''
                ) PARTITION BY RANGE (at);

                CREATE TABLE task_logs_partitioned (
                    id                 bigint NOT NULL DEFAULT nextval('task_logs_id_seq'),
                    job_id             bigint NOT NULL CONSTRAINT task_logs_job_id_fkey REFERENCES jobs (id) ON DELETE CASCADE,
                    task_id            bigint NOT NULL CONSTRAINT task_logs_task_id_fkey REFERENCES tasks (id) ON DELETE CASCADE,
                    attempt_id         bigint NOT NULL CONSTRAINT task_logs_attempt_id_fkey
                        REFERENCES task_attempts (id) ON DELETE CASCADE,
                    seq                bigint NOT NULL,
                    at                 timestamptz NOT NULL DEFAULT now(),
                    line               text NOT NULL,
                    stream             text NOT NULL DEFAULT 'stdout' CONSTRAINT task_logs_stream_check
                        CHECK (stream IN ('stdout', 'stderr', 'system')),
                    attempt_number     integer NOT NULL CONSTRAINT task_logs_attempt_number CHECK (attempt_number >= 1),
                    -- The store's append always copies the attempt's start; the default serves direct inserts.
                    attempt_started_at timestamptz NOT NULL DEFAULT now()
                ) PARTITION BY RANGE (attempt_started_at);

                CREATE TABLE metrics_partitioned (
                    id                 bigint NOT NULL DEFAULT nextval('metrics_id_seq'),
                    job_id             bigint NOT NULL CONSTRAINT metrics_job_id_fkey REFERENCES jobs (id) ON DELETE CASCADE,
                    task_id            bigint NOT NULL CONSTRAINT metrics_task_id_fkey REFERENCES tasks (id) ON DELETE CASCADE,
                    attempt_id         bigint NOT NULL CONSTRAINT metrics_attempt_id_fkey
                        REFERENCES task_attempts (id) ON DELETE CASCADE,
                    name               text NOT NULL,
                    step               bigint NOT NULL,
                    value              double precision NOT NULL,
                    at                 timestamptz NOT NULL DEFAULT now(),
                    attempt_started_at timestamptz NOT NULL DEFAULT now()
                ) PARTITION BY RANGE (attempt_started_at);

                DO $$
                DECLARE
                    monday timestamptz := date_trunc('week', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
                    history text;
                    week integer;
                BEGIN
                    FOREACH history IN ARRAY ARRAY['events', 'task_logs', 'metrics'] LOOP
                        EXECUTE format('CREATE TABLE %I PARTITION OF %I DEFAULT',
                            history || '_default', history || '_partitioned');
                        EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (MINVALUE) TO (%L)',
                            history || '_before_' || to_char(monday AT TIME ZONE 'UTC', 'YYYYMMDD'),
                            history || '_partitioned', monday);
                        FOR week IN 0..1 LOOP
                            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                                history || '_w' || to_char((monday + make_interval(weeks => week)) AT TIME ZONE 'UTC', 'YYYYMMDD'),
                                history || '_partitioned',
                                monday + make_interval(weeks => week), monday + make_interval(weeks => week + 1));
                        END LOOP;
                    END LOOP;
                END
                $$;

                INSERT INTO events_partitioned (id, at, entity, entity_id, job_id, old_state, new_state, reason)
                SELECT id, at, entity, entity_id, job_id, old_state, new_state, reason FROM events;
                INSERT INTO task_logs_partitioned
                    (id, job_id, task_id, attempt_id, seq, at, line, stream, attempt_number, attempt_started_at)
                SELECT l.id, l.job_id, l.task_id, l.attempt_id, l.seq, l.at, l.line, l.stream, l.attempt_number, a.started_at
                FROM task_logs l JOIN task_attempts a ON a.id = l.attempt_id;
                INSERT INTO metrics_partitioned (id, job_id, task_id, attempt_id, name, step, value, at, attempt_started_at)
                SELECT m.id, m.job_id, m.task_id, m.attempt_id, m.name, m.step, m.value, m.at, a.started_at
                FROM metrics m JOIN task_attempts a ON a.id = m.attempt_id;

                -- The sequences outlive the old tables, so new rows keep numbering after the moved ones.
                ALTER SEQUENCE events_id_seq OWNED BY events_partitioned.id;
                ALTER SEQUENCE task_logs_id_seq OWNED BY task_logs_partitioned.id;
                ALTER SEQUENCE metrics_id_seq OWNED BY metrics_partitioned.id;
                DROP TABLE events, task_logs, metrics;
                ALTER TABLE events_partitioned RENAME TO events;
                ALTER TABLE task_logs_partitioned RENAME TO task_logs;
                ALTER TABLE metrics_partitioned RENAME TO metrics;

                -- The old indexes, each with the partition key where uniqueness needs it. The attempt's start is a
                -- function of the attempt, so (attempt_id, seq, attempt_started_at) is as unique as (attempt_id, seq).
                ALTER TABLE events ADD PRIMARY KEY (id, at);
                CREATE INDEX events_job ON events (job_id, id) WHERE job_id IS NOT NULL;
                CREATE INDEX events_entity ON events (entity, entity_id, id);
                ALTER TABLE task_logs ADD PRIMARY KEY (id, attempt_started_at);
                ALTER TABLE task_logs ADD CONSTRAINT task_logs_attempt_id_seq_key
                    UNIQUE (attempt_id, seq, attempt_started_at);
                CREATE INDEX task_logs_job ON task_logs (job_id, id);
                ALTER TABLE metrics ADD PRIMARY KEY (id, attempt_started_at);
                ALTER TABLE metrics ADD CONSTRAINT metrics_attempt_id_name_step_key
                    UNIQUE (attempt_id, name, step, attempt_started_at);
                CREATE INDEX metrics_job ON metrics (job_id, name, step);
                """),
        // A scheduling pass reads a bounded slice of the queue (issue 15; `SchedulingPassLimits`): the jobs with
        // unplaced queued tasks by a skip scan, and each one's first tasks by index. Without this index both read
        // every queued task (over 9 minutes per pass at 1,000,000 queued).
        Migration(
            version: 21, name: "unplaced tasks index",
            sql: """
                CREATE INDEX tasks_unplaced ON tasks (job_id, task_index)
                    WHERE state = 'queued' AND placed_worker_id IS NULL;
                """),
        // Named operator tokens with a scope (issue 16.5; docs/security.md): only each secret's SHA-256 is kept,
        // found by its unique index on every request that presents one; a revoked token keeps its row (and its
        // name taken) for the events trail. Events name who made a change through the API: `actor` defaults to
        // the session setting the router binds for a request by a token (`admin` for the root admin token, a
        // named token's name), NULL for what the control plane and the workers do, so no statement that writes
        // an event has to pass it.
        Migration(
            version: 22, name: "api tokens",
            sql: """
                CREATE TABLE api_tokens (
                    id            bigserial PRIMARY KEY,
                    name          text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,62}$' AND name <> 'admin'),
                    scope         text NOT NULL CHECK (scope IN ('viewer', 'submitter', 'admin')),
                    queues        text[] NOT NULL DEFAULT '{}',
                    secret_sha256 text NOT NULL UNIQUE CHECK (secret_sha256 ~ '^[0-9a-f]{64}$'),
                    created_at    timestamptz NOT NULL DEFAULT now(),
                    created_by    text NOT NULL,
                    revoked_at    timestamptz,
                    revoked_by    text,
                    CHECK ((scope = 'submitter') = (cardinality(queues) > 0))
                );
                ALTER TABLE events ADD COLUMN actor text DEFAULT nullif(current_setting('ops.actor', true), '');
                """),
        // The dashboard's sessions (issue 17; docs/dashboard.md): a browser holds a random session id in an
        // HttpOnly cookie, the row only its SHA-256 (a read of this table signs no one in), the SHA-256 of the
        // token that signed in (resolved again on every request, so a revoked token ends its sessions at once on
        // every replica) and the session's CSRF token. Rows past `expires_at` are refused and deleted at the
        // next sign-in.
        Migration(
            version: 23, name: "dashboard sessions",
            sql: """
                CREATE TABLE dashboard_sessions (
                    session_sha256 text PRIMARY KEY CHECK (session_sha256 ~ '^[0-9a-f]{64}$'),
                    token_sha256   text NOT NULL CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
                    csrf_token     text NOT NULL CHECK (csrf_token ~ '^[0-9a-f]{64}$'),
                    created_at     timestamptz NOT NULL DEFAULT now(),
                    expires_at     timestamptz NOT NULL
                );
                CREATE INDEX dashboard_sessions_token ON dashboard_sessions (token_sha256, created_at);
                CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions (expires_at);
                """),
        // A claim is one statement (issue 15; docs/leases.md, `TaskSQL.claim`) whose snapshot is taken before it
        // waits for its worker's row lock. Every writer that takes a worker's capacity (a claim, the scheduler's
        // placement commit) bumps this counter under that lock, so a claim whose snapshot missed one of them sees
        // it and claims again after locking first.
        Migration(
            version: 24, name: "worker capacity epoch",
            sql: """
                ALTER TABLE workers ADD COLUMN capacity_epoch bigint NOT NULL DEFAULT 0;
                """),
        // Evals on every checkpoint (issue 20; docs/training.md): the eval job the control plane created for a
        // checkpoint artifact of a train job with `evalEvery: checkpoint`, in the transaction that registered the
        // checkpoint; the primary key makes that once per checkpoint. The row links the eval to the checkpoint,
        // the training step and the data position there (tokens consumed, and the stream state when the worker
        // reported it). Its results are the eval job's metrics, copied into the train job as `eval_loss/<dataset>`
        // at this step (`CheckpointEvalSQL.mirrorMetrics`).
        Migration(
            version: 25, name: "checkpoint evals",
            sql: """
                CREATE TABLE checkpoint_evals (
                    artifact_id     bigint PRIMARY KEY REFERENCES artifacts (id) ON DELETE CASCADE,
                    train_job_id    bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
                    eval_job_id     bigint NOT NULL UNIQUE REFERENCES jobs (id) ON DELETE CASCADE,
                    step            bigint NOT NULL CHECK (step >= 0),
                    tokens_consumed bigint NOT NULL CHECK (tokens_consumed >= 0),
                    stream_state    jsonb,
                    created_at      timestamptz NOT NULL DEFAULT now()
                );
                CREATE INDEX checkpoint_evals_train_job ON checkpoint_evals (train_job_id, step);
                """),
        // Checkpoint-aware preemption and token quotas (issue 20; docs/scheduler.md, docs/queues.md). A train
        // attempt's latest cumulative `tokens` metric (`tokens_consumed`) and its task's tokens at its last
        // registered checkpoint (`checkpoint_tokens`, `checkpointed_at`) give the scheduler the work a preemption
        // would lose; what one did lose is kept on the attempt (`tokens_lost`). Per queue and UTC day, the tokens
        // its train jobs consumed (against `queues.tokens_per_day`) and lost to preemption (the /metrics counter,
        // which outlives retention of the attempts).
        Migration(
            version: 26, name: "tokens since checkpoint and token quotas",
            sql: """
                ALTER TABLE task_attempts ADD COLUMN tokens_consumed bigint CHECK (tokens_consumed >= 0);
                ALTER TABLE task_attempts ADD COLUMN tokens_lost bigint CHECK (tokens_lost >= 0);
                ALTER TABLE tasks ADD COLUMN checkpoint_tokens bigint CHECK (checkpoint_tokens >= 0);
                ALTER TABLE tasks ADD COLUMN checkpointed_at timestamptz;
                ALTER TABLE queues ADD COLUMN tokens_per_day bigint CHECK (tokens_per_day >= 1);
                CREATE TABLE queue_token_days (
                    queue           text NOT NULL,
                    day             date NOT NULL,
                    tokens_consumed bigint NOT NULL DEFAULT 0 CHECK (tokens_consumed >= 0),
                    tokens_lost     bigint NOT NULL DEFAULT 0 CHECK (tokens_lost >= 0),
                    PRIMARY KEY (queue, day)
                );
                """),
        // Lineage (issue 20; docs/lineage.md). What a tokenize task reports with its shard, in the same transaction:
        // its input files (checksum, size), which input line each shard document came from (runs of consecutive
        // lines: one row per run, not per document) and the documents it dropped with the one they were dropped
        // for. `lineage_edges` joins these to what was recorded before (shards, the dataset's tokenizer, train
        // jobs' blends, checkpoints with their stream state, eval jobs) as one graph analysts can query; ids are
        // names (`dataset/shard`, `job@step`), so the edges read without joins.
        Migration(
            version: 27, name: "lineage",
            sql: """
                CREATE TABLE dataset_inputs (
                    dataset_id  bigint NOT NULL,
                    shard_index integer NOT NULL,
                    input_index integer NOT NULL CHECK (input_index >= 0),
                    name        text NOT NULL,
                    location    text NOT NULL,
                    sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
                    bytes       bigint NOT NULL CHECK (bytes >= 0),
                    PRIMARY KEY (dataset_id, shard_index, input_index),
                    FOREIGN KEY (dataset_id, shard_index) REFERENCES shards (dataset_id, shard_index) ON DELETE CASCADE
                );
                CREATE INDEX dataset_inputs_sha256 ON dataset_inputs (sha256);
                CREATE TABLE shard_document_runs (
                    dataset_id     bigint NOT NULL,
                    shard_index    integer NOT NULL,
                    first_document bigint NOT NULL CHECK (first_document >= 0),
                    documents      bigint NOT NULL CHECK (documents >= 1),
                    input_index    integer NOT NULL,
                    first_line     integer NOT NULL CHECK (first_line >= 1),
                    PRIMARY KEY (dataset_id, shard_index, first_document),
                    FOREIGN KEY (dataset_id, shard_index, input_index)
                        REFERENCES dataset_inputs (dataset_id, shard_index, input_index) ON DELETE CASCADE
                );
                CREATE TABLE dataset_dropped_documents (
                    dataset_id   bigint NOT NULL,
                    shard_index  integer NOT NULL,
                    ordinal      integer NOT NULL CHECK (ordinal >= 0),
                    input_index  integer NOT NULL,
                    line         integer NOT NULL CHECK (line >= 1),
                    reason       text NOT NULL CHECK (reason IN ('exact-duplicate', 'near-duplicate', 'contaminated')),
                    keeper_shard integer,
                    keeper_input integer,
                    keeper_line  integer,
                    PRIMARY KEY (dataset_id, shard_index, ordinal),
                    FOREIGN KEY (dataset_id, shard_index, input_index)
                        REFERENCES dataset_inputs (dataset_id, shard_index, input_index) ON DELETE CASCADE
                );
                ALTER TABLE shards ADD COLUMN lineage_truncated boolean NOT NULL DEFAULT false;

                CREATE VIEW lineage_edges AS
                SELECT 'input'::text AS from_kind, i.sha256 AS from_id, 'shard'::text AS to_kind,
                       d.name || '/' || i.shard_index AS to_id, 'read-into'::text AS relation,
                       jsonb_build_object('file', i.name, 'location', i.location, 'bytes', i.bytes) AS detail
                FROM dataset_inputs i JOIN datasets d ON d.id = i.dataset_id
                UNION ALL
                SELECT 'shard', d.name || '/' || s.shard_index, 'dataset', d.name, 'part-of',
                       jsonb_build_object('sha256', s.sha256, 'bytes', s.bytes, 'tokens', s.tokens,
                                          'documents', s.documents, 'location', s.location,
                                          'lineageTruncated', s.lineage_truncated)
                FROM shards s JOIN datasets d ON d.id = s.dataset_id
                UNION ALL
                SELECT 'tokenizer', coalesce(d.metadata->>'tokenizerSHA256', d.metadata->>'tokenizerHash'), 'dataset',
                       d.name, 'tokenized',
                       jsonb_build_object('location', d.metadata->>'tokenizer', 'hash', d.metadata->>'tokenizerHash',
                                          'vocabularySize', d.metadata->'vocabularySize')
                FROM datasets d WHERE d.metadata ? 'tokenizerHash'
                UNION ALL
                SELECT 'job', j.name, 'dataset', d.name, 'wrote', jsonb_build_object('type', j.type)
                FROM datasets d JOIN jobs j ON j.id = d.job_id
                UNION ALL
                SELECT 'document', d.name || '/' || x.shard_index || '/' || i.name || ':' || x.line, 'dataset', d.name,
                       'dropped-' || x.reason,
                       jsonb_build_object('file', i.name, 'line', x.line, 'shard', x.shard_index,
                                          'keeperShard', x.keeper_shard, 'keeperFile', k.name,
                                          'keeperLine', x.keeper_line)
                FROM dataset_dropped_documents x JOIN datasets d ON d.id = x.dataset_id
                JOIN dataset_inputs i
                    ON (i.dataset_id, i.shard_index, i.input_index) = (x.dataset_id, x.shard_index, x.input_index)
                LEFT JOIN dataset_inputs k
                    ON (k.dataset_id, k.shard_index, k.input_index) = (x.dataset_id, x.shard_index, x.keeper_input)
                UNION ALL
                SELECT 'dataset', coalesce(e.source->>'dataset', e.source->>'path', e.source->>'location'), 'job',
                       j.name, CASE e.part WHEN 'data' THEN 'trained-on' ELSE 'validated-on' END,
                       jsonb_build_object('weight', coalesce(e.source->'weight', '1'::jsonb),
                                          'location', e.source->>'location', 'seed', t.spec->'seed')
                FROM jobs j JOIN tasks t ON t.job_id = j.id AND t.task_index = 0
                CROSS JOIN LATERAL (
                    SELECT 'data' AS part, value AS source FROM jsonb_array_elements(
                        CASE WHEN jsonb_typeof(t.spec->'data') = 'array' THEN t.spec->'data' ELSE '[]' END)
                    UNION ALL
                    SELECT 'eval', value FROM jsonb_array_elements(
                        CASE WHEN jsonb_typeof(t.spec->'eval'->'data') = 'array' THEN t.spec->'eval'->'data'
                        ELSE '[]' END)
                ) e
                WHERE j.type = 'train'
                UNION ALL
                SELECT 'job', j.name, 'checkpoint', j.name || '@' || (a.metadata->>'step'), 'produced',
                       jsonb_build_object('artifact', a.name, 'sha256', a.sha256, 'bytes', a.bytes,
                                          'location', a.location, 'step', a.metadata->'step',
                                          'stream', a.metadata->'streamState', 'seed', t.spec->'seed',
                                          'batchSize', t.spec->'batchSize', 'sequenceLength', t.spec->'sequenceLength',
                                          'gradientAccumulation', t.spec->'gradientAccumulation',
                                          'replicas', j.replicas)
                FROM artifacts a JOIN jobs j ON j.id = a.job_id
                LEFT JOIN tasks t ON t.job_id = j.id AND t.task_index = 0
                WHERE a.kind = 'checkpoint' AND a.metadata ? 'step'
                UNION ALL
                SELECT 'checkpoint', cj.name || '@' || (c.metadata->>'step'), 'eval', j.name, 'evaluated-by',
                       jsonb_build_object('sha256', c.sha256, 'step', c.metadata->'step')
                FROM jobs j JOIN tasks t ON t.job_id = j.id AND t.task_index = 0
                CROSS JOIN LATERAL (
                    SELECT a.* FROM artifacts a
                    WHERE a.kind = 'checkpoint' AND a.metadata ? 'step'
                      AND (a.location = t.result->>'checkpoint' OR a.sha256 = t.spec->'checkpoint'->>'sha256'
                           OR a.job_id = (SELECT id FROM jobs WHERE name = t.spec->'checkpoint'->>'job'))
                    ORDER BY (a.location = t.result->>'checkpoint') DESC NULLS LAST,
                             (a.sha256 = t.spec->'checkpoint'->>'sha256') DESC NULLS LAST,
                             (a.metadata->>'step')::bigint DESC
                    LIMIT 1
                ) c
                JOIN jobs cj ON cj.id = c.job_id
                WHERE j.type = 'eval'
                UNION ALL
                SELECT 'dataset', coalesce(e.value->>'dataset', e.value->>'path', e.value->>'location'), 'eval', j.name,
                       'evaluated-on', jsonb_build_object('location', e.value->>'location')
                FROM jobs j JOIN tasks t ON t.job_id = j.id AND t.task_index = 0
                CROSS JOIN LATERAL jsonb_array_elements(
                    CASE WHEN jsonb_typeof(t.spec->'data') = 'array' THEN t.spec->'data' ELSE '[]' END) e
                WHERE j.type = 'eval';
                """),
        // Worker pools (issue 19; docs/worker-pools.md): a `kind: WorkerPool` definition, the autoscaler's last
        // look at it, the Slurm jobs it submitted until they end, and every scale decision with its reason (the
        // newest 1,000 per pool are kept). The pool's name is the one key; dropping a pool drops its history.
        Migration(
            version: 28, name: "worker pools",
            sql: """
                CREATE TABLE worker_pools (
                    name           text PRIMARY KEY CHECK (name ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
                    spec           jsonb NOT NULL,
                    current_nodes  int NOT NULL DEFAULT 0 CHECK (current_nodes >= 0),
                    desired_nodes  int NOT NULL DEFAULT 0 CHECK (desired_nodes >= 0),
                    blocked_reason text,
                    scaled_at      timestamptz,
                    created_at     timestamptz NOT NULL DEFAULT now(),
                    updated_at     timestamptz NOT NULL DEFAULT now()
                );
                CREATE TABLE worker_pool_slurm_jobs (
                    pool         text NOT NULL REFERENCES worker_pools (name) ON DELETE CASCADE,
                    slurm_job_id text NOT NULL CHECK (slurm_job_id ~ '^[0-9][0-9_.]{0,63}$'),
                    nodes        int NOT NULL CHECK (nodes > 0),
                    state        text NOT NULL CHECK (state IN ('pending', 'running', 'cancelled', 'ended')),
                    submitted_at timestamptz NOT NULL DEFAULT now(),
                    ended_at     timestamptz,
                    PRIMARY KEY (pool, slurm_job_id)
                );
                CREATE TABLE worker_pool_decisions (
                    id           bigserial PRIMARY KEY,
                    pool         text NOT NULL REFERENCES worker_pools (name) ON DELETE CASCADE,
                    at           timestamptz NOT NULL DEFAULT now(),
                    action       text NOT NULL CHECK (action IN ('submit', 'cancel', 'ended', 'failed')),
                    slurm_job_id text,
                    nodes        int NOT NULL DEFAULT 0 CHECK (nodes >= 0),
                    reason       text NOT NULL
                );
                CREATE INDEX worker_pool_decisions_pool ON worker_pool_decisions (pool, id);
                """),
        // Token creations and revocations in the audit trail (issue 16.5; docs/security.md): one `token` event each,
        // written by `TokenSQL.create` / `TokenSQL.revoke` in the same statement, its actor the admin who did it.
        Migration(
            version: 29, name: "token events",
            sql: """
                ALTER TABLE events DROP CONSTRAINT events_entity_check;
                ALTER TABLE events ADD CONSTRAINT events_entity_check
                    CHECK (entity IN ('job', 'task', 'worker', 'dataset', 'shard', 'artifact', 'queue', 'token'));
                """),
        // The lease in the task row (issue 15; docs/leases.md, "A model of the lease"): a claim updates its tasks
        // and writes nothing else; an attempt's row is written once, in its final state, into `attempts_ended` when
        // it ends. Before, a claim inserted an attempt (5 indexes, 2 foreign-key probes) that the completion updated
        // again: ~22 index entries and 6 tuples per task against raw SKIP LOCKED's ~2 and 2, which held batch 64 near
        // 0.25 of raw whatever was trimmed around it. `task_attempts` becomes a view of both, for every reader.
        // The live attempts move into their tasks; log lines and metrics keep their attempt ids (their foreign keys
        // to the attempts go first, or deleting the moved rows would cascade to them).
        Migration(
            version: 30, name: "lease in the task row",
            sql: """
                ALTER TABLE tasks
                    ADD COLUMN lease_seconds double precision,
                    ADD COLUMN lease_deadline timestamptz,
                    ADD COLUMN attempt_started_at timestamptz,
                    ADD COLUMN preempt_deadline timestamptz,
                    ADD COLUMN preempt_reason text,
                    ADD COLUMN attempt_tokens_consumed bigint CHECK (attempt_tokens_consumed >= 0),
                    ADD COLUMN attempt_tokens_lost bigint CHECK (attempt_tokens_lost >= 0);
                ALTER TABLE task_logs DROP CONSTRAINT task_logs_attempt_id_fkey;
                ALTER TABLE metrics DROP CONSTRAINT metrics_attempt_id_fkey;
                UPDATE tasks t SET lease_seconds = a.lease_seconds, lease_deadline = a.lease_deadline,
                    attempt_started_at = a.started_at, preempt_deadline = a.preempt_deadline,
                    preempt_reason = a.preempt_reason, attempt_tokens_consumed = a.tokens_consumed,
                    attempt_tokens_lost = a.tokens_lost
                FROM task_attempts a
                WHERE a.state = 'active' AND a.id = t.active_attempt_id AND t.state = 'running';
                DELETE FROM task_attempts WHERE state = 'active';
                DROP INDEX task_attempts_one_active, task_attempts_active_deadline, task_attempts_active_worker,
                    task_attempts_preempting;
                ALTER TABLE task_attempts DROP CONSTRAINT task_attempts_worker_id_fkey;
                ALTER TABLE task_attempts RENAME TO attempts_ended;
                ALTER TABLE attempts_ended ADD CONSTRAINT attempts_ended_not_active CHECK (state <> 'active');
                ALTER TABLE tasks DROP CONSTRAINT tasks_worker_id_fkey;
                CREATE UNIQUE INDEX tasks_active_attempt ON tasks (active_attempt_id) WHERE state = 'running';
                CREATE INDEX tasks_preempting ON tasks (preempt_deadline)
                    WHERE state = 'running' AND preempt_deadline IS NOT NULL;
                CREATE VIEW task_attempts AS
                    SELECT id, task_id, number, worker_id, state, lease_seconds, lease_deadline, started_at,
                        finished_at, error, preempt_deadline, preempt_reason, tokens_consumed, tokens_lost
                    FROM attempts_ended
                    UNION ALL
                    SELECT t.active_attempt_id, t.id, t.attempts, t.worker_id, 'active', t.lease_seconds,
                        t.lease_deadline, t.attempt_started_at, NULL::timestamptz, NULL::text, t.preempt_deadline,
                        t.preempt_reason, t.attempt_tokens_consumed, t.attempt_tokens_lost
                    FROM tasks t WHERE t.state = 'running' AND t.active_attempt_id IS NOT NULL;
                """),
        // One event per job per claim and per completion batch (issue 15; docs/leases.md, "Events per batch"):
        // entity 'tasks', entity_id the job, `task_ids` the batch's tasks. Two per-task events into the
        // partitioned `events` (3 indexes each) were ~15 % of a batch-64 claim + completion in the lease model;
        // a task's attempts keep the per-task record (worker, times, final state), and the per-task reads
        // (`EventSQL.ofEntity`) find the batch events that name a task.
        Migration(
            version: 31, name: "events per batch",
            sql: """
                ALTER TABLE events ADD COLUMN task_ids bigint[];
                ALTER TABLE events DROP CONSTRAINT events_entity_check;
                ALTER TABLE events ADD CONSTRAINT events_entity_check
                    CHECK (entity IN ('job', 'task', 'tasks', 'worker', 'dataset', 'shard', 'artifact', 'queue',
                                      'token'));
                ALTER TABLE events ADD CONSTRAINT events_task_ids_of_batches
                    CHECK ((entity = 'tasks') = (task_ids IS NOT NULL));
                """),
        // The attempt that succeeds stays in its task row (issue 15; docs/leases.md, "The attempt that succeeds, and a
        // completion the claim flushes"): a completion sets `final_attempt_id` and `final_worker_id` instead of
        // writing an `attempts_ended` row (a heap row, two index entries and a foreign-key check per task, ~12 % of a
        // batch-64 claim + completion in the lease model). The rest of that attempt (its number, lease, start,
        // tokens) is already the task row's; `succeeded` is final, so nothing overwrites it. Attempts that end
        // otherwise (failed, expired, preempted, cancelled) still get their own row, since their task goes on. Older
        // succeeded attempts keep theirs.
        Migration(
            version: 32, name: "the attempt that succeeds stays in its task row",
            sql: """
                ALTER TABLE tasks ADD COLUMN final_attempt_id bigint, ADD COLUMN final_worker_id bigint,
                    ADD CONSTRAINT tasks_final_attempt_succeeded
                        CHECK (final_attempt_id IS NULL OR state = 'succeeded');
                CREATE UNIQUE INDEX tasks_final_attempt ON tasks (final_attempt_id) WHERE final_attempt_id IS NOT NULL;
                CREATE OR REPLACE VIEW task_attempts AS
                    SELECT id, task_id, number, worker_id, state, lease_seconds, lease_deadline, started_at,
                        finished_at, error, preempt_deadline, preempt_reason, tokens_consumed, tokens_lost
                    FROM attempts_ended
                    UNION ALL
                    SELECT t.active_attempt_id, t.id, t.attempts, t.worker_id, 'active', t.lease_seconds,
                        t.lease_deadline, t.attempt_started_at, NULL::timestamptz, NULL::text, t.preempt_deadline,
                        t.preempt_reason, t.attempt_tokens_consumed, t.attempt_tokens_lost
                    FROM tasks t WHERE t.state = 'running' AND t.active_attempt_id IS NOT NULL
                    UNION ALL
                    SELECT t.final_attempt_id, t.id, t.attempts, t.final_worker_id, 'succeeded', t.lease_seconds,
                        t.lease_deadline, t.attempt_started_at, t.finished_at, NULL::text, t.preempt_deadline,
                        t.preempt_reason, t.attempt_tokens_consumed, t.attempt_tokens_lost
                    FROM tasks t WHERE t.final_attempt_id IS NOT NULL;
                """),
        // The index of live attempts no longer competes with `tasks_running_worker` (issue 15; docs/leases.md, "A
        // claim's cost and the cluster's other running tasks"). Both were partial on `state = 'running'`, so any
        // statement that names that state could scan either one whole. With statistics taken when no task ran (the
        // control plane takes them after a large submission), the planner counts both as empty, and the cached plans
        // of the claim's capacity sum and the completion's own rows read every running task of the cluster through
        // this index: with 20,000 tasks running elsewhere, `StoreBench --batch 64` fell from ~15,000 to ~9,000
        // tasks/s. Partial on the id itself, the index serves exactly the statements that name attempt ids. Attempt
        // ids come from one sequence, so uniqueness is the same over any subset of rows.
        Migration(
            version: 33, name: "live attempts indexed by their ids alone",
            sql: """
                DROP INDEX tasks_active_attempt;
                CREATE UNIQUE INDEX tasks_active_attempt ON tasks (active_attempt_id) WHERE active_attempt_id IS NOT NULL;
                """),
    ]
}

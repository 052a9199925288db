// The command table of `opsctl`: every command, argument, option, its OPS_* variable and default. The
// executable dispatches on it; help text is generated from it, so help and behaviour cannot drift apart.

public enum OpsCommands {
    public static let outputFormats = ["table", "json", "wide"]
    public static let getKinds = ["jobs", "tasks", "workers", "datasets", "shards", "artifacts", "events", "queues"]

    public static let globalOptions: [OptionSpec] = [
        OptionSpec("server", value: "URL", help: "control-plane URL", environment: "OPS_SERVER",
                   default: "the URL `opsctl up` wrote to the state dir, else http://127.0.0.1:8080"),
        OptionSpec("token-file", value: "PATH", help: "file holding the admin token (or OPS_TOKEN holds the token itself; never a flag)",
                   environment: "OPS_TOKEN_FILE", default: "<state-dir>/admin-token when present"),
        OptionSpec("state-dir", value: "DIR", help: "local state: embedded database, tokens, artifacts, work dirs",
                   environment: "OPS_STATE_DIR", default: "~/.opsctl"),
        OptionSpec("help", short: "h", help: "show help"),
    ]

    static let output = OptionSpec("output", short: "o", value: "FORMAT", help: "table, wide or json", environment: "OPS_OUTPUT", default: "table")

    public static let up = CommandSpec("up", summary: "Run a local cluster: embedded PostgreSQL, control plane and N workers",
        options: [
            OptionSpec("workers", short: "n", value: "N", help: "number of local workers", environment: "OPS_WORKERS", default: "2"),
            OptionSpec("port", value: "PORT", help: "control-plane port on 127.0.0.1 (0 = a free port)", environment: "OPS_PORT", default: "0"),
            OptionSpec("database-url", value: "URL", help: "use this PostgreSQL instead of the embedded one", environment: "OPS_DATABASE_URL"),
            OptionSpec("postgres-bin", value: "DIR", help: "where initdb and postgres are", environment: "OPS_POSTGRES_BIN",
                       default: "/usr/lib/postgresql/15/bin"),
            OptionSpec("worker-cpus", value: "CPUS", help: "cpus each worker offers (2, 0.5, 500m)", environment: "OPS_WORKER_CPUS",
                       default: "the machine's cores / workers"),
            OptionSpec("worker-memory", value: "BYTES", help: "memory each worker offers (8Gi, 512Mi)", environment: "OPS_WORKER_MEMORY",
                       default: "the machine's memory / workers"),
            OptionSpec("worker-max-tasks", value: "N", help: "attempts each worker runs at once", environment: "OPS_WORKER_MAX_TASKS", default: "4"),
        ],
        discussion: """
        The state dir keeps the database, the tokens and the artifacts: the next `opsctl up` finds the same jobs.
        Prints the URL and the admin token file; Ctrl-C stops the workers, the control plane and PostgreSQL cleanly.
        As root, PostgreSQL runs as the `postgres` user.
        """)

    public static let serve = CommandSpec("serve", summary: "Run the control-plane daemon (REST API, scheduler, leases)",
        options: [
            OptionSpec("host", value: "ADDR", help: "address to listen on", environment: "OPS_HOST", default: "127.0.0.1"),
            OptionSpec("port", short: "p", value: "PORT", help: "port to listen on", environment: "OPS_PORT", default: "8080"),
            OptionSpec("database-url", value: "URL", help: "PostgreSQL connection URL (required)", environment: "OPS_DATABASE_URL"),
            OptionSpec("admin-token-file", value: "PATH", help: "file with the admin token (or OPS_ADMIN_TOKEN)", environment: "OPS_ADMIN_TOKEN_FILE"),
            OptionSpec("join-token-file", value: "PATH", help: "file with the token workers register with (or OPS_JOIN_TOKEN)",
                       environment: "OPS_JOIN_TOKEN_FILE"),
            OptionSpec("artifact-dir", value: "DIR", help: "where the control plane stores uploaded artifacts", environment: "OPS_ARTIFACT_DIR",
                       default: "<state-dir>/artifacts"),
            OptionSpec("lease-seconds", value: "SECONDS", help: "lease duration without a heartbeat", environment: "OPS_LEASE_SECONDS", default: "15"),
            OptionSpec("heartbeat-seconds", value: "SECONDS", help: "heartbeat interval given to workers", environment: "OPS_HEARTBEAT_SECONDS",
                       default: "3"),
            OptionSpec("max-body-bytes", value: "BYTES", help: "largest request body accepted", environment: "OPS_MAX_BODY_BYTES", default: "16Mi"),
        ],
        discussion: "Several `serve` replicas may share one database; they coordinate through it.")

    public static let worker = CommandSpec("worker", summary: "Run a worker daemon that takes tasks from the control plane",
        options: [
            OptionSpec("join-token-file", value: "PATH", help: "file with the join token (or OPS_JOIN_TOKEN; falls back to the admin token)",
                       environment: "OPS_JOIN_TOKEN_FILE"),
            OptionSpec("name", value: "NAME", help: "worker name", environment: "OPS_WORKER_NAME", default: "the host name"),
            OptionSpec("cpus", value: "CPUS", help: "cpus offered (2, 0.5, 500m)", environment: "OPS_WORKER_CPUS", default: "all cores"),
            OptionSpec("memory", value: "BYTES", help: "memory offered (8Gi, 512Mi, 1G, bytes)", environment: "OPS_WORKER_MEMORY",
                       default: "physical memory"),
            OptionSpec("accelerator", value: "TYPE=COUNT", help: "accelerators offered (gpu-h100=8)", environment: "OPS_WORKER_ACCELERATORS",
                       repeatable: true),
            OptionSpec("label", value: "KEY=VALUE", help: "a label for placement (zone=a)", environment: "OPS_WORKER_LABELS", repeatable: true),
            OptionSpec("max-tasks", value: "N", help: "attempts run at once", environment: "OPS_WORKER_MAX_TASKS", default: "4"),
            OptionSpec("work-dir", value: "DIR", help: "scratch space for attempts", environment: "OPS_WORK_DIR", default: "<state-dir>/work/<name>"),
            OptionSpec("shard-cache", value: "DIR", help: "cache of remote (http) dataset shards, kept across tasks and reported for data locality",
                       environment: "OPS_SHARD_CACHE", default: "<work-dir>/shard-cache"),
            OptionSpec("shard-cache-size", value: "BYTES", help: "shard cache limit; least recently used shards are evicted",
                       environment: "OPS_SHARD_CACHE_SIZE", default: "64Gi"),
            OptionSpec("artifact-store", value: "KIND", help: "dir (files in --artifact-dir) or control-plane (uploaded to the control plane)",
                       environment: "OPS_ARTIFACT_STORE", default: "dir"),
            OptionSpec("artifact-dir", value: "DIR", help: "artifact directory (share it between nodes)", environment: "OPS_ARTIFACT_DIR",
                       default: "<state-dir>/artifacts"),
            OptionSpec("poll-wait", value: "SECONDS", help: "long-poll duration", environment: "OPS_POLL_WAIT", default: "20"),
        ],
        discussion: """
        OPS_WORKER_ACCELERATORS and OPS_WORKER_LABELS take comma-separated lists (gpu-h100=8,tpu-v5e=4).
        SIGINT/SIGTERM: running attempts checkpoint and are handed back, reports are delivered, the worker deregisters.
        """)

    public static let apply = CommandSpec("apply", summary: "Submit the jobs of a manifest file (YAML or JSON, several documents allowed)",
        options: [
            OptionSpec("file", short: "f", value: "FILE", help: "manifest file, or - for standard input (required)"),
            OptionSpec("wait", short: "w", help: "wait for the jobs to finish, showing progress; exit 1 if one fails"),
            OptionSpec("dry-run", help: "validate on the server without creating anything"),
            OptionSpec("timeout", value: "SECONDS", help: "with --wait: give up after this long (exit 3)", default: "no limit"),
            output,
        ],
        discussion: "Example: opsctl apply -f manifests/pipeline.yaml --wait")

    public static let get = CommandSpec("get", summary: "List jobs, tasks, workers, datasets, shards, artifacts, events or queues",
        positionals: [
            PositionalSpec("KIND", help: getKinds.joined(separator: ", "), choices: getKinds),
            PositionalSpec("NAME", help: "a job (for tasks, artifacts, events) or a dataset (for shards, required)", optional: true),
        ],
        options: [output, OptionSpec("state", value: "STATE", help: "only jobs or tasks in this state")],
        discussion: "Examples: opsctl get jobs; opsctl get tasks pretrain -o json; opsctl get shards web-text")

    public static let describe = CommandSpec("describe", summary: "Show one job in detail: tasks, attempts, results, metrics, artifacts, events",
        positionals: [PositionalSpec("KIND", help: "job", choices: ["job"]), PositionalSpec("NAME", help: "the job's name")],
        options: [output])

    public static let logs = CommandSpec("logs", summary: "Print a job's log lines",
        positionals: [PositionalSpec("JOB", help: "the job's name")],
        options: [
            OptionSpec("follow", short: "f", help: "keep printing new lines until the job finishes"),
            OptionSpec("since", value: "ID", help: "only lines after this line id", default: "0"),
            OptionSpec("timestamps", short: "t", help: "prefix lines with their time"),
        ])

    public static let cancel = CommandSpec("cancel", summary: "Cancel a job: running attempts are stopped, queued tasks never start",
        positionals: [PositionalSpec("JOB", help: "the job's name")], options: [output])

    public static let delete = CommandSpec("delete", summary: "Delete a queue's configuration: its jobs go on with weight 1 and no quota",
        positionals: [PositionalSpec("KIND", help: "queue", choices: ["queue"]), PositionalSpec("NAME", help: "the queue's name")],
        options: [output])

    public static let version = CommandSpec("version", summary: "Print the version")

    public static let generate = CommandSpec("generate", summary: "Sample text from a checkpoint, locally (no cluster needed)",
        options: [
            OptionSpec("checkpoint", value: "PATH", help: "a .safetensors checkpoint (of a train job)"),
            OptionSpec("tokenizer", value: "PATH", help: "tokenizer.json the model was trained with (default: UTF-8 bytes, vocabulary 256)"),
            OptionSpec("prompt", value: "TEXT", help: "the text to continue"),
            OptionSpec("max-tokens", value: "N", help: "tokens to generate", default: "100"),
            OptionSpec("temperature", value: "T", help: "sampling temperature; 0 = greedy", default: "0.8"),
            OptionSpec("top-k", value: "K", help: "sample among the K most likely tokens; 0 = all", default: "40"),
            OptionSpec("seed", value: "N", help: "sampling seed (same seed, same text)", default: "0"),
            OptionSpec("threads", value: "N", help: "compute threads", default: "1"),
        ],
        discussion: "Example: opsctl generate --checkpoint ckpt.safetensors --tokenizer tokenizer.json --prompt 'The ' --max-tokens 50")

    public static let all: [CommandSpec] = [up, serve, worker, apply, get, describe, logs, cancel, delete, generate, version]

    public static let parser = ArgumentParser(program: "opsctl",
                                              summary: "run LLM data and training pipelines on a cluster",
                                              commands: all, globalOptions: globalOptions)
}

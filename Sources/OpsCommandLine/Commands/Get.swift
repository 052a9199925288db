import APIClient
import APITypes
import ClusterModel
import Foundation

/// What `opsctl get` lists.
enum ResourceKind: String, CaseIterable {
    case jobs, tasks, workers, datasets, shards, artifacts, events, queues, metrics, pools

    static let names = allCases.map(\.rawValue)
}

enum GetCommand: OpsCommand {
    static let spec = CommandSpec(
        "get",
        summary:
            "List jobs, tasks, workers, datasets, shards, artifacts, events, queues, a job's metrics or worker pools",
        positionals: [
            PositionalSpec("KIND", help: ResourceKind.names.joined(separator: ", "), choices: ResourceKind.names),
            PositionalSpec(
                "NAME",
                help:
                    "a job (for jobs: only it; for tasks, artifacts, events: theirs; for metrics, required) or a dataset (for shards, required)",
                optional: true
            ),
        ],
        options: [
            output.spec,
            OptionSpec("state", value: "STATE", help: "only jobs, tasks or workers in this state"),
            limit.spec, OptionSpec("all", help: "list every one (jobs, tasks, workers, events), page after page"),
            OptionSpec("name", value: "METRIC", help: "metrics: only this metric (loss, lr, ...)"),
            OptionSpec("sparkline", help: "metrics: one line per metric, its history over steps as a sparkline"),
            OptionSpec("watch", short: "w", help: "list again every --watch-interval-seconds until Ctrl-C"),
            watchIntervalSeconds.spec,
        ],
        discussion:
            "Jobs and events are listed newest first; metric points oldest first, every one unless --limit is given. "
            + "With --watch the listing is redrawn when it changes (on a terminal) or printed again after a blank "
            + "line (elsewhere). Examples: opsctl get jobs; opsctl get jobs pretrain; opsctl get tasks pretrain -o "
            + "yaml; opsctl get events --all; opsctl get shards web-text; opsctl get metrics pretrain --name loss -o "
            + "csv; opsctl get metrics pretrain --sparkline; opsctl get jobs --watch"
    )

    /// `-o`: the views' formats, and CSV for metric points (rows of one shape).
    static let output = TypedOption(
        "output", short: "o", value: "FORMAT", help: "table, wide, json, yaml, or csv (metrics only)",
        environment: "OPS_OUTPUT", default: OutputFormat.table, parser: .choice(of: OutputFormat.views + [.csv]))

    /// How many jobs, tasks, workers or events one `get` shows without `--all`.
    static let limit = TypedOption(
        "limit", value: "N", help: "show at most N jobs, tasks, workers or events (a note on stderr when more exist)",
        default: ListPaging.defaultLimit, parser: .integer(in: 1...1_000_000))

    /// How often `--watch` lists again: 2 s, as `watch(1)` does.
    static let watchIntervalSeconds = TypedOption(
        "watch-interval-seconds", value: "SECONDS", help: "with --watch: list again this often",
        default: 2.0, parser: .positiveSeconds)

    static func run(_ settings: Settings) async throws -> Int32 {
        let request = try GetRequest(settings)
        let client = try makeOpsClient(settings)
        guard settings.parsed.flag("watch") else {
            let listing = try await request.listing(client)
            printNotes(listing.notes)
            print(listing.text, terminator: "")
            return 0
        }
        return try await watch(request, client: client, intervalSeconds: try settings.value(watchIntervalSeconds))
    }

    /// Lists every `intervalSeconds` and prints what changed (`WatchFrames`) until SIGINT or SIGTERM, which end it
    /// with status 0: Ctrl-C is how a watch is meant to stop. A control plane that stops answering is said once
    /// and waited for; an error that will not go away (a job that does not exist) ends the watch.
    static func watch(_ request: GetRequest, client: OpsClient, intervalSeconds: Double) async throws -> Int32 {
        let signals = TerminationSignals { _ in
            Output.flush()
            exit(0)
        }
        defer { signals.cancel() }
        var frames = WatchFrames(
            live: Output.isTerminal,
            header: "every \(TableFormatter.number(intervalSeconds))s: opsctl get \(request.kind)")
        var failures = 0
        while true {
            do {
                let listing = try await request.listing(client)
                if failures > 0 { Output.note("control plane reachable again") }
                failures = 0
                if let frame = frames.frame(listing.text, at: Date()) {
                    printNotes(listing.notes)
                    print(frame, terminator: "")
                    Output.flush()
                }
            } catch let error as ControlPlaneError where error.isRetryable {
                failures += 1
                if failures == 1 { Output.note("\(Output.explain(error)); still watching") }
            }
            try await Task.sleep(nanoseconds: UInt64(intervalSeconds * 1e9))
        }
    }

    /// The notes of a listing on stderr, as lines of their own (scripts that read stdout never see them).
    static func printNotes(_ notes: [String]) {
        for note in notes { FileHandle.standardError.write(Data((note + "\n").utf8)) }
    }

    static func parseState<S: RawRepresentable & CaseIterable>(_ settings: Settings, _ type: S.Type) throws -> S?
    where S.RawValue == String {
        guard let text = settings.string("state") else { return nil }
        guard let state = S(rawValue: text) else {
            throw SettingsError(
                "--state: expected one of \(S.allCases.map(\.rawValue).joined(separator: ", ")), got '\(text)'")
        }
        return state
    }
}

/// One `opsctl get`, its flags checked before anything is asked: what to list and how to print it. `--watch`
/// lists the same request again and again.
struct GetRequest {
    /// What one listing prints: the text for standard output, and notes for standard error (more items exist).
    struct ListingText {
        var text: String
        var notes: [String] = []
    }

    let kind: ResourceKind
    let name: String?
    let format: OutputFormat
    let scope: ListScope
    let metric: String?
    let sparkline: Bool
    /// Whether `--limit` was given (metric histories are whole unless it was).
    let limited: Bool
    private let settings: Settings

    init(_ settings: Settings) throws {
        self.settings = settings
        // The parser took only a listed KIND.
        guard let kind = ResourceKind(rawValue: settings.parsed.positionals[0]) else {
            throw SettingsError("get: unknown kind '\(settings.parsed.positionals[0])'")
        }
        self.kind = kind
        name = settings.parsed.positional(1)
        format = try settings.value(GetCommand.output)
        limited = settings.parsed.value("limit") != nil
        scope = settings.parsed.flag("all") ? .all : .first(try settings.value(GetCommand.limit))
        metric = settings.parsed.value("name")
        sparkline = settings.parsed.flag("sparkline")
        try check()
    }

    /// Flags that belong to another kind or format are usage errors, not ignored.
    private func check() throws {
        if kind != .metrics {
            if format == .csv {
                throw SettingsError("get \(kind.rawValue): -o csv is for `get metrics`; use -o json or -o yaml")
            }
            if metric != nil { throw SettingsError("get \(kind.rawValue): --name is for `get metrics JOB`") }
            if sparkline { throw SettingsError("get \(kind.rawValue): --sparkline is for `get metrics JOB`") }
            return
        }
        guard name != nil else {
            throw SettingsError("get metrics: name the job (opsctl get metrics JOB); `opsctl get jobs` lists them")
        }
        if sparkline && format != .table {
            throw SettingsError("get metrics: --sparkline draws text; leave out -o \(format.rawValue)")
        }
    }

    /// Lists once and renders what `-o` asks for.
    func listing(_ client: OpsClient) async throws -> ListingText {
        var notes: [String] = []
        func more<Item>(_ listing: Listing<Item>, _ what: String) -> [Item] {
            if listing.hasMore {
                notes.append(
                    "showing the first \(listing.items.count) \(what); more exist: --all lists every one, --limit N the first N"
                )
            }
            return listing.items
        }
        let wide = format == .wide
        let text: String
        switch kind {
        case .jobs:
            let state = try GetCommand.parseState(settings, JobState.self)
            // One job by name: the server's 404 names it and says how to list them.
            let jobs: [JobView]
            if let name {
                jobs = [try await client.job(name)]
            } else {
                jobs = more(try await client.jobs(state: state, scope: scope), "jobs")
            }
            text = try render(jobs) { Tables.jobs($0, wide: wide) }
        case .tasks:
            let state = try GetCommand.parseState(settings, TaskState.self)
            let tasks = more(try await client.tasks(job: name, state: state, scope: scope), "tasks")
            text = try render(tasks) { Tables.tasks($0, wide: wide) }
        case .workers:
            let state = try GetCommand.parseState(settings, WorkerState.self)
            let workers = more(try await client.workers(state: state, scope: scope), "workers")
            text = try render(workers) { Tables.workers($0, wide: wide) }
        case .datasets:
            text = try render(try await client.datasets()) { Tables.datasets($0) }
        case .shards:
            guard let name else {
                throw SettingsError(
                    "get shards: name the dataset (opsctl get shards DATASET); `opsctl get datasets` lists them")
            }
            text = try render(try await client.shards(dataset: name)) { Tables.shards($0, wide: wide) }
        case .artifacts:
            text = try render(try await client.artifacts(job: name)) { Tables.artifacts($0, wide: wide) }
        case .events:
            let events = more(try await client.events(job: name, scope: scope), "events")
            text = try render(events) { Tables.events($0) }
        case .queues:
            text = try render(try await client.queues()) { Tables.queues($0, wide: wide) }
        case .metrics:
            // `check()` made sure a job is named. A history is read whole unless --limit says otherwise.
            let points = more(
                try await client.metrics(job: name!, name: metric, scope: limited ? scope : .all), "metric points")
            text = try metricText(points)
        case .pools:
            text = try render(try await client.pools()) { PoolTables.pools($0, wide: wide) }
        }
        return ListingText(text: text, notes: notes)
    }

    private func metricText(_ points: [MetricPointView]) throws -> String {
        if format == .csv { return MetricHistory.csv(points) }
        if format.isStructured { return try Output.structuredText(points, as: format) }
        if points.isEmpty {
            return "no metric points" + (metric.map { " named \($0)" } ?? "") + " for job \(name!) yet\n"
        }
        return sparkline ? MetricHistory.sparklines(points) : MetricHistory.table(points)
    }

    /// `-o json`/`-o yaml` print the API's values; the table formats their table.
    private func render<Item: Encodable>(_ items: [Item], table: ([Item]) -> String) throws -> String {
        format.isStructured ? try Output.structuredText(items, as: format) : table(items)
    }
}

import APIClient
import APITypes
import ClusterModel
import Foundation

/// What `opsctl get` lists.
enum ResourceKind: String, CaseIterable {
    case jobs, tasks, workers, datasets, shards, artifacts, events, queues

    static let names = allCases.map(\.rawValue)
}

enum GetCommand: OpsCommand {
    static let spec = CommandSpec(
        "get", summary: "List jobs, tasks, workers, datasets, shards, artifacts, events or queues",
        positionals: [
            PositionalSpec("KIND", help: ResourceKind.names.joined(separator: ", "), choices: ResourceKind.names),
            PositionalSpec(
                "NAME",
                help:
                    "a job (for jobs: only it; for tasks, artifacts, events: theirs) or a dataset (for shards, required)",
                optional: true
            ),
        ],
        options: [
            OpsCommands.output.spec,
            OptionSpec("state", value: "STATE", help: "only jobs, tasks or workers in this state"),
            limit.spec, OptionSpec("all", help: "list every one (jobs, tasks, workers, events), page after page"),
        ],
        discussion:
            "Jobs and events are listed newest first. Examples: opsctl get jobs; opsctl get jobs pretrain; opsctl get tasks pretrain -o json; opsctl get events --all; opsctl get shards web-text"
    )

    /// How many jobs, tasks, workers or events one `get` shows without `--all`.
    static let limit = TypedOption(
        "limit", value: "N", help: "show at most N jobs, tasks, workers or events (a note on stderr when more exist)",
        default: ListPaging.defaultLimit, parser: .integer(in: 1...1_000_000))

    static func run(_ settings: Settings) async throws -> Int32 {
        let format = try settings.value(OpsCommands.output)
        // The parser took only a listed KIND.
        guard let kind = ResourceKind(rawValue: settings.parsed.positionals[0]) else {
            throw SettingsError("get: unknown kind '\(settings.parsed.positionals[0])'")
        }
        let name = settings.parsed.positional(1)
        let client = try makeOpsClient(settings)
        let json = format == .json
        let wide = format == .wide
        switch kind {
        case .jobs:
            let state = try parseState(settings, JobState.self)
            let jobs: [JobView]
            if let name {
                // One job by name: the server's 404 names it and says how to list them.
                jobs = [try await client.job(name)]
            } else {
                jobs = try noteMore(try await client.jobs(state: state, scope: scope(settings)), "jobs", settings)
            }
            if json { try Output.printJSON(jobs) } else { print(Tables.jobs(jobs, wide: wide), terminator: "") }
        case .tasks:
            let state = try parseState(settings, TaskState.self)
            let tasks = try noteMore(
                try await client.tasks(job: name, state: state, scope: scope(settings)), "tasks", settings)
            if json { try Output.printJSON(tasks) } else { print(Tables.tasks(tasks, wide: wide), terminator: "") }
        case .workers:
            let state = try parseState(settings, WorkerState.self)
            let workers = try noteMore(
                try await client.workers(state: state, scope: scope(settings)), "workers", settings)
            if json {
                try Output.printJSON(workers)
            } else {
                print(Tables.workers(workers, wide: wide), terminator: "")
            }
        case .datasets:
            let datasets = try await client.datasets()
            if json { try Output.printJSON(datasets) } else { print(Tables.datasets(datasets), terminator: "") }
        case .shards:
            guard let name else {
                throw SettingsError(
                    "get shards: name the dataset (opsctl get shards DATASET); `opsctl get datasets` lists them")
            }
            let shards = try await client.shards(dataset: name)
            if json { try Output.printJSON(shards) } else { print(Tables.shards(shards, wide: wide), terminator: "") }
        case .artifacts:
            let artifacts = try await client.artifacts(job: name)
            if json {
                try Output.printJSON(artifacts)
            } else {
                print(Tables.artifacts(artifacts, wide: wide), terminator: "")
            }
        case .events:
            let events = try noteMore(try await client.events(job: name, scope: scope(settings)), "events", settings)
            if json { try Output.printJSON(events) } else { print(Tables.events(events), terminator: "") }
        case .queues:
            let queues = try await client.queues()
            if json { try Output.printJSON(queues) } else { print(Tables.queues(queues, wide: wide), terminator: "") }
        }
        return 0
    }

    /// `--all`, or the first `--limit` (default `ListPaging.defaultLimit`).
    static func scope(_ settings: Settings) throws -> ListScope {
        settings.parsed.flag("all") ? .all : .first(try settings.value(limit))
    }

    /// The items, after a note on stderr when the server holds more than were shown.
    static func noteMore<Item>(_ listing: Listing<Item>, _ what: String, _ settings: Settings) -> [Item] {
        if listing.hasMore {
            FileHandle.standardError.write(
                Data(
                    "showing the first \(listing.items.count) \(what); more exist: --all lists every one, --limit N the first N\n"
                        .utf8))
        }
        return listing.items
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

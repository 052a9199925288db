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
                "NAME", help: "a job (for tasks, artifacts, events) or a dataset (for shards, required)", optional: true
            ),
        ],
        options: [
            OpsCommands.output.spec, OptionSpec("state", value: "STATE", help: "only jobs or tasks in this state"),
        ],
        discussion: "Examples: opsctl get jobs; opsctl get tasks pretrain -o json; opsctl get shards web-text")

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
            let jobs = try await client.jobs(state: state)
            if json { try Output.printJSON(jobs) } else { print(Tables.jobs(jobs, wide: wide), terminator: "") }
        case .tasks:
            let state = try parseState(settings, TaskState.self)
            let tasks = try await client.tasks(job: name, state: state)
            if json { try Output.printJSON(tasks) } else { print(Tables.tasks(tasks, wide: wide), terminator: "") }
        case .workers:
            let workers = try await client.workers()
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
            let events = try await client.events(job: name)
            if json { try Output.printJSON(events) } else { print(Tables.events(events), terminator: "") }
        case .queues:
            let queues = try await client.queues()
            if json { try Output.printJSON(queues) } else { print(Tables.queues(queues, wide: wide), terminator: "") }
        }
        return 0
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

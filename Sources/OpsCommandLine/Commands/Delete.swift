import APIClient

/// `opsctl delete queue NAME`: removes the queue's configuration (`kind: Queue`); its jobs keep their place
/// and run with the defaults, like any queue no manifest configured.
enum DeleteCommand: OpsCommand {
    static let spec = CommandSpec(
        "delete", summary: "Delete a queue's configuration: its jobs go on with weight 1 and no quota",
        positionals: [
            PositionalSpec("KIND", help: "queue", choices: ["queue"]), PositionalSpec("NAME", help: "the queue's name"),
        ],
        options: [OpsCommands.output.spec])

    static func run(_ settings: Settings) async throws -> Int32 {
        let format = try settings.value(OpsCommands.output)
        let name = settings.parsed.positionals[1]
        let queue = try await makeOpsClient(settings).deleteQueue(name)
        if format == .json {
            try Output.printJSON(queue)
            return 0
        }
        let work = queue.runningTasks + queue.pendingTasks
        print(
            "queue \(queue.name) deleted"
                + (work > 0
                    ? "; its \(queue.runningTasks) running and \(queue.pendingTasks) pending task(s) go on with weight 1 and no quota"
                    : ""))
        return 0
    }
}

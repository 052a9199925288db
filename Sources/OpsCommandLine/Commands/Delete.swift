import APIClient

/// `opsctl delete queue NAME`: removes the queue's configuration (`kind: Queue`); its jobs keep their place
/// and run with the defaults, like any queue no manifest configured.
/// `opsctl delete job NAME`: removes a finished job with its tasks, attempts, logs, metrics and events; its
/// artifacts and datasets stay unless `--with-artifacts`. The name is free for a new apply afterwards.
enum DeleteCommand: OpsCommand {
    static let spec = CommandSpec(
        "delete", summary: "Delete a finished job with its history, or a queue's configuration",
        positionals: [
            PositionalSpec("KIND", help: "job or queue", choices: ["job", "queue"]),
            PositionalSpec("NAME", help: "the job's or the queue's name"),
        ],
        options: [
            OptionSpec(
                "with-artifacts",
                help: "job: delete its artifacts' rows too (the blob collector then deletes their bytes)"),
            OptionSpec("force", help: "job: cancel it first when it is still pending or running"),
            OpsCommands.output.spec,
        ],
        discussion:
            "A job is deleted whole in one transaction: tasks, attempts, logs, metrics and events. Its artifacts and "
            + "datasets are kept unless --with-artifacts. An unfinished job is refused unless --force (which cancels "
            + "it first); so is a job that unfinished jobs wait for (after:). A queue's jobs go on with weight 1 and "
            + "no quota.\nExample: opsctl delete job pretrain --with-artifacts")

    static func run(_ settings: Settings) async throws -> Int32 {
        let name = settings.parsed.positionals[1]
        if settings.parsed.positionals[0] == "job" { return try await deleteJob(name, settings) }
        for flag in ["with-artifacts", "force"] where settings.parsed.flag(flag) {
            throw SettingsError("delete queue: --\(flag) applies to jobs only")
        }
        let format = try settings.value(OpsCommands.output)
        let queue = try await makeOpsClient(settings).deleteQueue(name)
        if format.isStructured {
            try Output.printStructured(queue, as: format)
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

    private static func deleteJob(_ name: String, _ settings: Settings) async throws -> Int32 {
        let format = try settings.value(OpsCommands.output)
        let deleted = try await makeOpsClient(settings).deleteJob(
            name, withArtifacts: settings.parsed.flag("with-artifacts"), force: settings.parsed.flag("force"))
        if format.isStructured {
            try Output.printStructured(deleted, as: format)
            return 0
        }
        var artifacts = "\(deleted.keptArtifacts) artifact(s) kept"
        if deleted.deletedArtifacts > 0 || settings.parsed.flag("with-artifacts") {
            artifacts = "\(deleted.deletedArtifacts) artifact(s) deleted (their bytes go at the next blob collection)"
        }
        print(
            "job \(deleted.name) \(deleted.cancelledFirst ? "cancelled and " : "")deleted with \(deleted.deletedTasks) task(s); "
                + artifacts)
        return 0
    }
}

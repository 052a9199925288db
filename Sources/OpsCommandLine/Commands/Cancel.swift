import APIClient

enum CancelCommand: OpsCommand {
    static let spec = CommandSpec(
        "cancel", summary: "Cancel a job: running attempts are stopped, queued tasks never start",
        positionals: [PositionalSpec("JOB", help: "the job's name")], options: [OpsCommands.output.spec])

    static func run(_ settings: Settings) async throws -> Int32 {
        let format = try settings.value(OpsCommands.output)
        let name = settings.parsed.positionals[0]
        let job = try await makeOpsClient(settings).cancelJob(name)
        if format.isStructured {
            try Output.printStructured(job, as: format)
            return 0
        }
        if job.state.isTerminal && !job.cancelRequested {
            print("job \(job.name) had already finished (\(job.state.rawValue)); nothing to cancel")
        } else {
            print(
                "job \(job.name): cancel requested (state \(job.state.rawValue), \(job.tasks.running) task(s) stopping)"
            )
        }
        return 0
    }
}

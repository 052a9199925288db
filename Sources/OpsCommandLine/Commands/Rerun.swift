import APIClient

/// `opsctl rerun NAME`: a new job from a finished job's stored manifest (the spec it was submitted with, whatever
/// the file says now), named `--as NEWNAME` or the first free `NAME-2`, `NAME-3`, ….
enum RerunCommand: OpsCommand {
    static let spec = CommandSpec(
        "rerun", summary: "Run a finished, failed or cancelled job again from its stored manifest, as a new job",
        positionals: [PositionalSpec("NAME", help: "the finished job")],
        options: [
            OptionSpec("as", value: "NEWNAME", help: "the new job's name", default: "the first free NAME-2, NAME-3, …"),
            OptionSpec(
                "wait", short: "w", help: "wait for the new job to finish, showing progress; exit 1 if it fails"),
            ApplyCommand.timeoutSeconds.spec,
            OpsCommands.output.spec,
        ],
        discussion:
            "The new job's after: names resolve to the jobs that exist now. A rerun of a rerun counts on from the "
            + "original (train-2 gives train-3).\nExample: opsctl rerun pretrain --wait")

    static func run(_ settings: Settings) async throws -> Int32 {
        let format = try settings.value(OpsCommands.output)
        let timeoutSeconds = try settings.value(ApplyCommand.timeoutSeconds)
        let client = try makeOpsClient(settings)
        let submitted = try await client.rerunJob(settings.parsed.positionals[0], as: settings.parsed.value("as"))
        let wait = settings.parsed.flag("wait")
        if format.isStructured && !wait {
            try Output.printStructured(submitted, as: format)
            return 0
        }
        let verb = submitted.outcome == .created ? "created" : "unchanged (already submitted)"
        print("job \(submitted.job.name) \(verb) (rerun of \(settings.parsed.positionals[0]))")
        guard wait else { return 0 }
        return try await ApplyCommand.waitForJobs(
            [submitted.job.name], client: client, timeoutSeconds: timeoutSeconds,
            structured: format.isStructured ? format : nil)
    }
}

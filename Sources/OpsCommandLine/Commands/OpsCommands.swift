// The command table of `opsctl`: the command types, in the order `--help` lists them, and the options every
// command accepts. Each command type is its own spec (arguments, options, their OPS_* variables and defaults);
// help text is generated from the specs and the dispatcher runs the type the parser named, so help and
// behaviour cannot drift apart.

/// A command of `opsctl`: its spec and what it does.
protocol OpsCommand: Sendable {
    static var spec: CommandSpec { get }
    /// Runs the parsed command; returns the process exit code (0 success, 1 failure, 3 timeout). A
    /// `SettingsError` thrown means bad usage (exit 2).
    static func run(_ settings: Settings) async throws -> Int32
}

public enum OpsCommands {
    public static let globalOptions: [OptionSpec] = [
        OptionSpec(
            "server", value: "URL", help: "control-plane URL", environment: "OPS_SERVER",
            default:
                "the current context's (opsctl config), the URL `opsctl up` wrote to the state dir, else http://127.0.0.1:8080"
        ),
        OptionSpec(
            "token-file", value: "PATH",
            help: "file holding the admin token (or OPS_TOKEN holds the token itself; never a flag)",
            environment: "OPS_TOKEN_FILE", default: "the current context's, else <state-dir>/admin-token when present"),
        OptionSpec(
            "ca-file", value: "PATH",
            help: "CA certificate(s) (PEM) the control plane's HTTPS certificate is verified against",
            environment: "OPS_CA_FILE", default: "the current context's, else the system's CA store"),
        OptionSpec(
            "state-dir", value: "DIR", help: "local state: embedded database, tokens, artifacts, work dirs",
            environment: "OPS_STATE_DIR", default: "~/.opsctl"),
        OptionSpec("help", short: "h", help: "show help"),
    ]

    /// `-o table|wide|json|yaml`, shared by the commands that print API views (`get` adds csv for metrics).
    static let output = TypedOption(
        "output", short: "o", value: "FORMAT", help: "table, wide, json or yaml", environment: "OPS_OUTPUT",
        default: OutputFormat.table, parser: .choice(of: OutputFormat.views))

    static let all: [any OpsCommand.Type] = [
        UpCommand.self, ServeCommand.self, WorkerCommand.self, ApplyCommand.self, GetCommand.self, DescribeCommand.self,
        LogsCommand.self, CancelCommand.self, DeleteCommand.self, RerunCommand.self, GenerateCommand.self,
        ExportCommand.self,
        VersionCommand.self,
        CollectBlobsCommand.self, TokenCommand.self, ConfigCommand.self,
        SchemaCommand.self, CompletionCommand.self,
        LineageCommand.self, ReplayCommand.self,
    ]

    /// The command type named `name`, as the parser spelled it.
    static func command(named name: String) -> (any OpsCommand.Type)? { all.first { $0.spec.name == name } }

    public static let parser = ArgumentParser(
        program: "opsctl",
        summary: "run LLM data and training pipelines on a cluster",
        commands: all.map { $0.spec }, globalOptions: globalOptions)
}

/// `opsctl completion bash|zsh|fish`: a completion script generated from the command table (docs/cli-and-workers.md,
/// "Shell completion"), so a new command, option or choice is completed as soon as it is in its spec.
enum CompletionCommand: OpsCommand {
    static let spec = CommandSpec(
        "completion", summary: "Print a shell completion script for bash, zsh or fish",
        positionals: [
            PositionalSpec(
                "SHELL", help: ShellCompletion.Shell.allCases.map(\.rawValue).joined(separator: ", "),
                choices: ShellCompletion.Shell.allCases.map(\.rawValue))
        ],
        discussion:
            "bash: source <(opsctl completion bash)   zsh: source <(opsctl completion zsh)   "
            + "fish: opsctl completion fish | source\n"
            + "To load it in every shell, add that line to ~/.bashrc or ~/.zshrc, or save the fish script as "
            + "~/.config/fish/completions/opsctl.fish.")

    static func run(_ settings: Settings) async throws -> Int32 {
        // The parser took only a listed shell.
        guard let shell = ShellCompletion.Shell(rawValue: settings.parsed.positionals[0]) else {
            throw SettingsError("completion: unknown shell '\(settings.parsed.positionals[0])'")
        }
        print(ShellCompletion.script(for: shell, parser: OpsCommands.parser), terminator: "")
        return 0
    }
}

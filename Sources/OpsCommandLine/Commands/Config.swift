import Foundation

/// `opsctl config set-context NAME --server URL [--ca-file F] [--token-file F]`, `opsctl config use-context NAME`,
/// `opsctl config get-contexts`: named clusters in `<state-dir>/config` (docs/deploy.md, "Contexts").
enum ConfigCommand: OpsCommand {
    static let spec = CommandSpec(
        "config", summary: "Name clusters (server, CA file, token file) and switch between them, like kubeconfig",
        positionals: [
            PositionalSpec(
                "ACTION", help: "set-context, use-context or get-contexts",
                choices: ["set-context", "use-context", "get-contexts"]),
            PositionalSpec("NAME", help: "the context's name (set-context, use-context)", optional: true),
        ],
        discussion: """
            set-context takes the global --server, --ca-file and --token-file; given for an existing context, they
            replace its values. The first context set becomes the current one. Flags and OPS_* variables still
            override the current context.
            Example: opsctl config set-context prod --server https://cp.example:8443 --ca-file ~/prod-ca.pem \\
              --token-file ~/.prod-token && opsctl config use-context prod
            """)

    static func run(_ settings: Settings) async throws -> Int32 {
        let positionals = settings.parsed.positionals
        let name = positionals.count > 1 ? positionals[1] : nil
        let path = settings.contextConfigPath
        var config = try ContextConfig.load(path: path)
        switch (positionals[0], name) {
        case ("get-contexts", nil):
            let rows = config.contexts.map { context in
                [
                    context.name == config.currentContext ? "*" : "", context.name, context.server,
                    context.caFile ?? "-", context.tokenFile ?? "-",
                ]
            }
            print(TableFormatter.render(headers: ["CURRENT", "NAME", "SERVER", "CA-FILE", "TOKEN-FILE"], rows: rows))
            return 0
        case ("get-contexts", _): throw SettingsError("config get-contexts takes no NAME")
        case (let action, nil): throw SettingsError("config \(action) needs the context's NAME")
        case ("use-context", let name?):
            guard config.contexts.contains(where: { $0.name == name }) else {
                let known = config.contexts.map(\.name).joined(separator: ", ")
                throw SettingsError(
                    "config use-context: no context named \(name) in \(path) (known: \(known.isEmpty ? "none" : known)); "
                        + "create it with opsctl config set-context \(name) --server URL")
            }
            config.currentContext = name
            try config.write(path: path)
            print("switched to context \(name)")
            return 0
        case (_, let name?):
            try setContext(name, &config, settings)
            try config.write(path: path)
            print("context \(name) set in \(path)")
            return 0
        }
    }

    private static func setContext(_ name: String, _ config: inout ContextConfig, _ settings: Settings)
        throws(SettingsError)
    {
        guard ContextConfig.isValidName(name) else {
            throw SettingsError("config set-context: the name '\(name)' must be 1-63 characters of A-Z a-z 0-9 . _ -")
        }
        let index = config.contexts.firstIndex { $0.name == name }
        // Only the flags: an OPS_SERVER of this shell is not what the context should remember.
        let server = settings.parsed.value("server")
        guard let server = server ?? index.map({ config.contexts[$0].server }) else {
            throw SettingsError("config set-context \(name): a new context needs --server URL")
        }
        guard server.hasPrefix("https://") || server.hasPrefix("http://") else {
            throw SettingsError("config set-context \(name): --server: expected http(s)://host:port, got '\(server)'")
        }
        var context = index.map { config.contexts[$0] } ?? OpsContext(name: name, server: server)
        context.server = server
        if let caFile = settings.parsed.value("ca-file") { context.caFile = try readableFile(caFile, flag: "ca-file") }
        if let tokenFile = settings.parsed.value("token-file") {
            context.tokenFile = try readableFile(tokenFile, flag: "token-file")
        }
        if let index { config.contexts[index] = context } else { config.contexts.append(context) }
        guard config.contexts.count <= ContextConfig.maxContexts else {
            throw SettingsError("config set-context: at most \(ContextConfig.maxContexts) contexts; delete some first")
        }
        if config.currentContext == nil { config.currentContext = name }
    }

    /// An absolute path (the config is read from any directory) to a file that exists.
    private static func readableFile(_ path: String, flag: String) throws(SettingsError) -> String {
        let expanded = (path as NSString).expandingTildeInPath
        let absolute =
            expanded.hasPrefix("/")
            ? expanded
            : URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(expanded).path
        guard FileManager.default.isReadableFile(atPath: absolute) else {
            throw SettingsError("config set-context: --\(flag): cannot read \(absolute); check the path")
        }
        return absolute
    }
}

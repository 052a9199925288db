import APIClient
import APITypes
import Foundation

/// `opsctl token create NAME --scope viewer|submitter|admin [--queue Q ...]`, `opsctl token list`,
/// `opsctl token revoke NAME`: named operator tokens (admin calls; docs/security.md, "Tokens and scopes").
enum TokenCommand: OpsCommand {
    static let scope = TypedOption(
        "scope", value: "SCOPE", help: "create: viewer (read-only), submitter (its --queue's jobs) or admin",
        default: TokenScope.viewer, parser: .choice())

    static let spec = CommandSpec(
        "token", summary: "Create, list or revoke named tokens with a scope (viewer, submitter, admin)",
        positionals: [
            PositionalSpec("ACTION", help: "create, list or revoke", choices: ["create", "list", "revoke"]),
            PositionalSpec("NAME", help: "the token's name (create, revoke)", optional: true),
        ],
        options: [
            scope.spec,
            OptionSpec(
                "queue", value: "QUEUE", help: "create: a queue a submitter token may use (at least one)",
                repeatable: true),
            OpsCommands.output.spec,
        ],
        discussion:
            "The secret of a new token is printed once (the server keeps only its SHA-256); hand it over as "
            + "OPS_TOKEN or OPS_TOKEN_FILE. A revoked token is refused from its next request on; its name stays "
            + "taken, as the events trail names it.\nExample: opsctl token create ci --scope submitter --queue research"
    )

    static func run(_ settings: Settings) async throws -> Int32 {
        let positionals = settings.parsed.positionals
        let action = positionals[0]
        let name = positionals.count > 1 ? positionals[1] : nil
        let format = try settings.value(OpsCommands.output)
        switch (action, name) {
        case ("list", nil): return try await list(settings, format)
        case ("list", _): throw SettingsError("token list takes no NAME")
        case (_, nil): throw SettingsError("token \(action) needs the token's NAME")
        case ("create", let name?): return try await create(name, settings, format)
        case (_, let name?): return try await revoke(name, settings, format)
        }
    }

    private static func create(_ name: String, _ settings: Settings, _ format: OutputFormat) async throws -> Int32 {
        let request = CreateTokenRequest(name: name, scope: try settings.value(scope), queues: settings.list("queue"))
        let created = try await makeOpsClient(settings).createToken(request)
        if format.isStructured {
            try Output.printStructured(created, as: format)
            return 0
        }
        let queues = created.token.queues.isEmpty ? "" : " for queue(s) \(created.token.queues.joined(separator: ", "))"
        print("token \(created.token.name) created with scope \(created.token.scope.rawValue)\(queues)")
        print("secret (shown once, keep it safe): \(created.secret)")
        return 0
    }

    private static func list(_ settings: Settings, _ format: OutputFormat) async throws -> Int32 {
        let tokens = try await makeOpsClient(settings).tokens()
        if format.isStructured {
            try Output.printStructured(tokens, as: format)
            return 0
        }
        let rows = tokens.map { token in
            [
                token.name, token.scope.rawValue, token.queues.isEmpty ? "-" : token.queues.joined(separator: ","),
                token.createdBy, TableFormatter.age(token.createdAt),
                token.revokedAt.map { "revoked " + TableFormatter.age($0) + " ago by " + (token.revokedBy ?? "?") }
                    ?? "active",
            ]
        }
        print(
            TableFormatter.render(headers: ["NAME", "SCOPE", "QUEUES", "CREATED BY", "AGE", "STATE"], rows: rows),
            terminator: "")
        return 0
    }

    private static func revoke(_ name: String, _ settings: Settings, _ format: OutputFormat) async throws -> Int32 {
        let token = try await makeOpsClient(settings).revokeToken(name)
        if format.isStructured {
            try Output.printStructured(token, as: format)
            return 0
        }
        print("token \(token.name) revoked; requests with its secret now get 401")
        return 0
    }
}

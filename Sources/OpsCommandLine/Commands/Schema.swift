import APITypes

// `opsctl schema [KIND]`: the JSON Schema of manifest documents, for editors (docs/api.md shows how to point VS
// Code's YAML extension at it). Offline: it is derived from the validators built into this opsctl.

enum SchemaCommand: OpsCommand {
    static let spec = CommandSpec(
        "schema", summary: "Print the JSON Schema of manifests (for editors)",
        positionals: [
            PositionalSpec(
                "KIND", help: "Job, Queue or a job type (train, tokenize, ...); all when left out", optional: true)
        ],
        options: [OptionSpec("kind", value: "KIND", help: "the same as the KIND argument")],
        discussion: """
            Save it and name it in a manifest's first line for VS Code's YAML extension:
              opsctl schema > llmops.schema.json
              # yaml-language-server: $schema=./llmops.schema.json
            """)

    static func run(_ settings: Settings) throws -> Int32 {
        let kind = settings.parsed.values["kind"]?.last ?? settings.parsed.positionals.first
        do {
            try Output.printJSON(try ManifestSchema.document(kind: kind))
        } catch let error as UnknownManifestKindError {
            throw SettingsError(error.description)
        }
        return 0
    }
}

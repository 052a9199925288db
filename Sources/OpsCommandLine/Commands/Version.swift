import APITypes

enum VersionCommand: OpsCommand {
    static let spec = CommandSpec("version", summary: "Print the version")

    static func run(_ settings: Settings) -> Int32 {
        print("opsctl \(opsVersion)")
        return 0
    }
}

import APIClient
import APITypes

/// `opsctl version`: this client's version and the control plane's (from `/healthz`, which needs no token). When
/// the control plane cannot be reached the client's line is still printed, then an error naming the URL, and the
/// exit status is 1, as `kubectl version` does: a script that asks for both versions learns that it got one.
/// `--client` asks nothing and exits 0.
enum VersionCommand: OpsCommand {
    static let spec = CommandSpec(
        "version", summary: "Print the versions of opsctl and of the control plane",
        options: [OptionSpec("client", help: "only this opsctl's version; do not ask the control plane")],
        discussion:
            "Exit status 1 when the control plane cannot be reached (its error on stderr, opsctl's version on stdout).")

    /// A version check should answer quickly, also from a control plane that is busy.
    static let healthTimeoutSeconds = 5.0

    static func run(_ settings: Settings) async throws -> Int32 {
        print("opsctl \(opsVersion)")
        guard !settings.parsed.flag("client") else { return 0 }
        let url = settings.serverURL
        // `/healthz` is open: no token is read, so a version check works before any is set up.
        let client = OpsClient(
            baseURL: url, token: nil, transport: CurlTransport(), timeoutSeconds: healthTimeoutSeconds)
        do {
            let health = try await client.health()
            print(serverLine(version: health.version, url: url))
            return 0
        } catch {
            Output.flush()
            Output.error(
                "could not ask the control plane for its version: \(Output.explain(error, serverURL: url)); "
                    + "`opsctl version --client` prints this opsctl's alone")
            return 1
        }
    }

    /// `control plane 0.1.0 at URL`, and a note when it differs from this client's.
    static func serverLine(version: String, url: String) -> String {
        "control plane \(version) at \(url)" + (version == opsVersion ? "" : " (differs from opsctl \(opsVersion))")
    }
}

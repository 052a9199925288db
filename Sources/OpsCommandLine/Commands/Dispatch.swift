import APIClient
import Foundation

/// Runs the command type the parser named and maps what it throws to an exit code: 2 for bad settings (usage),
/// 1 for everything else, with the control plane's errors in words a user can act on.
func runCommand(_ settings: Settings) async -> Int32 {
    guard let command = OpsCommands.command(named: settings.parsed.command) else {
        Output.error("command '\(settings.parsed.command)' is not implemented")
        return 2
    }
    do {
        return try await command.run(settings)
    } catch let error as SettingsError {
        Output.error(error.message)
        return 2
    } catch let error as ControlPlaneError {
        Output.error(Output.explain(error, serverURL: settings.serverURL))
        return 1
    } catch {
        Output.error("\(error)")
        return 1
    }
}

/// The admin client for this invocation's server and token.
func makeOpsClient(_ settings: Settings) throws -> OpsClient {
    OpsClient(
        baseURL: settings.serverURL, token: try settings.adminToken(),
        transport: CurlTransport(client: try settings.controlPlaneHTTPClient()))
}

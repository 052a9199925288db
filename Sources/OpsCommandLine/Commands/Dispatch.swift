import APIClient
import Foundation
import Workers

/// Runs the parsed command and returns the process exit code: 0 success, 1 failure (including a job that
/// failed under `apply --wait`), 2 usage error, 3 timeout.
func runCommand(_ settings: Settings) async -> Int32 {
    do {
        switch settings.parsed.command {
        case "version": return VersionCommand.run(settings)
        case "apply": return try await ApplyCommand.run(settings)
        case "get": return try await GetCommand.run(settings)
        case "describe": return try await DescribeCommand.run(settings)
        case "logs": return try await LogsCommand.run(settings)
        case "cancel": return try await CancelCommand.run(settings)
        case "delete": return try await DeleteCommand.run(settings)
        case "worker": return try await WorkerCommand.run(settings)
        case "serve": return try await ServeCommand.run(settings)
        case "up": return try await UpCommand.run(settings)
        case "generate": return try GenerateCommand.run(settings)
        default:
            Output.error("command '\(settings.parsed.command)' is not implemented")
            return 2
        }
    } catch let error as SettingsError {
        Output.error(error.message)
        return 2
    } catch let error as ControlPlaneError {
        Output.error(Output.explain(error))
        return 1
    } catch {
        Output.error("\(error)")
        return 1
    }
}

/// The admin client for this invocation's server and token.
func makeOpsClient(_ settings: Settings) throws -> OpsClient {
    OpsClient(baseURL: settings.serverURL, token: try settings.adminToken(), transport: CurlTransport())
}

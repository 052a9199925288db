import APIClient
import APITypes
import ClusterModel
import Foundation
import Workers

enum WorkerCommand {
    static func run(_ settings: Settings) async throws -> Int32 {
        let configuration = try settings.workerConfiguration()
        let token = try Settings.token(fileOption: settings.parsed.value("join-token-file"), variable: "OPS_JOIN_TOKEN",
                                       environment: settings.environment) ?? settings.adminToken()
        guard let token else {
            throw SettingsError("worker: no token; set OPS_JOIN_TOKEN (or OPS_JOIN_TOKEN_FILE / --join-token-file) to the cluster's join token")
        }
        let api = HTTPControlPlaneAPI(baseURL: settings.serverURL, token: token, transport: CurlTransport())
        let artifactStore: any ArtifactStore
        switch try settings.artifactStoreKind() {
        case .dir:
            artifactStore = FileArtifactStore(root: settings.artifactDirectory)
        case .controlPlane:
            artifactStore = ControlPlaneArtifactStore(baseURL: settings.serverURL, token: api.requester.token,
                                                      cacheDirectory: configuration.workDirectory.appendingPathComponent("artifact-cache"))
        }
        let daemon = WorkerDaemon(configuration: configuration, api: api, registry: ExecutorRegistry.standard(),
                                  artifactStore: artifactStore)
        let signals = TerminationSignals { number in
            WorkerDaemon.standardErrorLog("got signal \(number); shutting down (send it again to exit at once)")
            daemon.requestShutdown()
            // A second signal exits without waiting.
            signal(number, SIG_DFL)
        }
        defer { signals.cancel() }
        WorkerDaemon.standardErrorLog("opsctl \(opsVersion) worker \(configuration.name) → \(settings.serverURL)")
        try await daemon.run()
        return 0
    }
}

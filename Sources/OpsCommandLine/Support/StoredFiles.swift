// Files a command names by their stored location (`cp://blobs/<sha>`, `s3://…`, `http(s)://…`, as `opsctl get
// artifacts` and `describe job` show them) rather than by a path on this machine: fetched through the cluster's
// own backend into a cache under the state directory, verified by checksum, so `opsctl generate --checkpoint
// cp://blobs/…` works on a laptop that shares no disk with the workers.

import APITypes
import Foundation
import Workers

enum StoredFiles {
    /// `location` itself when it is a path; else a verified local copy of the stored file.
    static func localPath(_ location: String, settings: Settings) throws -> String {
        guard InputLocationKind(location)?.isURL == true else { return location }
        let client = try makeOpsClient(settings)
        let storage = try StorageClients.describe(baseURL: settings.serverURL, token: client.requester.token)
        let store = try StorageClients.artifactStore(
            for: storage, controlPlaneURL: settings.serverURL, token: client.requester.token,
            cacheDirectory: settings.stateDirectory.appendingPathComponent("artifact-cache"))
        return try store.localPath(for: location).path
    }
}

// A worker's view of the control plane's dataset records: the files of a dataset by name
// (`GET /v1/datasets/{name}/files`, worker token), and the fetchers that read their locations.
// Datasets are looked up when a task runs, not when it was planned: a job that runs `after:` the one
// writing the dataset names a dataset that did not exist at submission.

import APIClient
import APITypes
import Checksum
import DataShards
import Foundation
import HTTPClient

public struct ControlPlaneDatasets: Sendable {
    public let baseURL: String
    public let token: BearerToken
    public let fetchers: ShardFetchers
    private let blobs: ControlPlaneBlobFetcher
    private let client: HTTPClient

    public init(
        baseURL: String, token: BearerToken, client: HTTPClient = HTTPClient(),
        extraFetchers: [String: any ShardFetcher] = [:]
    ) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.token = token
        self.client = client
        blobs = ControlPlaneBlobFetcher(baseURL: base, token: token, client: client)
        fetchers = ShardFetchers(controlPlane: blobs, extra: extraFetchers)
    }

    /// Downloads the blob at `location` (`cp://blobs/<sha256>`) to `path` and checks its checksum: the way to a
    /// blob for a worker whose artifact store is a directory of its own.
    public func download(blob location: String, to path: String) throws {
        let url: String
        do { url = try blobs.url(of: location) } catch {
            throw TaskFailure("\(error)", retryable: false)
        }
        var headers: [String: String] = [:]
        if let value = token.value { headers["Authorization"] = "Bearer \(value)" }
        let response: HTTPClientResponse
        do { response = try client.download(url: url, to: path, headers: headers) } catch {
            throw TaskFailure("cannot download \(location): \(error)", retryable: error.isTransient)
        }
        guard response.isSuccess else {
            throw TaskFailure("cannot download \(location): HTTP \(response.status)", retryable: response.status >= 500)
        }
        let expected = String(location.dropFirst(ControlPlaneBlobFetcher.scheme.count))
        guard let actual = try? SHA256.hex(ofFileAt: path), actual == expected else {
            unlink(path)
            throw TaskFailure("the download of \(location) does not hash to its name; discarded", retryable: true)
        }
    }

    /// The dataset's files and index; a 409 (shards still missing) or 404 becomes a failure that says so.
    public func files(of name: String) throws -> DatasetFilesResponse {
        var headers: [String: String] = [:]
        if let value = token.value { headers["Authorization"] = "Bearer \(value)" }
        let url = baseURL + APIRoute.datasetFiles.path(name)
        let response: HTTPClientResponse
        do { response = try client.send(HTTPClientRequest(method: "GET", url: url, headers: headers)) } catch {
            throw TaskFailure("cannot list the files of dataset \(name): \(error)", retryable: true)
        }
        guard response.isSuccess else {
            let message =
                (try? WireCoding.decode(APIErrorBody.self, from: response.body)).map { "\($0)" }
                ?? "HTTP \(response.status)"
            // A dataset still being written may be complete on a later attempt; an unknown one is not retried
            // quickly either way, but its job may just not have registered its first shard yet.
            throw TaskFailure(
                "dataset \(name): \(message)", retryable: response.status == 409 || response.status >= 500)
        }
        do { return try WireCoding.decode(DatasetFilesResponse.self, from: response.body) } catch {
            throw TaskFailure("dataset \(name): unexpected answer: \(WireCoding.describe(error))", retryable: false)
        }
    }
}

// Which `ShardFetcher` reads a file location, chosen by the location's scheme in this one place:
// `cp://blobs/` the control plane's blob store, `http(s)://` any HTTP server with ranges, `file://` a path.
// Another backend (the S3 object store) registers its fetcher for its scheme in `extra`: the registration
// point is `ShardFetchers.init(controlPlane:extra:)`, so no reader changes.

import APIClient
import DataShards
import Foundation

public struct ShardFetchers: Sendable {
    /// Fetchers of further schemes, by lower-case prefix (`"s3://"`), tried before the built-in ones.
    public let extra: [String: any ShardFetcher]
    public let controlPlane: ControlPlaneBlobFetcher?
    private let web = HTTPShardFetcher()
    private let file = FileURLFetcher()

    public init(controlPlane: ControlPlaneBlobFetcher?, extra: [String: any ShardFetcher] = [:]) {
        self.controlPlane = controlPlane
        self.extra = extra
    }

    /// The fetcher for `location`; a scheme none reads is an error naming the schemes that are read.
    public func fetcher(for location: String) throws(FetchError) -> any ShardFetcher {
        let lower = location.lowercased()
        for (prefix, fetcher) in extra where lower.hasPrefix(prefix) { return fetcher }
        if lower.hasPrefix(ControlPlaneBlobFetcher.scheme) {
            guard let controlPlane else {
                throw FetchError(
                    url: location, reason: "this worker has no control plane to fetch blobs from", retryable: false)
            }
            return controlPlane
        }
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") { return web }
        if lower.hasPrefix("file://") { return file }
        let schemes = ([ControlPlaneBlobFetcher.scheme, "http://", "https://", "file://"] + extra.keys.sorted())
        throw FetchError(
            url: location, reason: "no fetcher for this scheme; this worker reads \(schemes.joined(separator: ", "))",
            retryable: false)
    }
}

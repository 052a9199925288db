// Opens a dataset for reading by the location its task spec names, in one place for every executor: a dataset
// by name (`cp://datasets/<name>`) is looked up on the control plane and read blob by blob through the
// worker's shard cache (`ListedShardLocator`); a dataset recorded at a host directory or URL is read there;
// any other location as `StreamSource.at` reads it.

import APITypes
import DataShards
import Foundation

extension ExecutionContext {
    /// The stream source of `location`; `cache` is the worker's (or the job's) shard cache.
    public func streamSource(at location: String, weight: Double = 1, cache: ShardCache?) throws -> StreamSource {
        guard let name = DatasetByName.name(of: location) else {
            do { return try StreamSource.at(location, weight: weight, cache: cache) } catch {
                throw StreamExecutor.failure(error, inputs: [])
            }
        }
        guard let datasets else {
            throw TaskFailure(
                "dataset \(name) is read by name, but this worker has no control plane connection", retryable: false)
        }
        let listing = try datasets.files(of: name)
        if DatasetByName.name(of: listing.location) == nil {
            // Written to a host directory or URL: read it there.
            do { return try StreamSource.at(listing.location, weight: weight, cache: cache) } catch {
                throw StreamExecutor.failure(error, inputs: [])
            }
        }
        guard let cache else {
            throw TaskFailure("dataset \(name) is read by name: a shard cache is needed", retryable: false)
        }
        let index: DatasetIndex
        do { index = try listing.index.decode(as: DatasetIndex.self) } catch {
            throw TaskFailure("dataset \(name): the control plane's index cannot be read: \(error)", retryable: false)
        }
        var files: [String: ListedShardLocator.File] = [:]
        for file in listing.files {
            files[file.name] = ListedShardLocator.File(location: file.location, sha256: file.sha256, bytes: file.bytes)
        }
        let fetchers = datasets.fetchers
        let locator = ListedShardLocator(
            location: location, index: index, files: files,
            fetcher: { (fileLocation: String) throws(FetchError) -> any ShardFetcher in
                try fetchers.fetcher(for: fileLocation)
            }, cache: cache)
        return StreamSource(index: index, locator: locator, weight: weight)
    }
}

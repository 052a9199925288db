// The data sources of a train job as the control plane can read them, for a replay (docs/lineage.md): a dataset
// directory (a path the control plane sees, like a shared filesystem) in place, and a dataset by name from its
// rows, its files read from this control plane's blob store. Anything else (an S3 backend, an http(s) location)
// is a 409 that says where the data is.

import APITypes
import DataShards
import Foundation

struct ReplaySources {
    let services: ControlServices

    func open(_ data: [TrainDataSource]) throws -> [StreamSource] {
        try data.enumerated().map { offset, source in
            let field = "spec.train.data[\(offset)]"
            guard let location = source.resolvedLocation else {
                throw APIErrorBody(code: .conflict, message: "\(field): dataset \(source.displayName) has no location")
            }
            do {
                if let name = DatasetByName.name(of: location) {
                    return try byName(name, weight: source.weight ?? 1)
                }
                guard location.hasPrefix("/") else {
                    throw APIErrorBody(
                        code: .conflict,
                        message:
                            "\(field): dataset \(source.displayName) is at \(location); a replay reads datasets in a directory the control plane sees or in its blob store"
                    )
                }
                return try StreamSource.directory(location, weight: source.weight ?? 1)
            } catch let error as APIErrorBody {
                throw error
            } catch {
                throw APIErrorBody(
                    code: .conflict, message: "\(field): cannot open dataset \(source.displayName) here: \(error)")
            }
        }
    }

    private func byName(_ name: String, weight: Double) throws -> StreamSource {
        guard let dataset = try services.datasets.dataset(named: name) else {
            throw APIErrorBody(code: .conflict, message: "dataset \(name) is no longer registered")
        }
        let shards = try services.shards.list(dataset: dataset.id)
        let metadata = JSONText.parse(dataset.metadata)?.objectValue ?? [:]
        let index = try DatasetFiles.index(name: name, metadata: metadata, shards: shards)
        let blobs = BlobFiles(artifactDirectory: services.configuration.artifactDirectory)
        var paths: [String: String] = [:]
        for (shard, info) in zip(shards, index.shards) {
            paths[info.binFile] = try Self.blobPath(shard.location, blobs, dataset: name)
            if let idx = shard.idx { paths[info.idxFile] = try Self.blobPath(idx.location, blobs, dataset: name) }
        }
        let locator = BlobStoreLocator(location: dataset.location, index: index, paths: paths)
        return StreamSource(index: index, locator: locator, weight: weight)
    }

    /// The local file of a `cp://blobs/<sha256>` location; a 409 for a location in another store.
    static func blobPath(_ location: String, _ blobs: BlobFiles, dataset: String) throws -> String {
        guard location.hasPrefix(BlobFiles.scheme) else {
            throw APIErrorBody(
                code: .conflict,
                message:
                    "dataset \(dataset) has a file at \(location); a replay reads datasets by name from the control plane's blob store"
            )
        }
        return blobs.path(String(location.dropFirst(BlobFiles.scheme.count)))
    }
}

/// A dataset whose files are blobs of this control plane: each listed file is read in place.
struct BlobStoreLocator: ShardLocator {
    let location: String
    let index: DatasetIndex
    let paths: [String: String]

    func localPath(for file: String, expectedBytes: Int64) throws(StreamError) -> String {
        guard let path = paths[file] else {
            throw .shardUnavailable(
                ShardIdentity(dataset: index.name, shard: file, location: location), reason: "no such file is listed")
        }
        return path
    }

    func release(localPath: String) {}
    func loadIndex() throws(StreamError) -> DatasetIndex { index }
}

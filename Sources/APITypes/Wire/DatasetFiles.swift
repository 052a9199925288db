// Wire types of datasets over the network (docs/storage.md, "Datasets by name"): which blobs the store
// lacks (`opsctl apply` uploads only those), and the files of a dataset by name with their blob locations.

import Foundation

/// `POST /v1/blobs/missing`: which of these checksums the blob store does not hold.
public struct MissingBlobsRequest: Codable, Sendable, Equatable {
    /// At most `limit` lower-case hex SHA-256 names.
    public var sha256: [String]
    public static let limit = 10_000

    public init(sha256: [String]) { self.sha256 = sha256 }
}

public struct MissingBlobsResponse: Codable, Sendable, Equatable {
    /// The asked checksums the store lacks, in the order asked.
    public var missing: [String]

    public init(missing: [String]) { self.missing = missing }
}

/// One file of a dataset: its name in the dataset (`shard-00000.bin`) and where its bytes are.
public struct DatasetFile: Codable, Sendable, Equatable, Hashable {
    public var name: String
    public var location: String
    public var sha256: String
    public var bytes: Int64

    public init(name: String, location: String, sha256: String, bytes: Int64) {
        self.name = name
        self.location = location
        self.sha256 = sha256
        self.bytes = bytes
    }
}

/// `GET /v1/datasets/{name}/files`: what a worker needs to read a dataset by name.
public struct DatasetFilesResponse: Codable, Sendable, Equatable {
    public var name: String
    /// The dataset's recorded location: `cp://datasets/<name>` for a dataset of blobs, else the host directory
    /// or URL it was written to (the reader then reads it there, as before).
    public var location: String
    /// The dataset's `index.json`, built by the control plane from the registered shard rows.
    public var index: AnyJSON
    /// Every `.bin` and `.idx` file, by shard index.
    public var files: [DatasetFile]
    /// The tokenizer the dataset was made with, when it is a blob (or URL) a worker can fetch.
    public var tokenizer: DatasetFile?

    public init(name: String, location: String, index: AnyJSON, files: [DatasetFile], tokenizer: DatasetFile?) {
        self.name = name
        self.location = location
        self.index = index
        self.files = files
        self.tokenizer = tokenizer
    }
}

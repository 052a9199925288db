// A dataset whose files are listed one by one with where their bytes are (a dataset by name: the control
// plane lists each `.bin`/`.idx` with its blob location, sha256 and size, and builds its index). Each file is
// fetched by its own location, through the fetcher for that location's scheme, into the bounded `ShardCache`,
// and its SHA-256 is checked before the cache renames it into place: a corrupt download is fetched once more,
// then fails naming the file. The cache key is `<dataset location>/<sha256>.<bin|idx>`: the same blob is
// fetched once per dataset, a re-created dataset's new bytes get new keys, and the worker's heartbeat lists
// the `.bin` keys under the dataset's location, which is what data locality matches jobs against.

import Checksum
import Foundation

public struct ListedShardLocator: ShardLocator {
    /// One listed file.
    public struct File: Sendable, Equatable {
        public var location: String
        public var sha256: String
        public var bytes: Int64
        public init(location: String, sha256: String, bytes: Int64) {
            self.location = location
            self.sha256 = sha256
            self.bytes = bytes
        }
    }

    /// The dataset's location (`cp://datasets/<name>`): the prefix of its cache keys.
    public let location: String
    public let index: DatasetIndex
    public let files: [String: File]
    /// The fetcher for a file's location (by its scheme); throws for a scheme no fetcher reads.
    public let fetcher: @Sendable (String) throws(FetchError) -> any ShardFetcher
    public let cache: ShardCache
    public let retry: FetchRetry

    /// Downloads of one file: the first, and one more after a checksum mismatch.
    static let downloadsPerFile = 2

    public init(
        location: String, index: DatasetIndex, files: [String: File],
        fetcher: @escaping @Sendable (String) throws(FetchError) -> any ShardFetcher, cache: ShardCache,
        retry: FetchRetry = FetchRetry()
    ) {
        self.location = location
        self.index = index
        self.files = files
        self.fetcher = fetcher
        self.cache = cache
        self.retry = retry
    }

    public func loadIndex() throws(StreamError) -> DatasetIndex { index }

    public func release(localPath: String) { cache.unpin(path: localPath) }

    /// `<location>/<sha256>.bin` for `shard-00003.bin`.
    public func cacheKey(for file: String, sha256: String) -> String {
        let suffix = file.split(separator: ".").last.map { "." + $0 } ?? ""
        return location + "/" + sha256 + suffix
    }

    public func localPath(for file: String, expectedBytes: Int64) throws(StreamError) -> String {
        let identity = ShardIdentity(dataset: index.name, shard: file, location: location)
        guard let listed = files[file] else {
            throw .shardUnavailable(identity, reason: "the control plane lists no file \(file) for this dataset")
        }
        let key = cacheKey(for: file, sha256: listed.sha256)
        var download = 1
        while true {
            do {
                return try cache.path(forKey: key, bytes: listed.bytes, pin: true) {
                    (fd, temporaryPath) throws(FetchError) in
                    try fill(fd, temporaryPath, from: listed)
                }
            } catch {
                guard error.retryable, download < Self.downloadsPerFile else {
                    throw .shardUnavailable(
                        identity, reason: "\(error.description) (download \(download) of \(Self.downloadsPerFile))")
                }
                download += 1
            }
        }
    }

    /// Writes the file's bytes by ranges and checks their SHA-256; a mismatch is retryable (fetched again).
    private func fill(_ fd: Int32, _ temporaryPath: String, from listed: File) throws(FetchError) {
        let source = try fetcher(listed.location)
        var offset: Int64 = 0
        while offset < listed.bytes {
            let end = min(listed.bytes, offset + retry.chunkBytes)
            let chunk = try retry.run(listed.location) { () throws(FetchError) in
                try source.fetch(listed.location, byteRange: offset..<end)
            }
            do { try PosixFile.writeAll(fd, bytes: chunk, path: temporaryPath) } catch {
                throw FetchError(url: listed.location, reason: "cache write: \(error)", retryable: false)
            }
            offset = end
        }
        let actual: String
        do { actual = try SHA256.hex(ofFileAt: temporaryPath) } catch {
            throw FetchError(url: listed.location, reason: "cannot hash the download: \(error)", retryable: false)
        }
        guard actual == listed.sha256 else {
            throw FetchError(
                url: listed.location,
                reason: "downloaded bytes hash to \(actual), expected \(listed.sha256) (the copy was discarded)",
                retryable: true)
        }
    }
}

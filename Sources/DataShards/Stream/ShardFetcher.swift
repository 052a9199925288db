// Where shard files come from. A `ShardLocator` turns a dataset's file name into a local path the stream
// can memory-map: directly for a (shared) filesystem, or through the local `ShardCache` for remote
// locations, whose bytes a `ShardFetcher` brings in by byte ranges with retries.
import Foundation

public struct FetchError: Error, CustomStringConvertible, Sendable, Equatable {
    public var url: String
    public var reason: String
    /// False for errors a retry cannot fix (404, bad URL).
    public var retryable: Bool
    /// The local disk is full (ENOSPC): the cache evicts more and retries once (ShardCache.swift).
    public var noSpace: Bool
    public init(url: String, reason: String, retryable: Bool, noSpace: Bool = false) {
        self.url = url
        self.reason = reason
        self.retryable = retryable
        self.noSpace = noSpace
    }
    public var description: String { "fetching \(url): \(reason)" }
}

/// Reads byte ranges of remote files. Implementations: `FileURLFetcher` (file:// URLs, e.g. a shared
/// filesystem addressed by URL) and the libcurl-backed HTTP fetcher.
public protocol ShardFetcher: Sendable {
    func contentLength(of url: String) throws(FetchError) -> Int64
    func fetch(_ url: String, byteRange: Range<Int64>) throws(FetchError) -> [UInt8]
}

/// Resolves the files of one dataset location to local paths.
public protocol ShardLocator: Sendable {
    /// The location as users know it (a directory or a base URL), for error messages and shard identities.
    var location: String { get }
    /// A local path holding `file` with exactly `expectedBytes` bytes (fetching it first if remote). The
    /// file stays in place (a cache will not evict it) until `release(localPath:)`; open or map it first.
    func localPath(for file: String, expectedBytes: Int64) throws(StreamError) -> String
    func release(localPath: String)
    /// The dataset's `index.json`.
    func loadIndex() throws(StreamError) -> DatasetIndex
}

public struct LocalShardLocator: ShardLocator {
    public let directory: String
    public init(directory: String) { self.directory = directory }
    public var location: String { directory }
    public func release(localPath: String) {}

    public func localPath(for file: String, expectedBytes: Int64) throws(StreamError) -> String {
        directory + "/" + file
    }

    public func loadIndex() throws(StreamError) -> DatasetIndex {
        do { return try DatasetIndex.load(fromDirectory: directory) } catch {
            throw .invalidConfiguration(field: "dataset location \(directory)", reason: error.description)
        }
    }
}

/// Reads file:// URLs by byte range: a real fetcher for shared filesystems addressed by URL.
public struct FileURLFetcher: ShardFetcher {
    public init() {}

    private func path(_ url: String) throws(FetchError) -> String {
        guard url.hasPrefix("file://") else {
            throw FetchError(url: url, reason: "not a file:// URL", retryable: false)
        }
        return String(url.dropFirst("file://".count))
    }

    public func contentLength(of url: String) throws(FetchError) -> Int64 {
        let p = try path(url)
        do { return try PosixFile.size(p) } catch {
            throw FetchError(url: url, reason: error.description, retryable: false)
        }
    }

    public func fetch(_ url: String, byteRange: Range<Int64>) throws(FetchError) -> [UInt8] {
        let p = try path(url)
        guard let handle = FileHandle(forReadingAtPath: p) else {
            throw FetchError(url: url, reason: "cannot open", retryable: false)
        }
        defer { try? handle.close() }
        do {
            try handle.seek(toOffset: UInt64(byteRange.lowerBound))
            let data = try handle.read(upToCount: Int(byteRange.count)) ?? Data()
            guard data.count == byteRange.count else {
                throw FetchError(
                    url: url, reason: "short read: \(data.count) of \(byteRange.count) bytes", retryable: true)
            }
            return [UInt8](data)
        } catch let error as FetchError {
            throw error
        } catch {
            throw FetchError(url: url, reason: "\(error)", retryable: true)
        }
    }
}

/// A remote dataset location (base URL) whose files are fetched into a local cache (`ShardCache`).
public struct CachedRemoteShardLocator: ShardLocator {
    public let baseURL: String
    public let fetcher: any ShardFetcher
    public let cache: ShardCache
    public let retry: FetchRetry

    public init(baseURL: String, fetcher: any ShardFetcher, cache: ShardCache, retry: FetchRetry = FetchRetry()) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.fetcher = fetcher
        self.cache = cache
        self.retry = retry
    }

    public var location: String { baseURL }

    public func release(localPath: String) { cache.unpin(path: localPath) }

    /// The cache key (URL) of one of the dataset's files.
    public func key(for file: String) -> String { baseURL + "/" + file }

    public func localPath(for file: String, expectedBytes: Int64) throws(StreamError) -> String {
        let url = key(for: file)
        do {
            return try cache.path(forKey: url, bytes: expectedBytes, pin: true) {
                (tempFD, tempPath) throws(FetchError) in
                try download(url, bytes: expectedBytes, into: tempFD, path: tempPath)
            }
        } catch {
            throw .shardUnavailable(
                ShardIdentity(dataset: "", shard: file, location: baseURL), reason: error.description)
        }
    }

    /// Fetches `file` into the cache ahead of its use (`ShardCache.prefetch`).
    public func prefetch(file: String, expectedBytes: Int64, nextUse: Int) throws(FetchError) -> PrefetchOutcome {
        let url = key(for: file)
        return try cache.prefetch(forKey: url, bytes: expectedBytes, nextUse: nextUse) {
            (tempFD, tempPath) throws(FetchError) in
            try download(url, bytes: expectedBytes, into: tempFD, path: tempPath)
        }
    }

    /// Writes `bytes` bytes of `url` into the open file, `retry.chunkBytes` per request.
    private func download(_ url: String, bytes: Int64, into fd: Int32, path: String) throws(FetchError) {
        var offset: Int64 = 0
        while offset < bytes {
            let end = min(bytes, offset + retry.chunkBytes)
            let chunk = try retry.run(url) { () throws(FetchError) in
                try fetcher.fetch(url, byteRange: offset..<end)
            }
            do { try PosixFile.writeAll(fd, bytes: chunk, path: path) } catch {
                throw FetchError(url: url, reason: "cache write: \(error)", retryable: false, noSpace: error.isNoSpace)
            }
            offset = end
        }
    }

    public func loadIndex() throws(StreamError) -> DatasetIndex {
        let url = baseURL + "/" + DatasetIndex.fileName
        do {
            let length = try retry.run(url) { () throws(FetchError) in try fetcher.contentLength(of: url) }
            let bytes = try retry.run(url) { () throws(FetchError) in try fetcher.fetch(url, byteRange: 0..<length) }
            return try DatasetIndex.decode(Data(bytes), file: url)
        } catch let error as FetchError {
            throw .invalidConfiguration(field: "dataset location \(baseURL)", reason: error.description)
        } catch {
            throw .invalidConfiguration(field: "dataset location \(baseURL)", reason: "\(error)")
        }
    }
}

/// Retries of remote reads: exponential backoff for retryable errors, a bounded number of attempts.
public struct FetchRetry: Sendable {
    public var attempts: Int
    public var initialDelaySeconds: Double
    public var chunkBytes: Int64

    public init(attempts: Int = 4, initialDelaySeconds: Double = 0.2, chunkBytes: Int64 = 8 << 20) {
        self.attempts = max(1, attempts)
        self.initialDelaySeconds = initialDelaySeconds
        self.chunkBytes = max(1, chunkBytes)
    }

    func run<T>(_ url: String, _ body: () throws(FetchError) -> T) throws(FetchError) -> T {
        var delay = initialDelaySeconds
        var attempt = 1
        while true {
            do { return try body() } catch {
                guard error.retryable, attempt < attempts else {
                    throw FetchError(
                        url: url, reason: "\(error.reason) (after \(attempt) attempt\(attempt == 1 ? "" : "s"))",
                        retryable: false)
                }
                if delay > 0 { Thread.sleep(forTimeInterval: delay) }
                delay *= 2
                attempt += 1
            }
        }
    }
}

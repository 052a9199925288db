// Re-checks committed shards against the dataset index: sizes first (cheap, catches truncation), then the
// SHA-256 of both files, then that the Megatron header parses and agrees with the recorded counts.
import Checksum

public enum ShardVerifier {
    /// Verifies one shard whose files live in `directory`. Throws the first problem found, naming the file.
    public static func verify(_ shard: ShardInfo, inDirectory directory: String) throws(ShardError) {
        try verify(shard, binPath: directory + "/" + shard.binFile, idxPath: directory + "/" + shard.idxFile)
    }

    public static func verify(_ shard: ShardInfo, binPath: String, idxPath: String) throws(ShardError) {
        for (path, expected) in [(binPath, shard.binBytes), (idxPath, shard.idxBytes)] {
            let actual = try PosixFile.size(path)
            if actual != expected { throw .sizeMismatch(file: path, expectedBytes: expected, actualBytes: actual) }
        }
        let reader = try ShardReader(binPath: binPath, idxPath: idxPath)
        try verify(shard, reader: reader)
    }

    /// Verifies checksums and counts through an open reader (hashes the mapped bytes, no extra copy).
    public static func verify(_ shard: ShardInfo, reader: ShardReader) throws(ShardError) {
        for (file, expected, expectedBytes) in [
            (reader.idx, shard.idxSHA256, shard.idxBytes),
            (reader.bin, shard.binSHA256, shard.binBytes),
        ] {
            if Int64(file.byteCount) != expectedBytes {
                throw .sizeMismatch(file: file.path, expectedBytes: expectedBytes, actualBytes: Int64(file.byteCount))
            }
            file.advise(sequential: true)
            var hasher = SHA256()
            hasher.update(buffer: file.bytes)
            let actual = hasher.finalizeHex()
            if actual != expected { throw .checksumMismatch(file: file.path, expected: expected, actual: actual) }
        }
        guard reader.dtype == shard.dtype, reader.tokenCount == shard.tokens,
            Int64(reader.documentCount) == shard.documents
        else {
            throw .inconsistentIndex(
                file: reader.idxPath,
                reason:
                    "header says \(reader.tokenCount) tokens / \(reader.documentCount) documents / \(reader.dtype.rawValue), the dataset index \(shard.tokens) / \(shard.documents) / \(shard.dtype.rawValue)"
            )
        }
    }

    public struct Failure: Sendable, Equatable, CustomStringConvertible {
        public var shard: String
        public var error: ShardError
        public var description: String { "shard \(shard): \(error)" }
    }

    /// Verifies every shard of a dataset directory; returns the bad ones (empty = all good).
    public static func verifyDataset(_ index: DatasetIndex, inDirectory directory: String) -> [Failure] {
        var failures: [Failure] = []
        for shard in index.shards {
            do { try verify(shard, inDirectory: directory) } catch {
                failures.append(Failure(shard: shard.name, error: error))
            }
        }
        return failures
    }
}

// The dataset index of a tokenize job, written once every shard is committed. Each task, after committing
// its shard, records the shard's facts in `<dataset>/.shards/<shard>.json` (atomically); then, under a lock
// on that directory, the task that finds all `shardCount` records present writes `index.json` (atomic:
// temporary + fsync + rename). So `index.json` appears exactly when the dataset is complete, is written by
// the last task, and is the same whichever task that is (its content is a function of the shards).

import APITypes
import DataShards
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

enum TokenizeDatasetIndex {
    static let recordsDirectory = ".shards"

    /// Records `shard` and writes index.json if it was the last one missing. Returns whether it wrote it.
    static func recordShard(_ shard: ShardInfo, shardCount: Int, directory: String, template: DatasetIndex) throws
        -> Bool
    {
        let records = directory + "/" + recordsDirectory
        try FileManager.default.createDirectory(atPath: records, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try writeAtomically(try encoder.encode(shard), to: records + "/" + shard.name + ".json")
        return try withLock(records + "/.lock") {
            var shards: [ShardInfo] = []
            for index in 0..<shardCount {
                let path = records + "/" + TokenizeTaskSpec.shardName(index: index) + ".json"
                guard let data = FileManager.default.contents(atPath: path) else { return false }
                shards.append(try JSONDecoder().decode(ShardInfo.self, from: data))
            }
            var index = template
            index.shards = []
            for shard in shards { try index.record(shard) }
            try index.write(toDirectory: directory)
            return true
        }
    }

    /// Deletes what a killed attempt of this shard may have left: `.<name>.bin.tmp-*` / `.<name>.idx.tmp-*`
    /// (shard writer) and `<name>.json.tmp-*` / `<name>.hashes.tmp-*` (records, dedup hashes).
    static func removeTemporaries(of name: String, in directory: String) {
        let places = [
            (directory, [".\(name).bin.tmp-", ".\(name).idx.tmp-"]),
            (directory + "/" + recordsDirectory, ["\(name).json.tmp-"]),
            (directory + "/" + TokenizeDedup.directoryName, ["\(name).hashes.tmp-"]),
        ]
        for (place, prefixes) in places {
            for file in (try? FileManager.default.contentsOfDirectory(atPath: place)) ?? []
            where prefixes.contains(where: file.hasPrefix) {
                unlink(place + "/" + file)
            }
        }
    }

    static func writeAtomically(_ data: Data, to path: String) throws {
        let temporary = path + ".tmp-\(getpid())-\(UUID().uuidString.prefix(8))"
        guard FileManager.default.createFile(atPath: temporary, contents: data) else {
            throw TaskFailure("cannot write \(temporary)")
        }
        if rename(temporary, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw TaskFailure("cannot rename \(temporary) to \(path): \(reason)")
        }
    }

    /// An exclusive `flock` on `path` (created if absent) around `body`.
    static func withLock<T>(_ path: String, _ body: () throws -> T) throws -> T {
        let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw TaskFailure("cannot open lock file \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR { throw TaskFailure("cannot lock \(path): \(String(cString: strerror(errno)))") }
        }
        defer { flock(fd, LOCK_UN) }
        return try body()
    }
}

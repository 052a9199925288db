import BenchmarkSupport
import DataShards
import Foundation
import HTTPServer

// RemoteStreamBench: a stream reading a dataset served over HTTP on 127.0.0.1 through the shard cache — from
// a cold cache with and without prefetch (ShardPrefetcher.swift), and from a warm cache — reported as ratios
// to the same stream over the local directory (the bare loop), measured in the same run. `--delay-ms` holds
// every HTTP response that long (a remote store's round trip; loopback has none), `--step-us` sleeps per
// batch (a training step's compute, during which prefetch works).
//
//   swift run -c release RemoteStreamBench                           # 256 MB in 16 MB shards, delay 20 ms
//   swift run -c release RemoteStreamBench --mb 512 --delay-ms 50 --step-us 100
#if canImport(Glibc)
    import Glibc
#endif

struct Options {
    var megabytes = 256
    var shardMB = 16
    var delayMilliseconds = 20
    var stepMicroseconds = 0
    var shardsAhead = 4
    var directory = NSTemporaryDirectory() + "/remotestreambench-\(getpid())"

    init(_ args: [String]) {
        var cursor = OptionCursor(args)
        while let option = cursor.nextOption() {
            func value() -> Int { cursor.value().flatMap { Int($0) } ?? -1 }
            switch option {
            case "--mb": megabytes = value()
            case "--shard-mb": shardMB = value()
            case "--delay-ms": delayMilliseconds = value()
            case "--step-us": stepMicroseconds = value()
            case "--ahead": shardsAhead = value()
            default:
                print("unknown argument \(option) (--mb, --shard-mb, --delay-ms, --step-us, --ahead)")
                exit(2)
            }
            guard megabytes > 0, shardMB > 0, delayMilliseconds >= 0, stepMicroseconds >= 0, shardsAhead >= 0 else {
                print("\(option) needs a non-negative number")
                exit(2)
            }
        }
    }
}

/// Seconds to read one epoch (B = 8, T = 1024) from `source`.
func epochSeconds(_ source: StreamSource, _ o: Options, prefetch: ShardPrefetch?) throws -> Double {
    let stream = try TokenStream(
        StreamConfiguration(sources: [source], sequenceLength: 1024, batchSize: 8, seed: 1, prefetch: prefetch))
    var batch = CompactBatch(batchSize: 8, sequenceLength: 1024)
    let start = monotonicSeconds()
    for _ in 0..<Int(stream.samplesPerEpoch / 8) {
        try stream.fill(&batch)
        if o.stepMicroseconds > 0 { usleep(useconds_t(o.stepMicroseconds)) }
    }
    return monotonicSeconds() - start
}

let o = Options(CommandLine.arguments)
let served = o.directory + "/served"
try SyntheticCorpus.write(megabytes: o.megabytes, shardMB: o.shardMB, ids: .onePerID, into: served)
defer { try? FileManager.default.removeItem(atPath: o.directory) }
let delay = o.delayMilliseconds
let server = HTTPServer(configuration: HTTPServerConfiguration(address: "127.0.0.1", port: 0)) { request in
    let name = String(request.path.split(separator: "/").last ?? "")
    guard !name.hasPrefix("."), FileManager.default.fileExists(atPath: served + "/" + name) else {
        return .error(status: 404, message: "no such file")
    }
    if delay > 0 { usleep(useconds_t(delay * 1000)) }
    return .file(path: served + "/" + name)
}
try server.start()
defer { server.stop() }

func remote(_ cacheName: String) throws -> StreamSource {
    let cache = try ShardCache(directory: o.directory + "/" + cacheName, capacityBytes: 1 << 40)
    return try StreamSource.remote(baseURL: server.baseURL + "/data", fetcher: HTTPShardFetcher(), cache: cache)
}

let ahead = ShardPrefetch(shardsAhead: o.shardsAhead)
let local = try epochSeconds(try StreamSource.directory(served), o, prefetch: nil)
let coldOff = try epochSeconds(try remote("cache-off"), o, prefetch: nil)
let coldOn = try epochSeconds(try remote("cache-on"), o, prefetch: ahead)
let warm = try epochSeconds(try remote("cache-on"), o, prefetch: ahead)
print(
    "one epoch of \(o.megabytes) MB in \(o.shardMB) MB shards over loopback HTTP (response delay \(o.delayMilliseconds) ms, step \(o.stepMicroseconds) µs, B=8 T=1024)"
)
for (label, seconds) in [
    ("local directory (bare loop)", local), ("warm cache", warm), ("cold cache, prefetch off", coldOff),
    ("cold cache, prefetch \(o.shardsAhead) shards", coldOn),
] {
    let padded = label.padding(toLength: 30, withPad: " ", startingAt: 0)
    print(
        "  " + padded
            + String(
                format: " %7.2f s   time x%.2f of the bare loop's, x%.2f of the warm cache's", seconds, seconds / local,
                seconds / warm))
}

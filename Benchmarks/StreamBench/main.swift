import BenchmarkSupport
import DataShards
import Foundation

// StreamBench: tokens/s delivered as packed B x T batches by one stream reader from shards in the page
// cache, against the raw sequential read speed of the same files, and peak memory as the dataset grows.
// Two ceilings measured in the same run say what the machine allows a shuffled reader: bare loops copying
// random 2 KB pieces, and the shards' own documents shuffled and packed into samples (no stream code).
//
//   swift run -c release StreamBench                      # sizes 100, 500, 2000 MB of token data
//   swift run -c release StreamBench --sizes 100,2000 --dir /tmp/streambench
//
// Each size runs in a child process (so its peak RSS is its own); generated data is deleted afterwards.
#if canImport(Glibc)
    import Glibc
#endif

struct Options {
    var sizesMB = [100, 500, 2000]
    var directory = NSTemporaryDirectory() + "/streambench-\(getpid())"
    var sequenceLength = 1024
    var batchSize = 8
    var shardMB = 64
    var maxOpenShards = 3
    var single: Int? = nil
    var threads = 1
    var epochs = 2
    var window = 4096
    /// Verify shards and build sample windows ahead on background threads (the stream's default).
    var ahead = true

    init(_ args: [String]) {
        var cursor = OptionCursor(args)
        while let option = cursor.nextOption() {
            func value() -> String { cursor.value() ?? "" }
            switch option {
            case "--sizes": sizesMB = value().split(separator: ",").compactMap { Int($0) }
            case "--dir": directory = value()
            case "--seq": sequenceLength = Int(value()) ?? sequenceLength
            case "--batch": batchSize = Int(value()) ?? batchSize
            case "--shard-mb": shardMB = Int(value()) ?? shardMB
            case "--max-open": maxOpenShards = Int(value()) ?? maxOpenShards
            case "--threads": threads = Int(value()) ?? threads
            case "--single": single = Int(value())
            case "--window": window = max(1, Int(value()) ?? window)
            case "--epochs": epochs = max(1, Int(value()) ?? epochs)
            case "--no-ahead": ahead = false
            default:
                print("unknown argument \(option)")
                exit(2)
            }
        }
    }
}

func procStatus(_ field: String) -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
        return Int(
            line.split(separator: " ").dropFirst().first { !$0.isEmpty }.flatMap {
                Int($0.trimmingCharacters(in: .whitespaces))
            } ?? 0)
    }
    return 0
}

/// Best of three sequential read() passes over the `.bin` files (page cache warm after the first).
func rawReadBytesPerSecond(_ index: DatasetIndex, dir: String) -> (wall: Double, cpu: Double) {
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 4096)
    defer { buffer.deallocate() }
    var best = 0.0
    var bestCPU = 0.0
    for _ in 0..<3 {
        let start = monotonicSeconds()
        let startCPU = processCPUSeconds()
        var total = 0
        for shard in index.shards {
            let fd = open(dir + "/" + shard.binFile, O_RDONLY)
            while true {
                let n = read(fd, buffer, 1 << 20)
                if n <= 0 { break }
                total += n
            }
            close(fd)
        }
        best = max(best, Double(total) / (monotonicSeconds() - start))
        bestCPU = max(bestCPU, Double(total) / (processCPUSeconds() - startCPU))
    }
    return (best, bestCPU)
}

/// The ceilings' random numbers (xorshift64: cheap, seeded, the same in every run).
struct XorShift {
    var state: UInt64
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
    mutating func shuffle<T>(_ a: inout [T], _ range: Range<Int>) {
        for i in range.dropFirst().reversed() {
            a.swapAt(i, range.lowerBound + Int(next() % UInt64(i - range.lowerBound + 1)))
        }
    }
}

/// The ceiling a shuffled stream can reach on this machine: copies of 2,050-byte pieces (one sample of
/// T + 1 uint16 ids) from random places in the same mapped shard files, into a batch-sized buffer, with the
/// stream's own prefetch hints (whole piece two ahead, first line eight ahead). No planning, no shuffle
/// tables: what the memory system gives for random pieces. Best of three passes over all shards.
func randomPieceCopyBytesPerSecond(_ index: DatasetIndex, dir: String, batchBytes: Int) -> Double {
    let piece = 2050
    let destination = UnsafeMutableRawPointer.allocate(byteCount: batchBytes + piece, alignment: 64)
    defer { destination.deallocate() }
    var random = XorShift(state: 0x9e37)
    var best = 0.0
    for _ in 0..<3 {
        var seconds = 0.0
        var total = 0
        for shard in index.shards {
            let fd = open(dir + "/" + shard.binFile, O_RDONLY)
            let size = Int(lseek(fd, 0, SEEK_END))
            guard size > 4 * piece, let mapped = mmap(nil, size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0),
                mapped != MAP_FAILED
            else {
                close(fd)
                continue
            }
            let base = UnsafeRawPointer(mapped)
            let count = size / piece
            let offsets = (0..<count).map { _ in Int(random.next() % UInt64(size - piece)) & ~1 }
            let start = monotonicSeconds()
            var target = 0
            for i in 0..<count {
                if i + 8 < count { Prefetch.warm(base + offsets[i + 8]) }
                if i + 2 < count { Prefetch.read(base + offsets[i + 2], byteCount: piece) }
                (destination + target).copyMemory(from: base + offsets[i], byteCount: piece)
                target = target + piece >= batchBytes ? 0 : target + piece
            }
            seconds += monotonicSeconds() - start
            total += count * piece
            munmap(mapped, size)
            close(fd)
        }
        best = max(best, Double(total) / seconds)
    }
    return best
}

/// The same ceiling with the stream's real piece pattern: each shard's documents shuffled and packed into
/// samples of T + 1 tokens (stride T), so a sample is its ~1.5 runs split at document ends; samples shuffled
/// within windows of `window`; each sample's runs copied with the stream's hints. Counted like the stream
/// (T tokens per sample). What is left between this and the stream is the stream's own work: planning,
/// window tables, ids, crossing shards.
func packedDocumentCopyBytesPerSecond(
    _ index: DatasetIndex, dir: String, sequenceLength t: Int, batchSize: Int, window: Int
) throws -> Double {
    let destination = UnsafeMutableRawPointer.allocate(byteCount: batchSize * (t + 1) * 2, alignment: 64)
    defer { destination.deallocate() }
    var random = XorShift(state: 0x51ed)
    // One shard at a time (its mapping and tables only while it is measured), the best of three passes each.
    var seconds = 0.0
    var total = 0
    for shard in index.shards {
        let reader = try ShardReader(binPath: dir + "/" + shard.binFile, idxPath: dir + "/" + shard.idxFile)
        let base = reader.tokenBytes.baseAddress!
        var documents = Array(0..<reader.sequenceCount)
        random.shuffle(&documents, 0..<documents.count)
        var bases: [UnsafeRawPointer] = []
        var lengths: [Int] = []
        var sampleRuns: [Int] = [0]
        var document = 0
        var offset = 0 // where the next sample starts
        while true {
            var need = t + 1
            var d = document
            var o = offset
            while need > 0 && d < documents.count {
                let length = reader.sequenceLength(documents[d])
                let take = min(length - o, need)
                bases.append(base + reader.sequenceByteOffset(documents[d]) + 2 * o)
                lengths.append(2 * take)
                need -= take
                o += take
                if o == length {
                    d += 1
                    o = 0
                }
            }
            if need > 0 {
                bases.removeLast(bases.count - sampleRuns.last!)
                lengths.removeLast(lengths.count - sampleRuns.last!)
                break
            }
            sampleRuns.append(bases.count)
            var advance = t // stride T: the next sample starts T tokens on
            while advance > 0 {
                let left = reader.sequenceLength(documents[document]) - offset
                if left > advance {
                    offset += advance
                    advance = 0
                } else {
                    advance -= left
                    document += 1
                    offset = 0
                }
            }
        }
        var order = Array(0..<(sampleRuns.count - 1))
        for start in stride(from: 0, to: order.count, by: window) {
            random.shuffle(&order, start..<min(order.count, start + window))
        }
        var shardBest = Double.infinity
        for _ in 0..<3 {
            bases.withUnsafeBufferPointer { bases in
                lengths.withUnsafeBufferPointer { lengths in
                    sampleRuns.withUnsafeBufferPointer { runs in
                        let count = order.count
                        let start = monotonicSeconds()
                        var target = 0
                        for i in 0..<count {
                            if i + 8 < count {
                                for r in runs[order[i + 8]]..<runs[order[i + 8] + 1] { Prefetch.warm(bases[r]) }
                            }
                            if i + 2 < count {
                                for r in runs[order[i + 2]]..<runs[order[i + 2] + 1] {
                                    Prefetch.read(bases[r], byteCount: lengths[r])
                                }
                            }
                            var to = destination + target * (t + 1) * 2
                            for r in runs[order[i]]..<runs[order[i] + 1] {
                                to.copyMemory(from: bases[r], byteCount: lengths[r])
                                to += lengths[r]
                            }
                            target = target + 1 == batchSize ? 0 : target + 1
                        }
                        shardBest = min(shardBest, monotonicSeconds() - start)
                    }
                }
            }
        }
        seconds += shardBest
        total += order.count * t * 2
        withExtendedLifetime(reader) {}
    }
    return Double(total) / seconds
}

func runSingle(_ o: Options, megabytes: Int) throws {
    let dir = o.directory + "/size-\(megabytes)"
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let t0 = monotonicSeconds()
    let index = try SyntheticCorpus.write(megabytes: megabytes, shardMB: o.shardMB, ids: .fourPerDraw, into: dir)
    let generateSeconds = monotonicSeconds() - t0
    let raw = rawReadBytesPerSecond(index, dir: dir)

    let source = try StreamSource.directory(dir)
    let configuration = StreamConfiguration(
        sources: [source], sequenceLength: o.sequenceLength, batchSize: o.batchSize,
        seed: 1, readerThreads: o.threads, shuffleWindow: o.window,
        maxOpenShards: o.maxOpenShards, verifyAhead: o.ahead)
    let stream = try TokenStream(configuration)
    let steps = Int(stream.samplesPerEpoch) / o.batchSize
    var batch = Batch(batchSize: o.batchSize, sequenceLength: o.sequenceLength)
    var peakAnonKB = 0
    var checksum: Int64 = 0
    // Epoch 0: first use of every shard includes its SHA-256 verification.
    let start = monotonicSeconds()
    for step in 0..<steps {
        try stream.fill(&batch)
        if step % 1024 == 0 { peakAnonKB = max(peakAnonKB, procStatus("RssAnon")) }
    }
    let firstEpochSeconds = monotonicSeconds() - start
    // Further epochs: steady state (shards verified, data in the page cache); the best epoch counts.
    func bestEpoch<ID>(_ batch: inout TokenBatch<ID>, _ fill: (inout TokenBatch<ID>) throws -> Void) throws -> (
        wall: Double, cpu: Double
    ) {
        var best = (wall: Double.infinity, cpu: Double.infinity)
        for _ in 0..<o.epochs {
            let start = monotonicSeconds()
            let startCPU = processCPUSeconds()
            for step in 0..<steps {
                try fill(&batch)
                checksum &+= Int64(batch.tokens[step % batch.tokens.count])
                // Sampled rarely: reading /proc costs about as much as 100 batches.
                if step % 8192 == 0 { peakAnonKB = max(peakAnonKB, procStatus("RssAnon")) }
            }
            best = (min(best.wall, monotonicSeconds() - start), min(best.cpu, processCPUSeconds() - startCPU))
        }
        return best
    }
    let (seconds, cpuSeconds) = try bestEpoch(&batch) { try stream.fill(&$0) }
    // The same epochs as 16-bit batches (the shards' uint16 ids copied as they are, no widening).
    var compact = CompactBatch(batchSize: o.batchSize, sequenceLength: o.sequenceLength)
    let (compactSeconds, compactCPUSeconds) = try bestEpoch(&compact) { try stream.fill(&$0) }
    let tokens = Double(steps * o.batchSize * o.sequenceLength) // T new tokens per sample (stride T)
    // Memory is read before the ceilings run (they map shards of their own).
    let peakRssMB = Double(procStatus("VmHWM")) / 1024
    let ceiling = randomPieceCopyBytesPerSecond(index, dir: dir, batchBytes: o.batchSize * (o.sequenceLength + 1) * 2)
    let packedCeiling = try packedDocumentCopyBytesPerSecond(
        index, dir: dir, sequenceLength: o.sequenceLength, batchSize: o.batchSize, window: o.window)
    let tokenBytesPerSecond = tokens * 2 / seconds
    let line: [String: Any] = [
        "sizeMB": megabytes, "shards": index.shards.count, "tokens": index.totalTokens,
        "generateSeconds": generateSeconds, "rawReadGBps": raw.wall / 1e9, "rawReadCPUGBps": raw.cpu / 1e9,
        "randomPieceGBps": ceiling / 1e9, "packedDocumentGBps": packedCeiling / 1e9,
        "tokenCPUGBps": tokens * 2 / cpuSeconds / 1e9, "ratioToRawCPU": (tokens * 2 / cpuSeconds) / raw.cpu,
        "firstEpochGBps": tokens * 2 / firstEpochSeconds / 1e9,
        "tokensPerSecond": tokens / seconds, "tokenGBps": tokenBytesPerSecond / 1e9,
        "ratioToRaw": tokenBytesPerSecond / raw.wall,
        "compactGBps": tokens * 2 / compactSeconds / 1e9, "compactCPUGBps": tokens * 2 / compactCPUSeconds / 1e9,
        "compactRatioToRawCPU": (tokens * 2 / compactCPUSeconds) / raw.cpu,
        "peakRssMB": peakRssMB, "peakAnonMB": Double(peakAnonKB) / 1024,
        "checksum": checksum,
    ]
    let data = try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
    print("RESULT " + String(decoding: data, as: UTF8.self))
}

let options = Options(CommandLine.arguments)
if let size = options.single {
    do { try runSingle(options, megabytes: size) } catch {
        print("StreamBench failed: \(error)")
        exit(1)
    }
    exit(0)
}

print(
    "StreamBench: T=\(options.sequenceLength) B=\(options.batchSize) shards of \(options.shardMB) MB, uint16 tokens, maxOpenShards=\(options.maxOpenShards), readerThreads=\(options.threads), verify and windows ahead: \(options.ahead ? "yes" : "no (--no-ahead)")"
)
print("wall = elapsed time; cpu = per CPU-second of the process, all its threads (the fair figure on a shared machine)")
print("stream = Int32 batches (widened); uint16 = CompactBatch (ids copied as stored)")
print(
    [
        "size MB", "shards", "raw GB/s wall", "raw GB/s cpu", "stream GB/s wall", "stream GB/s cpu", "Mtok/s cpu",
        "uint16 GB/s wall", "uint16 GB/s cpu", "1st epoch GB/s", "stream/raw cpu", "uint16/raw cpu", "uint16/raw wall",
        "random 2 KB GB/s", "random/raw", "uint16/random", "packed docs GB/s", "packed/raw", "uint16/packed",
        "max RSS MB", "anon MB",
    ].joined(separator: " | "))
for size in options.sizesMB {
    let child = Process()
    child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
    var args = Array(CommandLine.arguments.dropFirst())
    args += ["--single", String(size), "--dir", options.directory]
    child.arguments = args
    let pipe = Pipe()
    child.standardOutput = pipe
    try child.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    child.waitUntilExit()
    guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("RESULT ") }),
        let r = try JSONSerialization.jsonObject(with: Data(line.dropFirst(7).utf8)) as? [String: Any]
    else {
        print("size \(size): failed\n\(output)")
        continue
    }
    func d(_ k: String) -> Double { (r[k] as? NSNumber)?.doubleValue ?? .nan }
    print(
        String(
            format:
                "%d | %d | %.2f | %.2f | %.2f | %.2f | %.0f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.0f | %.1f",
            size, Int(d("shards")),
            d("rawReadGBps"), d("rawReadCPUGBps"), d("tokenGBps"), d("tokenCPUGBps"), d("tokenCPUGBps") * 1e3 / 2,
            d("compactGBps"), d("compactCPUGBps"), d("firstEpochGBps"), d("ratioToRawCPU"), d("compactRatioToRawCPU"),
            d("compactGBps") / d("rawReadGBps"),
            d("randomPieceGBps"), d("randomPieceGBps") / d("rawReadGBps"), d("compactGBps") / d("randomPieceGBps"),
            d("packedDocumentGBps"), d("packedDocumentGBps") / d("rawReadGBps"),
            d("compactGBps") / d("packedDocumentGBps"),
            d("peakRssMB"), d("peakAnonMB")))
}
try? FileManager.default.removeItem(atPath: options.directory)

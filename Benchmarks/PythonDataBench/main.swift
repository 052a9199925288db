// llmops.data (the Python SDK's reader: python3 + ctypes + libLLMOpsStreamC) against the Swift stream it wraps,
// on the same shards in the same run: packed samples per second, as a ratio to the Swift stream (the anchor).
//
//   swift build -c release --product PythonDataBench && swift build -c release --product LLMOpsStreamC
//   .build/release/PythonDataBench [--size-mb 300] [--seq 1024] [--batch 8] [--rounds 2] [--epochs 2]
//   (scripts/bench-python-data.sh does both)
//
// Python's figures: `fill_into` a reused buffer one batch a call and 256 KiB of batches a call, and iterating
// (`for batch in stream`: a Batch object per batch, read ahead 256 KiB at a time).
// Synthetic uint16 documents of 50-4000 tokens (as StreamBench), one dataset, shuffled windows of 4096. Each
// round measures the Swift stream (16-bit batches, `fill(&CompactBatch)`), then a python3 process over the same
// shards and spec; the best epoch of each side over all rounds counts (the machine is shared: other builds run).
// The first epoch of each stream (it verifies every shard's SHA-256) is not timed.
import BenchmarkSupport
import DataShards
import Foundation

struct Options {
    var sizeMB = 300
    var shardMB = 64
    var sequenceLength = 1024
    var batchSize = 8
    var rounds = 2
    var epochs = 2
    var directory = NSTemporaryDirectory()

    init(_ arguments: [String]) {
        var cursor = OptionCursor(arguments)
        while let option = cursor.nextOption() {
            func value() -> String { cursor.value(orStop: { fatalError($0) }) }
            switch option {
            case "--size-mb": sizeMB = Int(value())!
            case "--seq": sequenceLength = Int(value())!
            case "--batch": batchSize = Int(value())!
            case "--rounds": rounds = Int(value())!
            case "--epochs": epochs = Int(value())!
            case "--dir": directory = value()
            default: fatalError("unknown option \(option); see the top of Benchmarks/PythonDataBench/main.swift")
            }
        }
    }
}

/// Best epoch of the Swift stream in samples per second (wall, and per CPU-second of this process).
func swiftSamplesPerSecond(_ o: Options, dataset: String) throws -> (wall: Double, cpu: Double) {
    let stream = try TokenStream(
        StreamConfiguration(
            sources: [try StreamSource.directory(dataset)], sequenceLength: o.sequenceLength,
            batchSize: o.batchSize, seed: 1))
    let steps = Int(stream.samplesPerEpoch) / o.batchSize
    var batch = CompactBatch(batchSize: o.batchSize, sequenceLength: o.sequenceLength)
    for _ in 0..<steps { try stream.fill(&batch) } // the verifying first epoch
    var best = (wall: 0.0, cpu: 0.0)
    var checksum = 0
    for _ in 0..<o.epochs {
        let (start, startCPU) = (monotonicSeconds(), processCPUSeconds())
        for step in 0..<steps {
            try stream.fill(&batch)
            checksum &+= Int(batch.tokens[step % batch.tokens.count])
        }
        let samples = Double(steps * o.batchSize)
        best = (
            max(best.wall, samples / (monotonicSeconds() - start)),
            max(best.cpu, samples / (processCPUSeconds() - startCPU))
        )
    }
    if checksum == 42 { print("") } // keeps the reads
    return best
}

let pythonDriver = #"""
    import json, sys, time
    from llmops.data import Stream
    o = json.loads(sys.argv[1])
    stream = Stream([o["dataset"]], sequence_length=o["seq"], batch_size=o["batch"], seed=1)
    info = stream.info
    steps = info.samples_per_epoch // info.batch_size
    def clocks():
        return time.perf_counter(), time.process_time()
    def best(run, epochs):
        top = (0.0, 0.0)
        for _ in range(epochs):
            w, c = clocks(); run(); w2, c2 = clocks()
            samples = steps * info.batch_size
            top = (max(top[0], samples / (w2 - w)), max(top[1], samples / max(c2 - c, 1e-9)))
        return top
    def fill(k):
        buffer = bytearray(k * info.batch_bytes)
        def run():
            for _ in range(steps // k):
                stream.fill_into(buffer, k)
        return run
    def iterate():
        checksum = 0
        for n, batch in zip(range(steps), stream):
            checksum += batch.tokens[0, 0]
    chunk = max(1, (256 << 10) // info.batch_bytes)  # batches of 256 KiB a call: they stay in L2
    fill(chunk)()  # the verifying first epoch
    out = {"fill1": best(fill(1), o["epochs"]), "fillChunk": best(fill(chunk), o["epochs"]),
           "iterate": best(iterate, o["epochs"]), "chunk": (chunk, chunk)}
    print(json.dumps(out))
    """#

func pythonSamplesPerSecond(_ o: Options, dataset: String) throws -> [String: (wall: Double, cpu: Double)] {
    let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    let library = executable.deletingLastPathComponent().appendingPathComponent("libLLMOpsStreamC.so").path
    guard FileManager.default.fileExists(atPath: library) else {
        fatalError("\(library) is missing: swift build -c release --product LLMOpsStreamC")
    }
    let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("clients/python").path
    let arguments: [String: Any] = [
        "dataset": dataset, "seq": o.sequenceLength, "batch": o.batchSize, "epochs": o.epochs,
    ]
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [
        "python3", "-c", pythonDriver,
        String(decoding: try JSONSerialization.data(withJSONObject: arguments), as: UTF8.self),
    ]
    var environment = ProcessInfo.processInfo.environment
    environment["PYTHONPATH"] = package
    environment["LLMOPS_STREAM_LIBRARY"] = library
    process.environment = environment
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0,
        let parsed = try JSONSerialization.jsonObject(with: output) as? [String: [Double]]
    else { fatalError("the Python driver failed (status \(process.terminationStatus))") }
    return parsed.mapValues { (wall: $0[0], cpu: $0[1]) }
}

let options = Options(CommandLine.arguments)
let dataset = options.directory + "/python-data-bench-\(getpid())"
defer { try? FileManager.default.removeItem(atPath: dataset) }
try SyntheticCorpus.write(megabytes: options.sizeMB, shardMB: options.shardMB, ids: .onePerID, into: dataset)
var swiftBest = (wall: 0.0, cpu: 0.0)
var pythonBest: [String: (wall: Double, cpu: Double)] = [:]
for round in 1...options.rounds {
    let swift = try swiftSamplesPerSecond(options, dataset: dataset)
    swiftBest = (max(swiftBest.wall, swift.wall), max(swiftBest.cpu, swift.cpu))
    for (name, rate) in try pythonSamplesPerSecond(options, dataset: dataset) {
        let old = pythonBest[name] ?? (0, 0)
        pythonBest[name] = (max(old.wall, rate.wall), max(old.cpu, rate.cpu))
    }
    print("round \(round): swift \(Int(swift.wall)) samples/s")
}
func line(_ label: String, _ rate: (wall: Double, cpu: Double), anchor: (wall: Double, cpu: Double)) {
    let ratio = String(format: "%.2f / %.2f", rate.wall / anchor.wall, rate.cpu / anchor.cpu)
    print(
        label.padding(toLength: 44, withPad: " ", startingAt: 0)
            + String(format: "%10.0f samples/s  %10.0f per cpu-s  ratio (wall / cpu) %@", rate.wall, rate.cpu, ratio))
}
print("\(options.sizeMB) MB of uint16 tokens, T = \(options.sequenceLength), B = \(options.batchSize)")
line("Swift TokenStream.fill(&CompactBatch)", swiftBest, anchor: swiftBest)
line("llmops.data Stream.fill_into(buffer, 1)", pythonBest["fill1"]!, anchor: swiftBest)
line(
    "llmops.data Stream.fill_into(buffer, \(Int(pythonBest["chunk"]!.wall)))", pythonBest["fillChunk"]!,
    anchor: swiftBest)
line("llmops.data for batch in stream", pythonBest["iterate"]!, anchor: swiftBest)
// Per CPU-second is the fair figure on a shared machine (wall time there mostly measures the other processes).
let ratio = pythonBest["iterate"]!.cpu / swiftBest.cpu
print(String(format: "ratio llmops.data iteration / Swift stream (per cpu-s): %.2f (goal >= 0.8)", ratio))

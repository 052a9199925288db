// EngineBench: trains the fixed benchmark GPT (6 layers, 8 heads, width 512, context 256, vocabulary 32k,
// batch 8) and reports ms/step, tokens/s, achieved GFLOP/s against this machine's sgemm peak measured in
// the same run, and the peak memory. Optionally runs the PyTorch reference (torch_reference.py).
//
//   swift run -c release EngineBench [--steps N] [--threads N] [--no-torch] [--small]
import BLAS
import Engine
import Foundation
import Primitives

struct Options {
    var steps = 5
    var threads = ProcessInfo.processInfo.activeProcessorCount
    var torch = true
    var small = false
    var shapes = false

    init(_ arguments: [String]) {
        var i = 1
        while i < arguments.count {
            switch arguments[i] {
            case "--steps":
                i += 1
                steps = max(1, Int(arguments[i]) ?? steps)
            case "--threads":
                i += 1
                threads = Int(arguments[i]) ?? threads
            case "--no-torch": torch = false
            case "--small": small = true
            case "--shapes": shapes = true
            default:
                FileHandle.standardError.write(
                    Data("unknown argument \(arguments[i]); use --steps N --threads N --no-torch --small\n".utf8))
                exit(2)
            }
            i += 1
        }
    }
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
}

/// CPU seconds used by the whole process (all threads): robust to other load on a shared machine.
func processCPUSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}

func maxResidentMegabytes() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024 // KiB on Linux
}

/// Best-of-N large square sgemm, the practical peak of this machine with `threads` threads; also the
/// GFLOP per CPU-second over all repeats (a peak that does not depend on other load on a shared machine).
func sgemmPeak(size n: Int, repeats: Int) -> (wall: Double, perCPUSecond: Double) {
    let a = UnsafeMutablePointer<Float>.allocate(capacity: n * n)
    let b = UnsafeMutablePointer<Float>.allocate(capacity: n * n)
    let c = UnsafeMutablePointer<Float>.allocate(capacity: n * n)
    defer {
        a.deallocate()
        b.deallocate()
        c.deallocate()
    }
    for i in 0..<(n * n) {
        a[i] = Float(i % 7) * 0.01
        b[i] = Float(i % 5) * 0.01
        c[i] = 0
    }
    var best = Double.infinity
    let cpuStart = processCPUSeconds()
    for _ in 0..<repeats {
        best = min(
            best,
            seconds {
                BLAS.sgemm(.none, .none, m: n, n: n, k: n, a: a, lda: n, b: b, ldb: n, c: c, ldc: n)
            })
    }
    let cpu = processCPUSeconds() - cpuStart
    let flops = 2 * Double(n * n * n)
    return (flops / best / 1e9, flops * Double(repeats) / cpu / 1e9)
}

let options = Options(CommandLine.arguments)
let config =
    options.small
    ? GPTConfig(vocabularySize: 4096, contextLength: 128, layers: 2, heads: 4, width: 128)
    : GPTConfig(vocabularySize: 32000, contextLength: 256, layers: 6, heads: 8, width: 512)
let batchSize = options.small ? 4 : 8
let T = config.contextLength
BLAS.threadCount = options.threads

print(
    "EngineBench: \(config.layers) layers, \(config.heads) heads, width \(config.width), context \(T), vocabulary \(config.vocabularySize), batch \(batchSize)"
)
print("threads: \(options.threads)   OpenBLAS: \(BLAS.configuration)")
let peakSize = options.small ? 1024 : 2048
var (peak, peakPerCPU) = sgemmPeak(size: peakSize, repeats: 10)
print(
    String(
        format: "sgemm peak before training (square %d, best of 10): %.1f GFLOP/s wall, %.1f GFLOP per CPU-second",
        peakSize, peak, peakPerCPU))

/// GFLOP/s of one sgemm shape as the engine calls it (row-major, transposes as in the model).
func shapeRate(_ ta: Transpose, _ tb: Transpose, m: Int, n: Int, k: Int, repeats: Int = 3, calls: Int = 1) -> Double {
    let a = UnsafeMutablePointer<Float>.allocate(capacity: m * k)
    let b = UnsafeMutablePointer<Float>.allocate(capacity: k * n)
    let c = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
    defer {
        a.deallocate()
        b.deallocate()
        c.deallocate()
    }
    a.initialize(repeating: 0.01, count: m * k)
    b.initialize(repeating: 0.02, count: k * n)
    c.initialize(repeating: 0, count: m * n)
    var best = Double.infinity
    for _ in 0..<repeats {
        best = min(
            best,
            seconds {
                for _ in 0..<calls {
                    BLAS.sgemm(
                        ta, tb, m: m, n: n, k: k, a: a, lda: ta == .none ? k : m, b: b, ldb: tb == .none ? n : k,
                        beta: 1, c: c, ldc: n)
                }
            })
    }
    return 2 * Double(m * n * k * calls) / best / 1e9
}

if options.shapes {
    let rows = batchSize * T
    let C = config.width
    let V = config.vocabularySize
    for (name, ta, tb, m, n, k, calls) in [
        ("qkv forward  x W^T", Transpose.none, Transpose.transposed, rows, 3 * C, C, 1),
        ("fc forward   x W^T", .none, .transposed, rows, 4 * C, C, 1),
        ("proj forward x W^T", .none, .transposed, rows, C, 4 * C, 1),
        ("head forward x E^T", .none, .transposed, rows, V, C, 1),
        ("head dX = dY E", .none, .none, rows, C, V, 1),
        ("head dE = dY^T X", .transposed, .none, V, C, rows, 1),
        ("fc dW = dY^T X", .transposed, .none, 4 * C, C, rows, 1),
        ("fc dX = dY W", .none, .none, rows, C, 4 * C, 1),
        ("attention QK^T (B*H)", .none, .transposed, T, T, C / config.heads, batchSize * config.heads),
        ("attention PV (B*H)", .none, .none, T, C / config.heads, T, batchSize * config.heads),
    ] {
        print(
            String(
                format: "  %-24@ %5d x %5d x %5d: %6.1f GFLOP/s", name as NSString, m, n, k,
                shapeRate(ta, tb, m: m, n: n, k: k, calls: calls)))
    }
}

do {
    let model = try GPTModel(config: config, seed: 1, threads: options.threads)
    let trainer = try Trainer(
        model: model, optimizer: AdamWConfig(),
        schedule: LearningRateSchedule(peak: 3e-4, warmupSteps: 10, totalSteps: 1000))
    var random = SplitMix64(seed: 7)
    func batch() -> [Int32] {
        (0..<(batchSize * (T + 1))).map { _ in Int32(random.next() % UInt64(config.vocabularySize)) }
    }
    let tokensPerStep = batchSize * T
    let flopsPerStep = config.trainingFlops(tokens: tokensPerStep, sequenceLength: T)
    print("parameters: \(model.parameterCount)   flops/step: \(String(format: "%.1f", flopsPerStep / 1e9)) GFLOP")

    _ = try trainer.trainStep(batch: batch(), batchSize: batchSize) // warm-up (allocates the arena)
    var losses: [Float] = []
    var stepTimes: [Double] = []
    let cpuStart = processCPUSeconds()
    var cpuSampling = 0.0
    for _ in 0..<options.steps {
        let b = batch()
        stepTimes.append(try seconds { losses.append(try trainer.trainStep(batch: b, batchSize: batchSize).loss) })
        // Sample the peak between steps too (not counted in CPU time per step below).
        let cpuBefore = processCPUSeconds()
        peak = max(peak, sgemmPeak(size: peakSize, repeats: 2).wall)
        cpuSampling += processCPUSeconds() - cpuBefore
    }
    let cpuPerStep = (processCPUSeconds() - cpuStart - cpuSampling) / Double(options.steps)
    let b = batch()
    let forward = try seconds { _ = try model.loss(batch: b, batchSize: batchSize) }
    model.zeroGradients()
    let forwardBackward = try seconds { try model.accumulateGradients(batch: b, batchSize: batchSize) }
    // Measure the peak again after training and keep the better one: on a shared machine the load
    // changes during the run, and a low peak would flatter the ratio.
    let (peakAfter, peakPerCPUAfter) = sgemmPeak(size: peakSize, repeats: 10)
    print(
        String(
            format:
                "sgemm peak after training (best of 10): %.1f GFLOP/s wall, %.1f GFLOP per CPU-second; best of all samples %.1f GFLOP/s",
            peakAfter, peakPerCPUAfter, max(peak, peakAfter)))
    peak = max(peak, peakAfter)
    peakPerCPU = max(peakPerCPU, peakPerCPUAfter)
    let median = stepTimes.sorted()[stepTimes.count / 2]
    let mean = stepTimes.reduce(0, +) / Double(stepTimes.count)
    let achieved = flopsPerStep / median / 1e9
    let best = stepTimes.min()!
    print(
        String(
            format:
                "engine: %.1f ms/step (median of %d, mean %.1f, best %.1f)   %.0f tokens/s   %.1f GFLOP/s = %.0f%% of sgemm peak (best step %.0f%%)",
            median * 1000, stepTimes.count, mean * 1000, best * 1000, Double(tokensPerStep) / median, achieved,
            100 * achieved / peak, 100 * flopsPerStep / best / 1e9 / peak))
    let perCPU = flopsPerStep / cpuPerStep / 1e9
    print(
        String(
            format:
                "  CPU time %.2f s/step (all threads; wall x threads = %.2f): %.1f GFLOP per CPU-second = %.0f%% of sgemm's",
            cpuPerStep, median * Double(options.threads), perCPU, 100 * perCPU / peakPerCPU))
    print(
        String(
            format: "  forward only %.1f ms, forward+backward %.1f ms, loss %.3f -> %.3f",
            forward * 1000, forwardBackward * 1000, losses.first ?? 0, losses.last ?? 0))
    print(String(format: "max RSS: %.0f MB", maxResidentMegabytes()))
} catch {
    print("EngineBench failed: \(error)")
    exit(1)
}

fflush(nil) // flush all streams: our lines first, then the child's
if options.torch {
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "torch_reference.py"
    ).path
    let check = Process()
    check.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    check.arguments = ["python3", "-c", "import torch"]
    check.standardError = FileHandle.nullDevice
    try? check.run()
    check.waitUntilExit()
    if check.terminationStatus != 0 {
        print("torch reference: skipped (python3 cannot import torch; `pip install torch` to compare)")
    } else {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", script, "--steps", String(options.steps), "--threads", String(options.threads),
            "--layers", String(config.layers), "--heads", String(config.heads), "--width", String(config.width),
            "--context", String(T), "--vocab", String(config.vocabularySize), "--batch", String(batchSize),
        ]
        do {
            try process.run()
            process.waitUntilExit()
        } catch {
            print("torch reference: could not start python3: \(error)")
        }
    }
}

// DiLoCoBench: DiLoCo against one worker on the sample pipeline's real text (the Python documentation
// sources Debian's python3-doc ships, tokenized with a 2048-token BPE as manifests/pipeline.yaml does),
// same tokens, same steps, and both validation losses on the SAME held-out samples.
//
//   swift run -c release DiLoCoBench [--steps 1500] [--members 2] [--batch 8] [--inner 4] [--outer-lr 1]
//        [--momentum 0] [--transfer sign|int4|bf16|fp32] [--mode both|single|diloco] [--seed 7]
//        [--eval-every 500] [--eval-samples 512] [--threads 1] [--data /tmp/diloco-bench]
//        [--bytes --layers 2 --heads 2 --width 32 --context 32 --warmup 10 --seed 11 --steps 600 ...]
//
// The defaults are the train job's (sign deltas with error feedback, H = 4, outer lr 1, no outer momentum) at
// the sample pipeline's model, batch, learning rate and steps; the paper's setting the pipeline used before is
// `--inner 50 --transfer bf16 --outer-lr 0.7 --momentum 0.9`. The single worker reads batch members·batch per
// step, so both runs see exactly the same samples of the one global order (members take consecutive blocks of
// it); the DiLoCo run is the engine's own loop (DiLoCo.encode/decode with PseudoGradientEncoder, average,
// OuterNesterovSGD, one Trainer per member whose AdamW state stays local) without the files of a gang, so
// it computes what DiLoCoTraining computes. `--bytes` with the options above is the setting of
// TrainDiLoCoTests (UTF-8 bytes of the tutorial). The datasets are built once into --data (a few seconds).
// Wall time on the shared 2-core machine: 1,500 steps ≈ 4 min a run, `both` ≈ 8-11 min.
import BenchmarkSupport
import DataShards
import Engine
import Foundation

struct Options {
    var steps = 1500
    var members = 2
    var batch = 8
    var inner = 4
    var outerLearningRate: Float = 1
    var momentum: Float = 0
    var transfer = PseudoGradientFormat.sign
    var mode = "both"
    var evalEvery = 500 // a multiple of H = 4 and H = 50, so both runs are measured at the same steps
    var evalSamples = 512 // 64 (the pipeline's 4 x 16) and 512 differ by up to 0.04 on one model (500 steps)
    var threads = 1
    var data = "/tmp/diloco-bench"
    var learningRate: Float = 3e-3
    var warmup = 20
    var seed: UInt64 = 7
    var resetInner = false
    var diagnose = false
    var layers = 2, width = 128, context = 64, heads = 4
    /// UTF-8 bytes of the tutorial (vocabulary 256) instead of the BPE pipeline data: the test's setting.
    var bytes = false

    init(_ arguments: [String]) {
        var cursor = OptionCursor(arguments)
        while let option = cursor.nextOption() {
            func value() -> String { cursor.value(orStop: fail) }
            switch option {
            case "--steps": steps = Int(value()) ?? steps
            case "--members": members = Int(value()) ?? members
            case "--batch": batch = Int(value()) ?? batch
            case "--inner": inner = Int(value()) ?? inner
            case "--outer-lr": outerLearningRate = Float(value()) ?? outerLearningRate
            case "--momentum": momentum = Float(value()) ?? momentum
            case "--transfer":
                let name = value()
                guard let format = PseudoGradientFormat(rawValue: name) else {
                    fail("--transfer: one of fp32, bf16, int4, sign, got \(name)")
                }
                transfer = format
            case "--mode": mode = value()
            case "--eval-every": evalEvery = Int(value()) ?? evalEvery
            case "--eval-samples": evalSamples = Int(value()) ?? evalSamples
            case "--threads": threads = Int(value()) ?? threads
            case "--data": data = value()
            case "--lr": learningRate = Float(value()) ?? learningRate
            case "--warmup": warmup = Int(value()) ?? warmup
            case "--seed": seed = UInt64(value()) ?? seed
            case "--reset-inner": resetInner = true
            case "--diagnose": diagnose = true
            case "--layers": layers = Int(value()) ?? layers
            case "--width": width = Int(value()) ?? width
            case "--context": context = Int(value()) ?? context
            case "--heads": heads = Int(value()) ?? heads
            case "--bytes": bytes = true
            default: fail("unknown argument \(option)")
            }
        }
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("DiLoCoBench: \(message)\n".utf8))
    exit(2)
}

func say(_ message: String) {
    print(message)
    fflush(nil) // lines appear as the runs go (stdout is a pipe when logged)
}

// MARK: Data (as manifests/pipeline.yaml: BPE 2048, gpt2 split, 4 MB sample, one document per file, 16 files a shard)

enum PyDocs {
    static func sourcesRoot() -> String {
        let base = "/usr/share/doc"
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []).filter {
            $0.hasPrefix("python3")
        }.sorted()
        for name in names where FileManager.default.fileExists(atPath: "\(base)/\(name)/html/_sources/library") {
            return "\(base)/\(name)/html/_sources"
        }
        fail("no python3-doc sources under /usr/share/doc/python3*/html/_sources (apt-get install python3-doc)")
    }

    static func files(_ root: String, _ folders: [String]) -> [String] {
        folders.flatMap { folder -> [String] in
            let dir = "\(root)/\(folder)"
            return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".txt") }
                .sorted().map { "\(dir)/\($0)" }
        }
    }

    /// The tokenize-train job's file order (FNV-1a of the names seeds a Fisher–Yates shuffle).
    static func sampleOrder(_ files: [String]) -> [String] { FileSampleOrder.shuffled(files) }

    static func text(_ path: String) -> String {
        guard let data = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
        return String(decoding: data, as: UTF8.self)
    }

    /// `<data>/pydocs` and `<data>/pydocs-heldout`, built once.
    static func prepare(_ directory: String) throws -> (train: String, heldOut: String) {
        let train = "\(directory)/pydocs"
        let heldOut = "\(directory)/pydocs-heldout"
        let tokenizerPath = "\(train)/tokenizer.json"
        if FileManager.default.fileExists(atPath: "\(train)/index.json"),
            FileManager.default.fileExists(atPath: "\(heldOut)/index.json")
        {
            return (train, heldOut)
        }
        try? FileManager.default.removeItem(atPath: train)
        try? FileManager.default.removeItem(atPath: heldOut)
        try FileManager.default.createDirectory(atPath: train, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: heldOut, withIntermediateDirectories: true)
        let root = sourcesRoot()
        let trainFiles = files(root, ["library", "reference", "tutorial", "faq", "using"])
        let heldOutFiles = files(root, ["howto"])
        say("data: \(trainFiles.count) training files, \(heldOutFiles.count) held-out files under \(root)")
        var trainer = try BPETrainer(vocabularySize: 2048, specialTokens: ["<|endoftext|>"], splitPattern: .gpt2)
        var sampled = 0
        for file in sampleOrder(trainFiles) {
            let text = text(file)
            trainer.add(text)
            sampled += text.utf8.count
            if sampled >= 4_000_000 { break }
        }
        let tokenizer = try trainer.train()
        try tokenizer.save(to: tokenizerPath)
        say("data: tokenizer trained on \(sampled) bytes")
        try write(trainFiles, name: "pydocs", to: train, tokenizer: tokenizer, filesPerShard: 16)
        try write(heldOutFiles, name: "pydocs-heldout", to: heldOut, tokenizer: tokenizer, filesPerShard: 8)
        return (train, heldOut)
    }

    /// `<data>/tutorial-bytes` (the tutorial's UTF-8 bytes, eot 0) and `<data>/howto-bytes` (two HOWTOs).
    static func prepareBytes(_ directory: String) throws -> (train: String, heldOut: String) {
        let root = sourcesRoot()
        let train = "\(directory)/tutorial-bytes"
        let heldOut = "\(directory)/howto-bytes"
        for (path, files) in [
            (train, Self.files(root, ["tutorial"])), (heldOut, Array(Self.files(root, ["howto"]).prefix(2))),
        ]
        where !FileManager.default.fileExists(atPath: "\(path)/index.json") {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            let template = DatasetIndex(
                name: (path as NSString).lastPathComponent, tokenizerHash: "bytes", vocabularySize: 256, endOfTextID: 0)
            let writer = try ShardWriter(directory: path, name: "shard-00000", dtype: template.dtype, endOfTextID: 0)
            for file in files { try writer.appendDocument(Array(text(file).utf8).map { Int($0) }) }
            let info = try writer.finish()
            try DatasetIndex.update(directory: path, creatingFrom: template) {
                (index: inout DatasetIndex) throws(DatasetIndexError) in try index.record(info)
            }
            say("data: \(path): \(info.tokens) bytes")
        }
        return (train, heldOut)
    }

    static func write(_ files: [String], name: String, to directory: String, tokenizer: Tokenizer, filesPerShard: Int)
        throws
    {
        guard let eot = tokenizer.id(of: "<|endoftext|>") else { fail("the tokenizer has no <|endoftext|>") }
        let template = DatasetIndex(
            name: name, tokenizerHash: tokenizer.hash, vocabularySize: tokenizer.vocabularySize, endOfTextID: eot)
        let encoder = tokenizer.makeEncoder()
        var seen = Set<String>()
        var tokens: Int64 = 0
        for (shard, start) in stride(from: 0, to: files.count, by: filesPerShard).enumerated() {
            let writer = try ShardWriter(
                directory: directory, name: String(format: "shard-%05d", shard), dtype: template.dtype, endOfTextID: eot
            )
            for file in files[start..<min(files.count, start + filesPerShard)] {
                let text = text(file)
                guard seen.insert(text).inserted else { continue } // exact dedup, as `dedup: true`
                try writer.appendDocument(encoder.encode(text))
            }
            let info = try writer.finish()
            tokens += info.tokens
            try DatasetIndex.update(directory: directory, creatingFrom: template) {
                (index: inout DatasetIndex) throws(DatasetIndexError) in
                try index.record(info)
            }
        }
        say("data: \(name): \(tokens) tokens")
    }
}

// MARK: Runs

let options = Options(CommandLine.arguments)
let (trainPath, heldOutPath) = options.bytes ? try PyDocs.prepareBytes(options.data) : try PyDocs.prepare(options.data)
let source = try StreamSource.directory(trainPath)
let config = GPTConfig(
    vocabularySize: options.bytes ? 256 : 2048, contextLength: options.context, layers: options.layers,
    heads: options.heads, width: options.width)
let T = options.context
let schedule = LearningRateSchedule(
    peak: options.learningRate, floor: options.learningRate / 10,
    warmupSteps: min(options.warmup, options.steps - 1), totalSteps: options.steps, decay: .cosine)
let optimizer = AdamWConfig()
let globalBatch = options.members * options.batch

/// The held-out samples both runs are measured on: the first `evalSamples` of the held-out order (seed + 1,
/// as TrainingPlan.evaluationStream), in batches of 16 rows.
let heldOut: [[Int32]] = try {
    let stream = try TokenStream(
        StreamConfiguration(
            sources: [try StreamSource.directory(heldOutPath)], sequenceLength: T,
            batchSize: 16, seed: options.seed &+ 1))
    return try (0..<max(1, options.evalSamples / 16)).map { _ in try stream.nextBatch().tokens }
}()

func validationLoss(_ model: GPTModel) throws -> Double {
    var total = 0.0
    for batch in heldOut { total += Double(try model.loss(batch: batch, batchSize: 16)) }
    return total / Double(heldOut.count)
}

func trainingStream(rank: Int, worldSize: Int, batch: Int) throws -> TokenStream {
    try TokenStream(
        StreamConfiguration(
            sources: [source], sequenceLength: T, batchSize: batch, seed: options.seed, rank: rank, worldSize: worldSize
        ))
}

func elapsed(since start: ContinuousClock.Instant) -> Double {
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
}

/// One worker, batch members·batch: what exchanging gradients every step (synchronous data parallelism) computes.
func single() throws -> [Int: Double] {
    let model = try GPTModel(config: config, seed: options.seed, threads: options.threads)
    let trainer = try Trainer(model: model, optimizer: optimizer, schedule: schedule)
    let stream = try trainingStream(rank: 0, worldSize: 1, batch: globalBatch)
    var losses: [Int: Double] = [:]
    let start = ContinuousClock.now
    while trainer.step < options.steps {
        _ = try trainer.trainStep(batch: try stream.nextBatch().tokens, batchSize: globalBatch)
        if trainer.step % options.evalEvery == 0 || trainer.step == options.steps {
            losses[trainer.step] = try validationLoss(model)
            say(
                String(
                    format: "single  step %5d val %.4f  (%.0f s)", trainer.step, losses[trainer.step]!,
                    elapsed(since: start)))
        }
    }
    return losses
}

/// `members` DiLoCo members, each its own model, AdamW and rank of the stream; the outer step on the mean.
func diloco() throws -> (losses: [Int: Double], bytesSent: Int64) {
    let H = options.inner
    let M = options.members
    let initial = try GPTModel(config: config, seed: options.seed, threads: options.threads)
    var global = initial.parameterVector()
    let trainers = try (0..<M).map { _ in
        try Trainer(
            model: try GPTModel(config: config, seed: options.seed, threads: options.threads), optimizer: optimizer,
            schedule: schedule)
    }
    let streams = try (0..<M).map { try trainingStream(rank: $0, worldSize: M, batch: options.batch) }
    let outer = try OuterNesterovSGD(
        parameterCount: global.count, learningRate: options.outerLearningRate, momentum: options.momentum)
    var losses: [Int: Double] = [:]
    var bytesSent: Int64 = 0
    let encoders = (0..<M).map { _ in PseudoGradientEncoder(format: options.transfer, parameterCount: global.count) }
    let start = ContinuousClock.now
    var done = 0
    while done < options.steps {
        let steps = min(H, options.steps - done)
        var deltas: [[Float]] = []
        for (m, (trainer, stream)) in zip(trainers, streams).enumerated() {
            try trainer.model.setParameterVector(global)
            if options.resetInner { trainer.optimizer.reset() }
            trainer.step = done
            for _ in 0..<steps {
                _ = try trainer.trainStep(batch: try stream.nextBatch().tokens, batchSize: options.batch)
            }
            let wire = try encoders[m].encode(
                try DiLoCo.pseudoGradient(global: global, local: trainer.model.parameterVector()))
            bytesSent += Int64(wire.bytes.count)
            deltas.append(try DiLoCo.decode(wire.bytes, count: global.count, as: options.transfer))
        }
        var memberLosses: [Double] = []
        if options.diagnose { memberLosses = try trainers.map { try validationLoss($0.model) } }
        let mean = try DiLoCo.average(deltas)
        try outer.step(global: &global, pseudoGradient: mean)
        done += steps
        if options.diagnose {
            try initial.setParameterVector(global)
            let norm = { (v: [Float]) in v.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot() }
            say(
                String(
                    format: "round %3d: members %@ -> global %.4f  |delta| %@ |mean| %.4f |v| %.4f", done / H,
                    memberLosses.map { String(format: "%.4f", $0) }.joined(separator: " "), try validationLoss(initial),
                    deltas.map { String(format: "%.4f", norm($0)) }.joined(separator: " "), norm(mean),
                    norm(outer.velocity)))
        }
        if done % options.evalEvery == 0 || done == options.steps {
            try initial.setParameterVector(global)
            losses[done] = try validationLoss(initial)
            say(String(format: "diloco  step %5d val %.4f  (%.0f s)", done, losses[done]!, elapsed(since: start)))
        }
    }
    return (losses, bytesSent)
}

say(
    "model \(config.parameterCount) parameters; \(options.steps) steps; single batch \(globalBatch) vs \(options.members) members x batch \(options.batch), H=\(options.inner), outer lr \(options.outerLearningRate) momentum \(options.momentum), \(options.transfer.rawValue); lr \(options.learningRate) warmup \(options.warmup); \(heldOut.count * 16) held-out samples"
)
var singleLosses: [Int: Double] = [:]
var dilocoLosses: [Int: Double] = [:]
var sent: Int64 = 0
if options.mode != "diloco" { singleLosses = try single() }
if options.mode != "single" { (dilocoLosses, sent) = try diloco() }
if options.mode == "both" {
    for step in singleLosses.keys.sorted() {
        guard let s = singleLosses[step], let d = dilocoLosses[step] else { continue }
        say(String(format: "step %5d: one worker %.4f, DiLoCo %.4f (%+.1f%%)", step, s, d, (d / s - 1) * 100))
    }
    // Each member sends its delta and receives the other members' (DiLoCoTraining: every member applies the
    // outer step itself); exchanging fp32 gradients, it would send one and receive one mean every step.
    let gradientBytes = Int64(options.steps) * Int64(options.members) * Int64(config.parameterCount) * 4
    let received = sent * Int64(options.members - 1)
    say(
        "bytes sent \(sent), received \(received) vs \(gradientBytes) each for fp32 gradients every step (\(String(format: "%.0f", Double(gradientBytes) / Double(max(1, sent))))x, \(String(format: "%.0f", Double(gradientBytes) / Double(max(1, received))))x fewer)"
    )
}

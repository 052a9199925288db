// `opsctl generate`: loads a checkpoint and continues a prompt, on this machine.

import Engine
import Foundation
import Workers

enum GenerateCommand: OpsCommand {
    static let maxTokens = TypedOption(
        "max-tokens", value: "N", help: "tokens to generate", default: 100, parser: .integer(in: 1...100_000))
    static let temperature = TypedOption(
        "temperature", value: "T", help: "sampling temperature; 0 = greedy", default: Float(0.8), parser: .nonNegative)
    static let topK = TypedOption(
        "top-k", value: "K", help: "sample among the K most likely tokens; 0 = all", default: 40, parser: .integer())
    static let seed = TypedOption(
        "seed", value: "N", help: "sampling seed (same seed, same text)", default: 0, parser: .integer())
    static let threads = TypedOption(
        "threads", value: "N", help: "compute threads", default: 1, parser: .integer(in: 1...256))

    static let spec = CommandSpec(
        "generate", summary: "Sample text from a checkpoint, locally (no cluster needed)",
        options: [
            OptionSpec(
                "checkpoint", value: "PATH",
                help:
                    "a .safetensors checkpoint (of a train job): a path, or its stored location (cp://blobs/…, s3://…)"),
            OptionSpec(
                "tokenizer", value: "PATH",
                help:
                    "tokenizer.json the model was trained with, a path or a stored location (default: UTF-8 bytes, vocabulary 256)"
            ),
            OptionSpec("prompt", value: "TEXT", help: "the text to continue"),
            maxTokens.spec,
            temperature.spec,
            topK.spec,
            seed.spec,
            threads.spec,
        ],
        discussion:
            "Example: opsctl generate --checkpoint ckpt.safetensors --tokenizer tokenizer.json --prompt 'The ' --max-tokens 50"
    )

    static func run(_ settings: Settings) throws -> Int32 {
        guard let checkpointLocation = settings.string("checkpoint") else {
            throw SettingsError("generate: --checkpoint PATH is required")
        }
        guard let prompt = settings.string("prompt"), !prompt.isEmpty else {
            throw SettingsError("generate: --prompt TEXT is required (non-empty)")
        }
        let maxTokens = try settings.value(Self.maxTokens)
        let topK = try settings.value(Self.topK)
        let seed = try settings.value(Self.seed)
        let threads = try settings.value(Self.threads)
        let temperature = try settings.value(Self.temperature)
        let checkpoint: Checkpoint
        do {
            checkpoint = try Checkpoint(path: try StoredFiles.localPath(checkpointLocation, settings: settings))
        } catch {
            Output.error("cannot open the checkpoint: \(error)")
            return 1
        }
        let model = try checkpoint.loadModel(threads: threads)
        let codec = try TextCodec(
            tokenizerPath: try settings.string("tokenizer").map { try StoredFiles.localPath($0, settings: settings) })
        let ids = codec.encode(prompt)
        if let bad = ids.first(where: { Int($0) >= model.config.vocabularySize }) {
            Output.error(
                "the prompt encodes to token \(bad), outside the model's vocabulary of \(model.config.vocabularySize); pass the --tokenizer the model was trained with"
            )
            return 1
        }
        let options = SamplingOptions(
            temperature: temperature, topK: topK > 0 ? topK : nil, seed: UInt64(seed), maxNewTokens: maxTokens)
        let generated = try model.generate(prompt: Array(ids.suffix(model.config.contextLength)), options: options)
        print(prompt + codec.decode(generated))
        return 0
    }
}

// `opsctl generate`: loads a checkpoint and continues a prompt, on this machine.

import Engine
import Foundation
import Workers

enum GenerateCommand {
    static func run(_ settings: Settings) throws -> Int32 {
        guard let path = settings.string("checkpoint") else { throw SettingsError("generate: --checkpoint PATH is required") }
        guard let prompt = settings.string("prompt"), !prompt.isEmpty else { throw SettingsError("generate: --prompt TEXT is required (non-empty)") }
        let maxTokens = try settings.int("max-tokens", default: 100, range: 1...100_000)
        let topK = try settings.int("top-k", default: 40)
        let seed = try settings.int("seed", default: 0)
        let threads = try settings.int("threads", default: 1, range: 1...256)
        let temperatureText = settings.string("temperature") ?? "0.8"
        guard let temperature = Float(temperatureText), temperature >= 0, temperature.isFinite else {
            throw SettingsError("--temperature: expected a number >= 0, got '\(temperatureText)'")
        }
        let checkpoint: Checkpoint
        do { checkpoint = try Checkpoint(path: path) } catch {
            Output.error("cannot open the checkpoint: \(error)")
            return 1
        }
        let model = try checkpoint.loadModel(threads: threads)
        let codec = try TextCodec(tokenizerPath: settings.string("tokenizer"))
        let ids = codec.encode(prompt)
        if let bad = ids.first(where: { Int($0) >= model.config.vocabularySize }) {
            Output.error("the prompt encodes to token \(bad), outside the model's vocabulary of \(model.config.vocabularySize); pass the --tokenizer the model was trained with")
            return 1
        }
        let options = SamplingOptions(temperature: temperature, topK: topK > 0 ? topK : nil, seed: UInt64(seed), maxNewTokens: maxTokens)
        let generated = try model.generate(prompt: Array(ids.suffix(model.config.contextLength)), options: options)
        print(prompt + codec.decode(generated))
        return 0
    }
}

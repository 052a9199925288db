// `opsctl export --format hf OUT`: a checkpoint of a train job as a Hugging Face GPT-2 directory (config.json,
// model.safetensors, tokenizer.json), on this machine. The checkpoint is a path, a stored location as `opsctl get
// artifacts` lists it, or the newest checkpoint artifact of a job (`--job`); the writing is `HuggingFaceExport`.

import APIClient
import APITypes
import Foundation
import Workers

/// The formats `opsctl export` writes.
enum ExportFormat: String, CaseIterable, Sendable {
    /// Hugging Face transformers' GPT-2 (`GPT2LMHeadModel`, `PreTrainedTokenizerFast`).
    case hf
}

enum ExportCommand: OpsCommand {
    static let format = TypedOption(
        "format", value: "FORMAT", help: "what to write: hf (Hugging Face GPT-2)", default: ExportFormat.hf,
        parser: .choice())

    static let spec = CommandSpec(
        "export", summary: "Write a checkpoint in another ecosystem's format (Hugging Face), locally",
        positionals: [PositionalSpec("OUT", help: "the directory to write (created; replaced only with --force)")],
        options: [
            OptionSpec(
                "checkpoint", value: "PATH",
                help: "a .safetensors checkpoint of a train job: a path, or its stored location (cp://blobs/…, s3://…)"),
            OptionSpec(
                "job", value: "NAME", help: "instead of --checkpoint: the newest checkpoint artifact of job NAME"),
            OptionSpec(
                "tokenizer", value: "PATH",
                help:
                    "tokenizer.json the model's data was tokenized with, a path or a stored location (default: UTF-8 bytes, for a vocabulary of 256)"
            ),
            format.spec,
            OptionSpec("force", help: "replace OUT when it exists and is not empty"),
        ],
        discussion:
            "Example: opsctl export --job pretrain --tokenizer tokenizer.json --format hf gpt2-out/; then in Python: GPT2LMHeadModel.from_pretrained(\"gpt2-out\")"
    )

    static func run(_ settings: Settings) async throws -> Int32 {
        _ = try settings.value(Self.format)
        let output = settings.parsed.positionals[0]
        let location = try await checkpointLocation(settings)
        let summary: HuggingFaceExport.Summary
        do {
            summary = try HuggingFaceExport.export(
                checkpointPath: try StoredFiles.localPath(location, settings: settings), location: location,
                tokenizerPath: try settings.string("tokenizer").map {
                    try StoredFiles.localPath($0, settings: settings)
                },
                to: output, force: settings.parsed.flag("force"))
        } catch let error as HuggingFaceExportError {
            Output.error("export: \(error)")
            return 1
        }
        let c = summary.config
        print(
            "exported step \(summary.step) of \(location) (GPT-2: \(c.layers) layers, \(c.heads) heads, width \(c.width), vocabulary \(c.vocabularySize), context \(c.contextLength)) to \(output): \(summary.files.joined(separator: ", "))"
        )
        if !summary.hasTrainedTokenizer {
            print("tokenizer.json maps each UTF-8 byte to its own id (a byte-level model)")
        }
        return 0
    }

    /// `--checkpoint` as given, or the location of `--job`'s newest checkpoint artifact (highest step).
    private static func checkpointLocation(_ settings: Settings) async throws -> String {
        let checkpoint = settings.string("checkpoint")
        let job = settings.string("job")
        if let checkpoint, job == nil { return checkpoint }
        guard let job, checkpoint == nil else {
            throw SettingsError("export: give exactly one of --checkpoint PATH and --job NAME")
        }
        let artifacts = try await makeOpsClient(settings).artifacts(job: job)
        let checkpoints = artifacts.filter { $0.kind == "checkpoint" }
        guard
            let newest = checkpoints.max(by: {
                ($0.metadata?["step"]?.intValue ?? -1) < ($1.metadata?["step"]?.intValue ?? -1)
            })
        else {
            throw SettingsError(
                "export: job \(job) has no checkpoint artifact (`opsctl get artifacts \(job)` lists what it has)")
        }
        return newest.location
    }
}

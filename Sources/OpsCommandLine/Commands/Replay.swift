import APIClient
import APITypes
import Foundation

/// `opsctl replay JOB --step N [--rank R]`: the documents one training step read (docs/lineage.md), recomputed
/// from the run's recorded stream state, with the batch checksum the run reported beside the replayed one.
enum ReplayCommand: OpsCommand {
    static let step = TypedOption(
        "step", value: "N", help: "the optimizer step to replay (1 = the first)", default: 0,
        parser: .integer(in: 1...Int(Int32.max)), defaultDescription: "required")
    static let rank = TypedOption(
        "rank", value: "R", help: "the member of a DiLoCo gang", default: 0, parser: .integer(in: 0...Int(Int32.max)))

    static let spec = CommandSpec(
        "replay", summary: "Print the documents (file, line, text) that made up one training step's batch",
        positionals: [PositionalSpec("JOB", help: "the train job")],
        options: [step.spec, rank.spec, OpsCommands.output.spec],
        discussion:
            "Exits 1 when the replayed tokens' checksum differs from the one the run reported at that step.\n"
            + "Example: opsctl replay pretrain --step 1200")

    static func run(_ settings: Settings) async throws -> Int32 {
        let format = try settings.value(OpsCommands.output)
        let step = try settings.value(Self.step)
        guard step >= 1 else { throw SettingsError("replay: --step N is required (the optimizer step, 1 = the first)") }
        let batch = try await makeOpsClient(settings).replay(
            job: settings.parsed.positionals[0], step: step, rank: try settings.value(Self.rank))
        let matches = batch.recordedChecksum.map { $0 == batch.replayedChecksum } ?? true
        if format.isStructured {
            try Output.printStructured(batch, as: format)
        } else {
            print(render(batch), terminator: "")
        }
        return matches ? 0 : 1
    }

    static func render(_ batch: ReplayedBatch) -> String {
        let from = batch.fromCheckpoint.map { "the stream state of checkpoint \($0)" } ?? "the start of the stream"
        let replayed = hex(batch.replayedChecksum)
        let check: String
        switch batch.recordedChecksum {
        case .none: check = "batch checksum \(replayed) (the run recorded none at this step)"
        case .some(let recorded) where recorded == batch.replayedChecksum:
            check = "batch checksum \(replayed) = what the run trained on"
        case .some(let recorded):
            check = "batch checksum \(replayed) DIFFERS from the run's \(hex(recorded)): the data changed since"
        }
        var out =
            "job \(batch.job) step \(batch.step) rank \(batch.rank): \(batch.samples.count) samples from \(from)\n"
        out += check + "\n"
        for sample in batch.samples {
            out +=
                "\nsample \(sample.row) of micro-batch \(sample.microbatch) (global position \(sample.globalPosition))\n"
            for piece in sample.pieces {
                let origin = piece.file.map { "\($0):\(piece.line.map(String.init) ?? "?")" } ?? "(no recorded source)"
                let range = "tokens \(piece.tokenOffset)..<\(piece.tokenOffset + piece.tokens)"
                out += "  \(origin)  \(piece.dataset) shard \(piece.shard) document \(piece.document) \(range)\n"
                out += "    \(quoted(piece.excerpt))\n"
            }
        }
        return out
    }

    private static func hex(_ value: Int64) -> String { "0x" + String(value, radix: 16) }

    /// The excerpt on one line: newlines and tabs shown escaped.
    private static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\t", with: "\\t") + "\""
    }
}

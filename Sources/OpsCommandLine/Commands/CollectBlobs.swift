import APIClient
import APITypes

/// `opsctl collect-blobs`: one garbage-collection pass of the cluster's blobs now (`POST /v1/storage/collect`),
/// the same pass `serve` runs every `--blob-gc-interval`.
enum CollectBlobsCommand: OpsCommand {
    static let spec = CommandSpec(
        "collect-blobs",
        summary:
            "Delete blobs no artifact, shard or exchange references, older than the grace period (--blob-gc-grace)",
        options: [OpsCommands.output.spec])

    static func run(_ settings: Settings) async throws -> Int32 {
        let format = try settings.value(OpsCommands.output)
        let report = try await makeOpsClient(settings).requester.call(
            APIRoute.collectBlobs.request(), timeoutSeconds: 600, as: BlobCollectionReport.self)
        if format.isStructured {
            try Output.printStructured(report, as: format)
            return 0
        }
        print(
            "\(report.backend.rawValue): examined \(report.examined) blob(s); deleted \(report.deleted) "
                + "(\(Quantity.formatBytes(report.deletedBytes))); kept \(report.referenced) referenced and "
                + "\(report.young) younger than \(Int(report.graceSeconds)) s; \(report.expiredUploads) expired upload(s)"
        )
        return 0
    }
}

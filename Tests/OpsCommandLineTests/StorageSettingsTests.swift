import APITypes
import Control
import XCTest

@testable import OpsCommandLine

/// `opsctl serve --storage`: blob by default; s3 needs a bucket and this process's own credentials, and the
/// summary `serve` logs shows the access key ID, never the secret.
final class StorageSettingsTests: XCTestCase {
    private let base = [
        "OPS_DATABASE_URL": "postgresql://ops@127.0.0.1:5432/ops", "OPS_ADMIN_TOKEN": "a", "OPS_JOIN_TOKEN": "j",
        "HOME": "/nonexistent-home",
    ]

    private func configuration(_ arguments: String, _ extra: [String: String] = [:]) throws -> ControlPlaneConfiguration
    {
        try Settings(
            parsed: try OpsCommands.parser.parse(arguments.split(separator: " ").map(String.init)),
            environment: base.merging(extra) { _, new in new }
        ).controlPlaneConfiguration()
    }

    func testBlobIsTheDefaultAndS3NeedsBucketAndCredentials() throws {
        let blob = try configuration("serve --blob-gc-grace 120")
        XCTAssertEqual(blob.storage.description, .blob)
        XCTAssertEqual(blob.storage.garbageGraceSeconds, 120)
        XCTAssertEqual(blob.storage.garbageIntervalSeconds, 600)

        XCTAssertThrowsError(try configuration("serve --storage s3")) { error in
            XCTAssertTrue("\(error)".contains("--s3-bucket"), "\(error)")
        }
        XCTAssertThrowsError(try configuration("serve --storage s3 --s3-bucket data")) { error in
            XCTAssertTrue("\(error)".contains("AWS_ACCESS_KEY_ID"), "\(error)")
        }
        XCTAssertThrowsError(try configuration("serve --storage azure")) { error in
            XCTAssertTrue("\(error)".contains("blob or s3"), "\(error)")
        }
        let keys = ["AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "very-secret"]
        XCTAssertThrowsError(
            try configuration("serve --storage s3 --s3-bucket data --s3-endpoint ftp://x", keys))
        let s3 = try configuration(
            "serve --storage s3 --s3-bucket data --s3-endpoint http://127.0.0.1:9000 --s3-prefix /team/a/", keys)
        XCTAssertEqual(
            s3.storage.description,
            StorageDescription(
                backend: .s3,
                s3: S3StorageDescription(
                    endpoint: "http://127.0.0.1:9000", region: "us-east-1", bucket: "data", keyPrefix: "team/a")))
        XCTAssertEqual(s3.storage.description.s3?.blobKey("ab"), "team/a/blobs/ab")
        let summary = ServeCommand.summary(s3)
        XCTAssertTrue(
            summary.hasSuffix("storage s3 http://127.0.0.1:9000 data/team/a (access key AKIAEXAMPLE)"), summary)
        XCTAssertFalse(summary.contains("very-secret"))
    }
}

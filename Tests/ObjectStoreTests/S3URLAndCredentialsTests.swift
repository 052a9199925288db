import XCTest

@testable import ObjectStore

final class S3URLAndCredentialsTests: XCTestCase {
    func testParsesBucketAndKey() throws {
        let url = try S3URL("s3://my-bucket.data/shards/part-0001.bin")
        XCTAssertEqual(url.bucket, "my-bucket.data")
        XCTAssertEqual(url.key, "shards/part-0001.bin")
        XCTAssertEqual(url.description, "s3://my-bucket.data/shards/part-0001.bin")
    }

    func testRejectsMalformedURLsNamingWhatWasExpected() {
        let cases: [(String, S3URLError)] = [
            ("https://bucket/key", .notS3("https://bucket/key")),
            ("s3://bucket", .missingKey("s3://bucket")),
            ("s3://bucket/", .missingKey("s3://bucket/")),
            ("s3://Bucket_1/key", .invalidBucket("s3://Bucket_1/key", bucket: "Bucket_1")),
            ("s3://ab/key", .invalidBucket("s3://ab/key", bucket: "ab")),
            ("s3://-bucket/key", .invalidBucket("s3://-bucket/key", bucket: "-bucket")),
            ("s3://bucket/key?versionId=3", .queryOrFragment("s3://bucket/key?versionId=3")),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try S3URL(text), text) { error in
                XCTAssertEqual(error as? S3URLError, expected, text)
                XCTAssertTrue("\(error)".contains("expected s3://BUCKET/KEY"), "\(error)")
            }
        }
    }

    func testCredentialsFromEnvironment() throws {
        let credentials = try S3Credentials.fromEnvironment([
            "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s3cr3t",
            "AWS_SESSION_TOKEN": "tok",
        ])
        XCTAssertEqual(credentials, S3Credentials(accessKeyID: "AKID", secretAccessKey: "s3cr3t", sessionToken: "tok"))
        XCTAssertThrowsError(try S3Credentials.fromEnvironment(["AWS_ACCESS_KEY_ID": "AKID"])) { error in
            XCTAssertTrue("\(error)".contains("AWS_SECRET_ACCESS_KEY"), "\(error)")
        }
    }

    func testCredentialsFromSharedFileProfile() throws {
        let path = NSTemporaryDirectory() + "credentials-\(getpid())"
        defer { unlink(path) }
        try """
        # shared credentials
        [default]
        aws_access_key_id = DEFAULTKEY
        aws_secret_access_key = defaultsecret

        [training]
        aws_access_key_id=TRAINKEY
        ; a comment
        aws_secret_access_key = train/secret+=
        aws_session_token = session
        """.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(
            try S3Credentials.fromFile(path), S3Credentials(accessKeyID: "DEFAULTKEY", secretAccessKey: "defaultsecret")
        )
        XCTAssertEqual(
            try S3Credentials.fromFile(path, profile: "training"),
            S3Credentials(accessKeyID: "TRAINKEY", secretAccessKey: "train/secret+=", sessionToken: "session"))
        XCTAssertThrowsError(try S3Credentials.fromFile(path, profile: "missing")) { error in
            XCTAssertTrue("\(error)".contains("[missing]"), "\(error)")
        }
    }

    func testSecretNeverAppearsInDescriptions() {
        let credentials = S3Credentials(accessKeyID: "AKID", secretAccessKey: "very-secret")
        XCTAssertFalse("\(credentials)".contains("very-secret"))
        let error = ObjectStoreError.accessDenied(
            bucket: "b", key: "k", operation: .getObject, code: "SignatureDoesNotMatch",
            accessKeyID: credentials.accessKeyID)
        XCTAssertFalse("\(error)".contains("very-secret"))
    }

    func testConfigurationRejectsBadEndpointAndTinyParts() {
        let credentials = S3Credentials(accessKeyID: "a", secretAccessKey: "b")
        XCTAssertThrowsError(
            try S3Configuration(endpoint: "127.0.0.1:9000", bucket: "bucket", credentials: credentials))
        XCTAssertThrowsError(try S3Configuration(endpoint: "http://h/path", bucket: "bucket", credentials: credentials))
        XCTAssertThrowsError(
            try S3Configuration(
                endpoint: "http://h", bucket: "bucket", credentials: credentials, partSizeBytes: 1 << 20))
        XCTAssertEqual(
            try S3Configuration(endpoint: "http://h:80", bucket: "bucket", credentials: credentials).hostHeader, "h")
        XCTAssertEqual(
            try S3Configuration(endpoint: "http://127.0.0.1:9000/", bucket: "bucket", credentials: credentials)
                .endpoint,
            "http://127.0.0.1:9000")
    }
}

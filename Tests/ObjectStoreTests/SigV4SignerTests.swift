import Foundation
import XCTest

@testable import ObjectStore

/// The signer against the worked examples of AWS's S3 Signature V4 documentation ("Examples: Signature
/// Calculations in AWS Signature Version 4"), which also botocore reproduces.
final class SigV4SignerTests: XCTestCase {
    private let signer = SigV4Signer(
        credentials: S3Credentials(
            accessKeyID: "AKIAIOSFODNN7EXAMPLE",
            secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1")
    /// 2013-05-24T00:00:00Z, the examples' date.
    private let exampleDate = Date(timeIntervalSince1970: 1_369_353_600)

    private func signature(_ request: SignableRequest) -> String {
        let authorization = signer.signedHeaders(for: request, at: exampleDate)["authorization"] ?? ""
        return String(authorization.split(separator: "=").last ?? "")
    }

    func testGetObjectWithRangeMatchesAWSExample() {
        let request = SignableRequest(
            method: "GET", host: "examplebucket.s3.amazonaws.com", path: "/test.txt", query: [],
            headers: ["range": "bytes=0-9"], payloadSHA256: SigV4Signer.emptyPayloadSHA256)
        XCTAssertEqual(signature(request), "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        let headers = signer.signedHeaders(for: request, at: exampleDate)
        XCTAssertEqual(headers["x-amz-date"], "20130524T000000Z")
        XCTAssertTrue(
            headers["authorization"]!.contains(
                "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                    + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"))
    }

    func testPutObjectEncodesThePathLikeAWSExample() {
        let request = SignableRequest(
            method: "PUT", host: "examplebucket.s3.amazonaws.com", path: "/test$file.text", query: [],
            headers: ["date": "Fri, 24 May 2013 00:00:00 GMT", "x-amz-storage-class": "REDUCED_REDUNDANCY"],
            payloadSHA256: "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
        XCTAssertEqual(signature(request), "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
        XCTAssertEqual(request.encodedPathAndQuery, "/test%24file.text")
    }

    func testListObjectsSortsTheQueryLikeAWSExample() {
        let request = SignableRequest(
            method: "GET", host: "examplebucket.s3.amazonaws.com", path: "/",
            query: [(name: "prefix", value: "J"), (name: "max-keys", value: "2")],
            headers: [:], payloadSHA256: SigV4Signer.emptyPayloadSHA256)
        XCTAssertEqual(signature(request), "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
        XCTAssertEqual(request.encodedPathAndQuery, "/?max-keys=2&prefix=J")
    }

    func testSessionTokenIsSignedAndSent() {
        let temporary = SigV4Signer(
            credentials: S3Credentials(accessKeyID: "AKID", secretAccessKey: "secret", sessionToken: "token/1"),
            region: "eu-west-1")
        let request = SignableRequest(
            method: "GET", host: "h", path: "/b/k", query: [], headers: [:],
            payloadSHA256: SigV4Signer.emptyPayloadSHA256)
        let headers = temporary.signedHeaders(for: request, at: exampleDate)
        XCTAssertEqual(headers["x-amz-security-token"], "token/1")
        XCTAssertTrue(
            headers["authorization"]!.contains(
                "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,"))
    }

    func testURIEncodingKeepsOnlyUnreservedBytes() {
        XCTAssertEqual(SigV4Signer.uriEncode("a b/c+d~é", keepSlash: true), "a%20b/c%2Bd~%C3%A9")
        XCTAssertEqual(SigV4Signer.uriEncode("a/b=c", keepSlash: false), "a%2Fb%3Dc")
    }

    /// RFC 4231 test cases 2 (short key) and 6 (a key longer than the block, hashed first).
    func testHMACMatchesRFC4231() {
        XCTAssertEqual(
            SigV4Signer.hex(
                HMACSHA256.authenticationCode(key: Array("Jefe".utf8), message: "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        XCTAssertEqual(
            SigV4Signer.hex(
                HMACSHA256.authenticationCode(
                    key: [UInt8](repeating: 0xaa, count: 131),
                    message: "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }
}

import XCTest
import Foundation
@testable import Checksum

final class SHA256Tests: XCTestCase {
    func testKnownVectors() {
        XCTAssertEqual(SHA256.hex(of: Array("".utf8)), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(of: Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(of: Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(SHA256.hex(of: [UInt8](repeating: 0x61, count: 1_000_000)),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    func testChunkedUpdatesMatchOneShot() {
        var generator = SystemRandomNumberGenerator()
        let data = (0..<10_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let expected = SHA256.hex(of: data)
        var hasher = SHA256()
        var index = 0
        for size in [1, 63, 64, 65, 127, 3000] where index < data.count {
            let end = min(data.count, index + size)
            hasher.update(data[index..<end]); index = end
        }
        hasher.update(data[index...])
        XCTAssertEqual(hasher.finalizeHex(), expected)
    }

    func testFileChecksumMatchesBytesAndNamesMissingFile() throws {
        let path = NSTemporaryDirectory() + "sha-\(UUID().uuidString)"
        let bytes = Array((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertEqual(try SHA256.hex(ofFileAt: path), SHA256.hex(of: bytes))
        XCTAssertThrowsError(try SHA256.hex(ofFileAt: path + ".missing")) { error in
            XCTAssertTrue("\(error)".contains(".missing"))
        }
    }
}

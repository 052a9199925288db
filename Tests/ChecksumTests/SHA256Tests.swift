import Foundation
import XCTest

@testable import Checksum

final class SHA256Tests: XCTestCase {
    func testKnownVectors() {
        XCTAssertEqual(
            SHA256.hex(of: Array("".utf8)), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(
            SHA256.hex(of: Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(
            SHA256.hex(of: Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(
            SHA256.hex(of: [UInt8](repeating: 0x61, count: 1_000_000)),
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
            hasher.update(data[index..<end])
            index = end
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

    /// Digests the pure-Swift implementation (replaced by libcrypto's) printed for these inputs, recorded before
    /// it was deleted (they also equal Python's hashlib): every checksum already stored stays valid.
    func testSameDigestsAsTheReplacedImplementation() {
        let recorded: [(Int, String)] = [
            (0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            (1, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            (55, "33e996929044ce2065ead5922a6b2ed1caec1ccf48c029840925fc1099252353"),
            (56, "e5c26ac99c8ac735b9a1fc65798e0ab7f5efe483b3d143635884055726b1e74b"),
            (63, "5aea98632fb677304dcc9d27c372827eeced8b606d36702ab22e081d7d3bfd06"),
            (64, "8c50b0656aedecb968020d47ece36b487388272a527f5a673714ae3891634c51"),
            (65, "6df3ccf44eb7e5204d033ad1979fd375084b09259b2bb113c0c92a043cfa6823"),
            (119, "b1e39bb806e4054dcb19c61ef9cf5bb689441d36d8d6aac98d14ff4f6b0099ba"),
            (120, "ae0de330a4ff31d4aa4904724b18a668482275075d0030f9053da86b7d78f524"),
            (1000, "1e8640f6b63fadfd79f0e97f7679ad5bee3a6b025984c53a2a1a27b843804522"),
            (4096, "1827960109680466ca2f8264e6f11b02da28000f17c69b503123aed18eddf627"),
            (65537, "2718b3e9fd2bbd1b6b64dd9b47d376770d12ae63c5d7b504aa6bfa942b274672"),
            (1_048_579, "3fc0bf5ddf91ddd691989de66e5456b54c3590361bfac1aec639a73726e1ccf2"),
        ]
        for (length, digest) in recorded {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: (UInt64($0) &* 2_654_435_761) >> 7) }
            XCTAssertEqual(SHA256.hex(of: bytes), digest, "length \(length)")
        }
    }

    /// Against an independent implementation (Python's hashlib) on random inputs fed in random pieces.
    func testRandomInputsAndSplitsMatchPythonHashlib() throws {
        var generator = SystemRandomNumberGenerator()
        var inputs: [[UInt8]] = []
        var hex: [String] = []
        for _ in 0..<40 {
            let length = Int.random(in: 0...20_000, using: &generator)
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            inputs.append(bytes)
            var hasher = SHA256()
            var index = 0
            while index < bytes.count {
                let end = min(bytes.count, index + Int.random(in: 1...300, using: &generator))
                hasher.update(bytes[index..<end])
                index = end
            }
            hex.append(hasher.finalizeHex())
        }
        let path = NSTemporaryDirectory() + "sha-inputs-\(UUID().uuidString)"
        try inputs.map { $0.map { String(format: "%02x", $0) }.joined() }.joined(separator: "\n").write(
            toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-c",
            """
            import hashlib, sys
            for line in open(sys.argv[1]).read().split("\\n"):
                print(hashlib.sha256(bytes.fromhex(line)).hexdigest())
            """, path,
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        XCTAssertEqual(output.split(separator: "\n").map(String.init), hex)
    }

    /// A copied hasher is independent of the original (the libcrypto context is copied on write).
    func testCopiesAreIndependent() {
        var first = SHA256()
        first.update(Array("ab".utf8))
        var second = first
        second.update(Array("c".utf8))
        first.update(Array("x".utf8))
        XCTAssertEqual(second.finalizeHex(), SHA256.hex(of: Array("abc".utf8)))
        XCTAssertEqual(first.finalizeHex(), SHA256.hex(of: Array("abx".utf8)))
    }
}

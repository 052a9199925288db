import Checksum
import XCTest

/// The threaded hasher gives the digest of the bytes in the order they were fed, whatever the chunking, and
/// more bytes than its queue holds pass through (the producer waits rather than the queue growing).
final class BackgroundSHA256Tests: XCTestCase {
    func testDigestMatchesOneShotHashForAnyChunking() {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<3_000_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for chunkBytes in [1, 4096, 65_537, 1 << 20, bytes.count] {
            let hasher = BackgroundSHA256()
            var offset = 0
            while offset < bytes.count {
                let end = min(bytes.count, offset + chunkBytes)
                bytes[offset..<end].withUnsafeBytes { hasher.update($0) }
                offset = end
                if chunkBytes == 1 && offset > 10_000 { break }
            }
            let expected = SHA256.hex(of: bytes[0..<offset])
            XCTAssertEqual(hasher.finalizeHex(), expected, "chunks of \(chunkBytes)")
        }
        XCTAssertEqual(BackgroundSHA256().finalizeHex(), SHA256.hex(of: [UInt8]()))
    }

    func testMoreThanTheQueueHoldsFlowsThrough() {
        let chunk = [UInt8](repeating: 0x5a, count: 8 << 20)
        let hasher = BackgroundSHA256()
        var reference = SHA256()
        for _ in 0..<(2 * BackgroundSHA256.maxQueuedBytes / chunk.count + 3) {
            chunk.withUnsafeBytes { hasher.update($0) }
            reference.update(chunk)
        }
        XCTAssertEqual(hasher.finalizeHex(), reference.finalizeHex())
    }
}

import Foundation
import Gzip
import XCTest
import Zstd

/// Real files in a temp directory, decompressed through the streaming readers.
final class CompressionTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("compression-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    /// Several MB of varied, not-too-compressible bytes (so the reader crosses many chunk boundaries).
    func sample(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        var out = [UInt8]()
        out.reserveCapacity(count)
        let words = ["alpha ", "beta ", "gamma\n", "δέλτα ", "数据 ", "🙂 ", "{\"text\": 1}\n"].map { Array($0.utf8) }
        while out.count < count {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            if state >> 60 < 3 {
                out.append(UInt8(truncatingIfNeeded: state >> 24))
            } else {
                out.append(contentsOf: words[Int((state >> 33) % UInt64(words.count))])
            }
        }
        return Array(out.prefix(count))
    }

    func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    func readAllZstd(_ path: String, chunk: Int = 1000) throws -> [UInt8] {
        let reader = try ZstdFileReader(path: path, chunkSize: 4096)
        var out: [UInt8] = []
        while let c = try reader.readChunk(maxBytes: chunk) { out += c }
        return out
    }

    func readAllGzip(_ path: String, chunk: Int = 1000) throws -> [UInt8] {
        let reader = try GzipFileReader(path: path, chunkSize: 4096)
        var out: [UInt8] = []
        while let c = try reader.readChunk(maxBytes: chunk) { out += c }
        return out
    }

    func testZstdMultiFrameRoundTrip() throws {
        let a = sample(3_000_000, seed: 1)
        let b = sample(100_000, seed: 2)
        let empty: [UInt8] = []
        let file = try Zstd.compress(a) + Zstd.compress(empty) + Zstd.compress(b, level: 9)
        let path = try write(file, "multi.zst")
        XCTAssertEqual(try readAllZstd(path, chunk: 65536), a + b)
        XCTAssertEqual(try readAllZstd(path, chunk: 7), a + b) // tiny output buffers force flushing
    }

    func testZstdTruncatedFileIsTypedError() throws {
        let full = try Zstd.compress(sample(500_000, seed: 3))
        let path = try write(Array(full.prefix(full.count - 10)), "cut.zst")
        XCTAssertThrowsError(try readAllZstd(path)) { error in
            XCTAssertEqual(error as? ZstdError, .truncated(file: path))
        }
        // A complete frame followed by the start of a second one: still truncated.
        let two = try Zstd.compress(sample(1000, seed: 4)) + Array(full.prefix(20))
        let path2 = try write(two, "cut2.zst")
        XCTAssertThrowsError(try readAllZstd(path2)) { XCTAssertEqual($0 as? ZstdError, .truncated(file: path2)) }
    }

    func testZstdCorruptAndMissingFiles() throws {
        var bytes = try Zstd.compress(sample(200_000, seed: 5))
        for i in stride(from: 100, to: bytes.count - 10, by: 97) { bytes[i] ^= 0x5A }
        let path = try write(bytes, "bad.zst")
        XCTAssertThrowsError(try readAllZstd(path)) { error in
            guard case .corrupt(let file, _)? = error as? ZstdError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, path)
        }
        let notZstd = try write(Array("just text\n".utf8), "plain.zst")
        XCTAssertThrowsError(try readAllZstd(notZstd)) { error in
            guard case .corrupt? = error as? ZstdError else { return XCTFail("\(error)") }
        }
        let missing = dir.appendingPathComponent("nope.zst").path
        XCTAssertThrowsError(try ZstdFileReader(path: missing)) { error in
            guard case .cannotOpen(let file, _)? = error as? ZstdError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, missing)
            XCTAssertTrue("\(error)".contains("nope.zst"))
        }
    }

    func testGzipConcatenatedMembersRoundTrip() throws {
        let a = sample(2_500_000, seed: 6)
        let b = sample(12345, seed: 7)
        let path = try write(try Gzip.compress(a) + Gzip.compress([]) + Gzip.compress(b, level: 1), "multi.gz")
        XCTAssertEqual(try readAllGzip(path, chunk: 65536), a + b)
        XCTAssertEqual(try readAllGzip(path, chunk: 3), a + b)
    }

    func testGzipReadsSystemGzipOutput() throws {
        let data = sample(300_000, seed: 8)
        let plain = try write(data, "sys.txt")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/gzip")
        p.arguments = ["-k", plain]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        XCTAssertEqual(try readAllGzip(plain + ".gz"), data)
    }

    func testGzipTruncatedCorruptEmptyAndMissing() throws {
        let full = try Gzip.compress(sample(400_000, seed: 9))
        let cut = try write(Array(full.prefix(full.count / 2)), "cut.gz")
        XCTAssertThrowsError(try readAllGzip(cut)) { XCTAssertEqual($0 as? GzipError, .truncated(file: cut)) }
        let noTrailer = try write(Array(full.prefix(full.count - 4)), "cut2.gz")
        XCTAssertThrowsError(try readAllGzip(noTrailer)) {
            XCTAssertEqual($0 as? GzipError, .truncated(file: noTrailer))
        }

        var bad = full
        for i in stride(from: 50, to: bad.count - 10, by: 101) { bad[i] ^= 0xA5 }
        let corrupt = try write(bad, "bad.gz")
        XCTAssertThrowsError(try readAllGzip(corrupt)) { error in
            guard case .corrupt(let file, _)? = error as? GzipError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, corrupt)
        }
        let garbageAfter = try write(try Gzip.compress(Array("ok".utf8)) + Array("trailing junk".utf8), "junk.gz")
        XCTAssertThrowsError(try readAllGzip(garbageAfter)) { error in
            guard case .corrupt? = error as? GzipError else { return XCTFail("\(error)") }
        }
        let empty = try write([], "empty.gz")
        XCTAssertEqual(try readAllGzip(empty), [])
        XCTAssertThrowsError(try GzipFileReader(path: dir.appendingPathComponent("nope.gz").path)) { error in
            guard case .cannotOpen? = error as? GzipError else { return XCTFail("\(error)") }
        }
    }
}

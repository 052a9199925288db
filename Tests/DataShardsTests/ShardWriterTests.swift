// Exactly-once commit of shards: temporaries, retries, duplicates racing, conflicts, bad input, crash leftovers.
import Foundation
import XCTest

@testable import DataShards

final class ShardWriterTests: XCTestCase {
    private func write(_ dir: String, name: String = "s-00001", documents: [[UInt32]], eot: UInt32 = 999) throws
        -> ShardInfo
    {
        let writer = try ShardWriter(directory: dir, name: name, dtype: .uint16, endOfTextID: eot, bufferBytes: 4096)
        for doc in documents { try writer.appendDocument(doc) }
        return try writer.finish()
    }

    private let docs: [[UInt32]] = (0..<200).map { i in (0..<(i % 37)).map { UInt32(($0 * 31 + i) % 900) } }

    func testTemporariesUntilFinishThenOnlyFinalFiles() throws {
        let dir = TemporaryDirectory()
        let writer = try ShardWriter(
            directory: dir.path, name: "part-0", dtype: .uint16, endOfTextID: 5, bufferBytes: 4096)
        for doc in docs { try writer.appendDocument(doc) }
        let during = filesIn(dir.path)
        XCTAssertEqual(during.count, 1)
        XCTAssertTrue(during[0].hasPrefix(".part-0.bin.tmp-"), "\(during)")
        let info = try writer.finish()
        XCTAssertEqual(filesIn(dir.path), ["part-0.bin", "part-0.idx"])
        XCTAssertEqual(info.documents, Int64(docs.count))
        XCTAssertEqual(info.tokens, Int64(docs.reduce(0) { $0 + $1.count + 1 }))
        XCTAssertThrowsError(try writer.finish()) {
            XCTAssertEqual($0 as? ShardError, .writerClosed(file: "part-0.bin"))
        }
    }

    func testRetriedWriterWithSameContentIsANoOp() throws {
        let dir = TemporaryDirectory()
        let first = try write(dir.path, documents: docs)
        let modified =
            try FileManager.default.attributesOfItem(atPath: dir.path + "/s-00001.bin")[.modificationDate] as! Date
        let second = try write(dir.path, documents: docs)
        XCTAssertEqual(first, second)
        XCTAssertEqual(filesIn(dir.path), ["s-00001.bin", "s-00001.idx"])
        let after =
            try FileManager.default.attributesOfItem(atPath: dir.path + "/s-00001.bin")[.modificationDate] as! Date
        XCTAssertEqual(modified, after, "the committed file was not replaced")
    }

    func testDifferentContentForACommittedNameIsRefusedAndKeepsTheOriginal() throws {
        let dir = TemporaryDirectory()
        let first = try write(dir.path, documents: docs)
        XCTAssertThrowsError(try write(dir.path, documents: Array(docs.dropLast()))) { error in
            guard case .conflictingShard(let file, _, _)? = error as? ShardError else { return XCTFail("\(error)") }
            XCTAssertTrue(file.hasSuffix("s-00001.bin"))
        }
        XCTAssertEqual(filesIn(dir.path), ["s-00001.bin", "s-00001.idx"])
        XCTAssertNoThrow(try ShardVerifier.verify(first, inDirectory: dir.path))
    }

    func testDuplicatedWritersRacingLeaveOneCompleteShard() throws {
        let dir = TemporaryDirectory()
        let path = dir.path
        let documents = docs
        let results = LockedArray<Result<ShardInfo, ShardError>>()
        DispatchQueue.concurrentPerform(iterations: 6) { _ in
            do {
                let writer = try ShardWriter(
                    directory: path, name: "dup", dtype: .uint16, endOfTextID: 999, bufferBytes: 4096)
                for doc in documents { try writer.appendDocument(doc) }
                results.append(.success(try writer.finish()))
            } catch let error as ShardError {
                results.append(.failure(error))
            } catch { XCTFail("\(error)") }
        }
        let infos = results.values.map { try? $0.get() }
        XCTAssertEqual(infos.count, 6)
        XCTAssertTrue(infos.allSatisfy { $0 != nil && $0 == infos[0] }, "\(results.values)")
        XCTAssertEqual(filesIn(path), ["dup.bin", "dup.idx"])
        XCTAssertNoThrow(try ShardVerifier.verify(infos[0]!, inDirectory: path))
    }

    func testBadInputLeavesNothingBehind() throws {
        let dir = TemporaryDirectory()
        let writer = try ShardWriter(
            directory: dir.path, name: "bad", dtype: .uint16, endOfTextID: 1, bufferBytes: 4096)
        try writer.appendDocument([1, 2, 3] as [UInt32])
        XCTAssertThrowsError(try writer.appendDocument([4, 70_000] as [UInt32])) { error in
            XCTAssertEqual(
                error as? ShardError, .tokenOutOfRange(file: "bad.bin", document: 1, tokenID: 70_000, dtype: .uint16))
        }
        XCTAssertEqual(filesIn(dir.path), [], "temporaries are removed on bad input")
        XCTAssertThrowsError(try writer.finish())
        XCTAssertEqual(filesIn(dir.path), [])

        XCTAssertThrowsError(try ShardWriter(directory: dir.path, name: "../escape", dtype: .uint16, endOfTextID: 1))
        XCTAssertThrowsError(try ShardWriter(directory: dir.path, name: "eot", dtype: .uint16, endOfTextID: 70_000))
        XCTAssertThrowsError(
            try ShardWriter(directory: dir.path + "/missing", name: "x", dtype: .uint16, endOfTextID: 1)
        ) { error in
            guard case .io(let file, _, _, _)? = error as? ShardError else { return XCTFail("\(error)") }
            XCTAssertTrue(file.contains("/missing/"))
        }
        let negative = try ShardWriter(directory: dir.path, name: "neg", dtype: .int32, endOfTextID: 1)
        XCTAssertThrowsError(try negative.appendDocument([3, -2] as [Int]))
        XCTAssertEqual(filesIn(dir.path), [])
    }

    func testAbortAndDeinitDiscardTemporaries() throws {
        let dir = TemporaryDirectory()
        let writer = try ShardWriter(directory: dir.path, name: "a", dtype: .uint16, endOfTextID: 1)
        try writer.appendDocument([1] as [UInt32])
        writer.abort()
        XCTAssertEqual(filesIn(dir.path), [])
        do {
            let dropped = try ShardWriter(directory: dir.path, name: "b", dtype: .uint16, endOfTextID: 1)
            try dropped.appendDocument([2] as [UInt32])
        }
        XCTAssertEqual(filesIn(dir.path), [])
    }

    /// A crashed writer process leaves `.name.{bin,idx}.tmp-*` files (the process dies before rename);
    /// cleanup removes exactly those, never committed shards or the index.
    func testCleanupRemovesCrashLeftoversOnly() throws {
        let dir = TemporaryDirectory()
        let ds = try makeDataset(in: dir.path, name: "keep", shards: 2, documentsPerShard: 3...3, documentLength: 1...5)
        let leftovers = [".keep-00007.bin.tmp-123-abcd1234", ".keep-00007.idx.tmp-123-abcd1234"]
        for name in leftovers {
            XCTAssertTrue(FileManager.default.createFile(atPath: dir.path + "/" + name, contents: Data([1, 2, 3])))
        }
        XCTAssertTrue(FileManager.default.createFile(atPath: dir.path + "/.unrelated", contents: Data()))
        XCTAssertEqual(
            try ShardWriter.cleanupStaleTemporaries(in: dir.path, olderThan: 3600), [],
            "fresh temporaries may belong to a live writer")
        XCTAssertEqual(try ShardWriter.cleanupStaleTemporaries(in: dir.path), leftovers.sorted())
        XCTAssertEqual(
            filesIn(dir.path),
            [".unrelated", "index.json", "keep-00000.bin", "keep-00000.idx", "keep-00001.bin", "keep-00001.idx"])
        XCTAssertTrue(ShardVerifier.verifyDataset(ds.index, inDirectory: dir.path).isEmpty)
    }

    /// A crash between the two renames leaves a `.bin` without `.idx`: not committed, so a retry completes it.
    func testHalfRenamedShardIsCompletedByTheRetry() throws {
        let dir = TemporaryDirectory()
        let info = try write(dir.path, documents: docs)
        try FileManager.default.removeItem(atPath: dir.path + "/s-00001.idx")
        try Data([0, 1]).write(to: URL(fileURLWithPath: dir.path + "/s-00001.bin"))
        let retried = try write(dir.path, documents: docs)
        XCTAssertEqual(retried, info)
        XCTAssertNoThrow(try ShardVerifier.verify(retried, inDirectory: dir.path))
        XCTAssertEqual(filesIn(dir.path), ["s-00001.bin", "s-00001.idx"])
    }
}

final class LockedArray<T>: @unchecked Sendable {
    private var storage: [T] = []
    private let lock = NSLock()
    func append(_ value: T) { lock.withLock { storage.append(value) } }
    var values: [T] { lock.withLock { storage } }
}

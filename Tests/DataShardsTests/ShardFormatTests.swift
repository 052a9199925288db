// The on-disk format: Megatron MMIDIDX layout (checked byte by byte and with a Python reader that parses
// exactly like Megatron's `_IndexReader`), dtype choice, and typed errors for damaged files.
import Checksum
import Foundation
import XCTest

@testable import DataShards

final class ShardFormatTests: XCTestCase {
    func testDTypeCodesAndChoiceFollowMegatron() {
        XCTAssertEqual(TokenDType.uint16.megatronCode, 8)
        XCTAssertEqual(TokenDType.int32.megatronCode, 4)
        XCTAssertEqual(TokenDType.optimal(forVocabularySize: 50_257), .uint16)
        XCTAssertEqual(TokenDType.optimal(forVocabularySize: 65_499), .uint16)
        XCTAssertEqual(TokenDType.optimal(forVocabularySize: 65_500), .int32)
        XCTAssertEqual(TokenDType.optimal(forVocabularySize: 128_256), .int32)
    }

    func testIndexBytesMatchTheMegatronLayout() throws {
        let dir = TemporaryDirectory()
        let writer = try ShardWriter(directory: dir.path, name: "tiny", dtype: .uint16, endOfTextID: 7)
        try writer.appendDocument([1, 2, 3] as [UInt32])
        try writer.appendDocument([] as [UInt32])
        try writer.appendDocument([65535] as [UInt32])
        let info = try writer.finish()
        let idx = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir.path + "/tiny.idx")))
        var expected: [UInt8] = Array("MMIDIDX".utf8) + [0, 0]
        func le<T: FixedWidthInteger>(_ v: T) {
            withUnsafeBytes(of: v.littleEndian) { expected.append(contentsOf: $0) }
        }
        le(UInt64(1))
        expected.append(8)
        le(UInt64(3))
        le(UInt64(4))
        for l in [4, 1, 2] as [Int32] { le(l) }
        for p in [0, 8, 10] as [Int64] { le(p) }
        for d in [0, 1, 2, 3] as [Int64] { le(d) }
        XCTAssertEqual(idx, expected)
        let bin = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir.path + "/tiny.bin")))
        XCTAssertEqual(bin, [1, 0, 2, 0, 3, 0, 7, 0, 7, 0, 0xff, 0xff, 7, 0])
        XCTAssertEqual(info.tokens, 7)
        XCTAssertEqual(info.documents, 3)
        XCTAssertEqual(info.binSHA256, SHA256.hex(of: bin))
        XCTAssertEqual(info.idxSHA256, SHA256.hex(of: idx))
        XCTAssertEqual(info.binBytes, 14)
        XCTAssertEqual(info.idxBytes, Int64(idx.count))
    }

    func testReaderRoundTripsBothDTypesZeroCopy() throws {
        let dir = TemporaryDirectory()
        for (dtype, vocab) in [(TokenDType.uint16, 50_000), (.int32, 200_000)] {
            let ds = try makeDataset(
                in: dir.sub(dtype.rawValue), name: "rt", shards: 2, documentsPerShard: 5...40,
                documentLength: 0...300, vocabularySize: vocab, seed: 9)
            XCTAssertEqual(ds.index.dtype, dtype)
            for (s, shard) in ds.index.shards.enumerated() {
                let reader = try ShardReader(prefix: ds.directory + "/" + shard.name)
                XCTAssertEqual(reader.dtype, dtype)
                XCTAssertEqual(reader.documentCount, ds.documents[s].count)
                XCTAssertEqual(Int64(reader.documentCount), shard.documents)
                XCTAssertEqual(reader.tokenCount, shard.tokens)
                for (i, doc) in ds.documents[s].enumerated() {
                    XCTAssertEqual(try reader.tokens(ofDocument: i), doc + [ds.eot])
                    XCTAssertEqual(reader.sequenceLength(i), doc.count + 1)
                }
                XCTAssertThrowsError(try reader.tokens(ofDocument: reader.documentCount))
                XCTAssertNoThrow(try ShardVerifier.verify(shard, inDirectory: ds.directory))
            }
        }
    }

    /// Parses our shards with numpy exactly as Megatron-LM's `_IndexReader` and `IndexedDataset.get` do.
    func testMegatronReaderSemanticsWithPython() throws {
        let dir = TemporaryDirectory()
        var datasets: [SyntheticDataset] = []
        for (label, vocab) in [("u16", 32_000), ("i32", 100_000)] {
            datasets.append(
                try makeDataset(
                    in: dir.sub(label), name: label, shards: 2, documentsPerShard: 1...30,
                    documentLength: 0...200, vocabularySize: vocab, seed: 3))
        }
        let script = dir.path + "/megatron_reader.py"
        try Self.megatronReader.write(toFile: script, atomically: true, encoding: .utf8)
        for ds in datasets {
            for (s, shard) in ds.index.shards.enumerated() {
                let output = try runPython(script, ds.directory + "/" + shard.name)
                let parsed = try JSONSerialization.jsonObject(with: Data(output.utf8)) as! [String: Any]
                XCTAssertEqual(parsed["dtype"] as? String, shard.dtype == .uint16 ? "uint16" : "int32")
                let documents = parsed["documents"] as! [[Int]]
                XCTAssertEqual(documents.count, ds.documents[s].count)
                for (i, doc) in ds.documents[s].enumerated() {
                    XCTAssertEqual(documents[i].map(UInt32.init), doc + [ds.eot], "\(shard.name) document \(i)")
                }
            }
        }
    }

    func runPython(_ script: String, _ argument: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, argument]
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            XCTFail(
                "python reader failed (is numpy installed? scripts/install-test-deps.sh): \(String(decoding: errors, as: UTF8.self))"
            )
            return "{}"
        }
        return String(decoding: data, as: UTF8.self)
    }

    // Mirrors megatron/core/datasets/indexed_dataset.py: _IndexReader.__init__ and IndexedDataset.__getitem__.
    static let megatronReader = #"""
        import json, struct, sys
        import numpy

        _INDEX_HEADER = b"MMIDIDX\x00\x00"
        DTYPES = {1: numpy.uint8, 2: numpy.int8, 3: numpy.int16, 4: numpy.int32, 5: numpy.int64,
                  6: numpy.float64, 7: numpy.float32, 8: numpy.uint16}

        prefix = sys.argv[1]
        with open(prefix + ".idx", "rb") as stream:
            header = stream.read(9)
            assert header == _INDEX_HEADER, f"bad header: {header}"
            version = struct.unpack("<Q", stream.read(8))[0]
            assert version == 1, f"bad version: {version}"
            code = struct.unpack("<B", stream.read(1))[0]
            dtype = DTYPES[code]
            dtype_size = numpy.dtype(dtype).itemsize
            sequence_count = struct.unpack("<Q", stream.read(8))[0]
            document_count = struct.unpack("<Q", stream.read(8))[0]
            offset = stream.tell()

        idx_buffer = memoryview(numpy.memmap(prefix + ".idx", mode="r", order="C"))
        sequence_lengths = numpy.frombuffer(idx_buffer, dtype=numpy.int32, count=sequence_count, offset=offset)
        sequence_pointers = numpy.frombuffer(idx_buffer, dtype=numpy.int64, count=sequence_count,
                                             offset=offset + sequence_lengths.nbytes)
        document_indices = numpy.frombuffer(idx_buffer, dtype=numpy.int64, count=document_count,
                                            offset=offset + sequence_lengths.nbytes + sequence_pointers.nbytes)
        assert len(idx_buffer) == offset + sequence_lengths.nbytes + sequence_pointers.nbytes + document_indices.nbytes
        bin_buffer = memoryview(numpy.memmap(prefix + ".bin", mode="r", order="C"))
        assert document_indices[0] == 0 and document_indices[-1] == sequence_count

        documents = []
        for d in range(document_count - 1):
            tokens = []
            for s in range(document_indices[d], document_indices[d + 1]):
                seq = numpy.frombuffer(bin_buffer, dtype=dtype, count=int(sequence_lengths[s]),
                                       offset=int(sequence_pointers[s]))
                tokens.extend(int(t) for t in seq)
            documents.append(tokens)
        print(json.dumps({"dtype": numpy.dtype(dtype).name, "documents": documents}))
        """#

    func testDamagedFilesGiveTypedErrorsNamingTheFile() throws {
        let dir = TemporaryDirectory()
        let ds = try makeDataset(
            in: dir.path, name: "bad", shards: 1, documentsPerShard: 10...10, documentLength: 5...50)
        let shard = ds.index.shards[0]
        let bin = dir.path + "/" + shard.binFile
        let idx = dir.path + "/" + shard.idxFile
        let originalIdx = try Data(contentsOf: URL(fileURLWithPath: idx))
        let originalBin = try Data(contentsOf: URL(fileURLWithPath: bin))

        var broken = originalIdx
        broken[0] = UInt8(ascii: "X")
        try broken.write(to: URL(fileURLWithPath: idx))
        XCTAssertThrowsError(try ShardReader(binPath: bin, idxPath: idx)) {
            XCTAssertEqual($0 as? ShardError, .badMagic(file: idx))
        }

        broken = originalIdx
        broken[17] = 6 // float64
        try broken.write(to: URL(fileURLWithPath: idx))
        XCTAssertThrowsError(try ShardReader(binPath: bin, idxPath: idx)) {
            XCTAssertEqual($0 as? ShardError, .unsupportedDType(file: idx, code: 6))
        }

        try originalIdx.prefix(20).write(to: URL(fileURLWithPath: idx))
        XCTAssertThrowsError(try ShardReader(binPath: bin, idxPath: idx)) {
            XCTAssertEqual($0 as? ShardError, .sizeMismatch(file: idx, expectedBytes: 34, actualBytes: 20))
        }

        try originalIdx.write(to: URL(fileURLWithPath: idx))
        try originalBin.dropLast(3).write(to: URL(fileURLWithPath: bin))
        XCTAssertThrowsError(try ShardReader(binPath: bin, idxPath: idx)) { error in
            guard case .sizeMismatch(let file, _, _)? = error as? ShardError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, bin)
        }
        XCTAssertThrowsError(try ShardVerifier.verify(shard, inDirectory: dir.path)) { error in
            XCTAssertEqual((error as? ShardError)?.file, bin)
        }

        var flipped = originalBin
        flipped[flipped.count / 2] ^= 0x01
        try flipped.write(to: URL(fileURLWithPath: bin))
        XCTAssertNoThrow(try ShardReader(binPath: bin, idxPath: idx), "a flipped token byte keeps the layout valid")
        XCTAssertThrowsError(try ShardVerifier.verify(shard, inDirectory: dir.path)) { error in
            guard case .checksumMismatch(let file, let expected, _)? = error as? ShardError else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(file, bin)
            XCTAssertEqual(expected, shard.binSHA256)
        }
        XCTAssertEqual(ShardVerifier.verifyDataset(ds.index, inDirectory: dir.path).map(\.shard), [shard.name])
    }
}
